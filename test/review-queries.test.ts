import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { document } from './support/openapi.js';

let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

type Parameter = { name: string; in: string; schema: { default?: unknown } };
type Operation = { parameters?: Parameter[] };

/** Every documented GET that takes `limit` and `offset`. */
const paged = Object.entries(document.paths as Record<string, { get?: Operation }>)
  .filter(([, item]) => item.get?.parameters?.some((p) => p.in === 'query' && p.name === 'limit'))
  .map(([path]) => path);

// Guards against: the document declared limit and offset without their defaults (zod drops a
// default from the input schema of a value it transforms), so a generated client or the docs page
// could not tell that a list without them is answered 50 items from the start.
describe('the defaults of limit and offset, in the document and in the answer', () => {
  it('finds the paged lists', () => {
    expect(paged).toEqual(expect.arrayContaining(['/v1/roles', '/v1/competencies', '/v1/company-sizes', '/v1/sources']));
  });

  it.each(paged)('%s declares limit 50 and offset 0 as defaults, as it answers without them', async (path) => {
    const parameters = (document.paths[path].get as Operation).parameters ?? [];
    const schemaOf = (name: string) => parameters.find((p) => p.in === 'query' && p.name === name)?.schema;
    expect(schemaOf('limit')?.default).toBe(50);
    expect(schemaOf('offset')?.default).toBe(0);
    const body = (await app.inject({ url: path })).json();
    expect({ limit: body.limit, offset: body.offset }).toEqual({ limit: 50, offset: 0 });
  });

  it('serves the same defaults at /openapi.json', async () => {
    const served = (await app.inject({ url: '/openapi.json' })).json();
    const limit = (served.paths['/v1/competencies'].get as Operation).parameters?.find((p) => p.name === 'limit');
    expect(limit?.schema.default).toBe(50);
  });
});
