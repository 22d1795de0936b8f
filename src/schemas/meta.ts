import { z } from 'zod';
import { ContentHash, LevelScale } from './common.js';

export const Meta = z
  .object({
    apiVersion: z.string(),
    kbRelease: z.string().describe('Release id of the knowledge base, e.g. `2026.12.1`'),
    contentHash: ContentHash,
    instrumentVersion: z.string().describe('Version of the question bank'),
    scoringVersion: z.string().describe('Version of the scoring formula new assessments are scored with, e.g. `shape-1.5`'),
    levelScale: LevelScale,
    counts: z.object({
      roles: z.int(),
      competencies: z.int(),
      companySizes: z.int(),
      expectations: z.int(),
      variants: z.int(),
      citations: z.int(),
      editorialEntries: z.int().describe('Expectations and variants that no source backs, marked editorial'),
      questions: z.int(),
      sources: z.int(),
    }),
  })
  .meta({ id: 'Meta' });

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const Readiness = z
  .object({
    status: z.enum(['ready', 'not-ready']),
    checks: z.object({
      database: z.boolean(),
      migrations: z.boolean(),
      storage: z
        .boolean()
        .describe(
          'False for 10 s after a write failed for its storage (a full disk, an I/O error, a lock held elsewhere), unless one succeeded since',
        ),
      underPressure: z.boolean(),
    }),
  })
  .meta({ id: 'Readiness' });
