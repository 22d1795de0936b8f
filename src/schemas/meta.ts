import { z } from 'zod';
import { ContentHash, LevelScale } from './common.js';

export const Meta = z
  .object({
    apiVersion: z.string(),
    kbRelease: z.string().describe('Release id of the knowledge base, e.g. `2026.12.1`'),
    contentHash: ContentHash,
    instrumentVersion: z.string().describe('Version of the question bank'),
    scoringVersion: z.string().describe('Version of the scoring formula new assessments are scored with, e.g. `shape-1.7`'),
    levelScale: LevelScale,
    counts: z.object({
      roles: z.int().min(0),
      competencies: z.int().min(0),
      companySizes: z.int().min(0),
      expectations: z.int().min(0),
      variants: z.int().min(0),
      citations: z.int().min(0),
      editorialEntries: z.int().min(0).describe('Expectations and variants that no source backs, marked editorial'),
      questions: z.int().min(0),
      sources: z.int().min(0),
    }),
  })
  .meta({ id: 'Meta' });

/** What the API's root links to: where each part of it starts, by name. */
export const API_LINKS = {
  docs: { href: '/docs', title: 'The documentation, to browse and try' },
  openapi: { href: '/openapi.json', title: 'The OpenAPI 3.1 document (YAML at /docs/yaml)' },
  meta: { href: '/v1/meta', title: 'Versions and counts' },
  roles: { href: '/v1/roles', title: 'The roles; /v1/roles/{role} for one, with its expected levels' },
  competencies: { href: '/v1/competencies', title: 'The competencies, filtered; /v1/competencies/{competency} for one' },
  companySizes: { href: '/v1/company-sizes', title: 'The company sizes levels vary by' },
  sources: { href: '/v1/sources', title: 'The documents citations name' },
  comparisons: { href: '/v1/comparisons', title: 'Roles side by side (roles=a,b); /v1/comparisons/by-company-size at every size' },
  questions: { href: '/v1/assessment/questions', title: 'The self-assessment: its questions and answer scale' },
  assessments: { href: '/v1/assessments', title: 'POST a submission to score and store it; /preview and /batch beside it' },
  export: { href: '/v1/exports/knowledge-base', title: 'The whole release as one JSON document' },
  levelsCsv: { href: '/v1/exports/levels.csv', title: 'Every expected level as CSV' },
  problems: { href: '/problems', title: 'Every kind of problem the API answers with' },
  health: { href: '/health', title: 'Liveness' },
  ready: { href: '/ready', title: 'Readiness' },
} as const;

const Link = z.object({ href: z.string().describe('A path on this server'), title: z.string() });

export const ApiIndex = z
  .object({
    name: z.string(),
    apiVersion: z.string(),
    kbRelease: z.string().describe('Release id of the knowledge base the API serves'),
    links: z.object(Object.fromEntries(Object.keys(API_LINKS).map((name) => [name, Link])) as Record<keyof typeof API_LINKS, typeof Link>),
  })
  .meta({ id: 'ApiIndex', description: 'Where each part of the API starts: a place to begin for a client that knows only the host' });

/** The OpenAPI document as its own route declares it: what any 3.1 document has, the rest left open. */
export const OpenApiDocument = z
  .looseObject({
    openapi: z.string().describe('The version of OpenAPI the document follows: `3.1.0`'),
    info: z.looseObject({ title: z.string(), version: z.string().describe("The API's version, as `apiVersion` in /v1/meta") }),
    paths: z.record(z.string(), z.unknown()).describe('Every operation, by path and method'),
  })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document: this one' });

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
