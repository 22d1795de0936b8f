import { z } from 'zod';
import { LEVEL_COLUMNS } from '../domain/export.js';
import { Question } from './assessment.js';
import { ContentHash, Level, LevelScale, Slug } from './common.js';
import { Citation, CompanySize, Competency, Role, Source, VariantView } from './knowledge-base.js';

export const KnowledgeBaseExport = z
  .object({
    kbRelease: z.string(),
    kbContentHash: ContentHash,
    instrumentVersion: z.string().describe('Version of the questions below'),
    levelScale: LevelScale,
    sources: z.array(Source),
    roles: z.array(Role),
    competencies: z.array(Competency),
    companySizes: z.array(CompanySize).describe('Smallest first'),
    expectations: z
      .array(
        z.object({
          role: Slug,
          competency: Slug,
          level: Level.describe('The baseline level'),
          rationale: z.string(),
          editorial: z.boolean().describe('true when no source backs this level'),
          citations: z.array(Citation),
          variants: z.array(VariantView).describe('The company sizes where another level applies'),
        }),
      )
      .describe('One per role and competency: the matrix is complete'),
    questions: z.array(Question).describe('In the order the instrument asks them'),
  })
  .meta({ id: 'KnowledgeBaseExport', description: 'Everything one release of the knowledge base holds' });

export const LevelsCsv = z
  .string()
  .describe(
    `CSV (RFC 4180, UTF-8, CRLF line ends) with a header row: ${LEVEL_COLUMNS.map((c) => `\`${c}\``).join(', ')}. ` +
      'One row per role, competency and company size, the baseline (an empty `company_size`) first; `variant` and ' +
      '`editorial` are `true` or `false`; `sources` lists the cited source ids separated by spaces.',
  );
