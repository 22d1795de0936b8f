import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientTypes } from '../scripts/client-types.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';
import { document, operations } from './support/openapi.js';

describe('OpenAPI document', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('is committed exactly as the app generates it (run `npm run openapi` after changing a route)', () => {
    expect(JSON.parse(JSON.stringify(app.swagger()))).toEqual(document);
  });

  it('is served at /openapi.json', async () => {
    const response = await app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(document);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('gives every operation an operationId, tags, a summary and a documented 500', () => {
    const ids = new Set<string>();
    type Operation = {
      operationId: string;
      tags?: string[];
      summary?: string;
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId), `duplicate ${op.operationId}`).toBe(false);
        ids.add(op.operationId);
        expect(op.tags?.length, `${method} ${path} tags`).toBeGreaterThan(0);
        expect(op.summary, `${method} ${path} summary`).toBeTruthy();
        expect(op.responses['500']?.content?.['application/problem+json'], `${method} ${path} 500`).toBeDefined();
      }
    }
  });

  it('documents every route the app serves', () => {
    const documented = new Set(operations().map((op) => `${op.method} ${op.path}`));
    const served = app
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .filter((line) => line.includes('/v1/'));
    expect(served.length).toBeGreaterThan(0);
    for (const op of [
      'GET /v1/roles',
      'GET /v1/roles/{role}',
      'GET /v1/competencies',
      'GET /v1/competencies/{competency}',
      'GET /v1/company-sizes',
      'GET /v1/meta',
      'GET /health',
      'GET /ready',
    ]) {
      expect(documented.has(op), op).toBe(true);
    }
  });

  it('references shared schemas as components', () => {
    for (const name of ['Problem', 'Role', 'RoleDetail', 'Expectation', 'Citation', 'CompetencyList']) {
      expect(document.components.schemas[name], name).toBeDefined();
    }
    const text = JSON.stringify(document.paths);
    expect(text).toContain('"#/components/schemas/Problem"');
    expect(text).toContain('"#/components/schemas/RoleDetail"');
  });

  it('ships client types that match the committed document', async () => {
    const committed = readFileSync(join(projectRoot, 'openapi', 'api.d.ts'), 'utf8');
    expect(await generateClientTypes(document)).toBe(committed);
  });

  it('renders the docs page at /docs', async () => {
    const response = await app.inject('/docs/');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
  });
});
