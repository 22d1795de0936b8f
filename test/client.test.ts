import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../openapi/api.js';
import { buildTestApp } from './helpers.js';
import { listenLocally } from './support/http.js';

// A real client: the types come from the committed document (openapi/api.d.ts, checked against it in
// openapi.test.ts) and `tsc --noEmit` type-checks every call below; the calls go over real HTTP.
describe('typed client generated from openapi/openapi.json', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let client: ReturnType<typeof createClient<paths>>;

  beforeAll(async () => {
    app = await buildTestApp();
    const { base } = await listenLocally(app);
    client = createClient<paths>({ baseUrl: base });
  });
  afterAll(async () => {
    await app.close();
  });

  it('lists roles', async () => {
    const { data, error, response } = await client.GET('/v1/roles', { params: { query: { limit: 10 } } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data?.items.map((role) => role.slug)).toEqual(['tech-lead', 'engineering-manager']);
    expect(data?.limit).toBe(10);
  });

  it('reads a role at a company size', async () => {
    const { data } = await client.GET('/v1/roles/{role}', {
      params: { path: { role: 'engineering-manager' }, query: { companySize: 'startup' } },
    });
    expect(data?.companySize).toBe('startup');
    const coding = data?.expectations.find((e) => e.competency.slug === 'hands-on-coding');
    expect(coding?.variant?.companySize).toBe('startup');
    expect(coding?.level).not.toBe(coding?.baselineLevel);
  });

  it('reads a typed problem for an unknown role', async () => {
    const { data, error, response } = await client.GET('/v1/roles/{role}', { params: { path: { role: 'astronaut' } } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error?.errors?.[0]?.field).toBe('params.role');
  });

  it('filters competencies', async () => {
    const { data } = await client.GET('/v1/competencies', {
      params: { query: { role: 'tech-lead', minLevel: 4, category: 'technical' } },
    });
    expect(data?.items.length).toBeGreaterThan(0);
    for (const item of data?.items ?? []) {
      expect(item.category).toBe('technical');
      expect(item.level).toBe(4);
    }
  });

  it('reads a competency', async () => {
    const { data } = await client.GET('/v1/competencies/{competency}', { params: { path: { competency: 'hiring' } } });
    expect(data?.roles.map((r) => r.role)).toEqual(['tech-lead', 'engineering-manager']);
    expect(data?.roles[0]?.byCompanySize.map((s) => s.companySize)).toEqual(['startup', 'scale-up', 'big-tech']);
  });

  it('lists company sizes and reads meta', async () => {
    const sizes = await client.GET('/v1/company-sizes');
    expect(sizes.data?.items.map((s) => s.order)).toEqual([1, 2, 3]);
    const meta = await client.GET('/v1/meta');
    expect(meta.data?.counts.roles).toBe(2);
  });
});
