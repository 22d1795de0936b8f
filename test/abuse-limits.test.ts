// Abuse at the limits: rate-limit keys for IPv6 clients, problem lists that could outgrow the request,
// and ids kept out of the logs. Each comment names the fault its test guards against.
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import type { App, AppOptions } from '../src/app.js';
import { MAX_JSON_MEMBERS } from '../src/json-body.js';
import { clientKey } from '../src/plugins/protection.js';
import { MAX_BATCH_ITEMS } from '../src/schemas/assessment.js';
import { buildTestApp } from './helpers.js';

const apps: App[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function appWith(options: AppOptions = {}): Promise<App> {
  const app = await buildTestApp(options);
  apps.push(app);
  return app;
}

/** Every question answered, values varied by `offset` so that submissions differ. */
function answersFor(app: App, offset = 0) {
  return app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: ((i + offset) % 5) + 1 }));
}

function post(
  app: App,
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
  remoteAddress?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
}

/** `count` distinct short keys, each with the value 0, as the inside of a JSON object. */
const junkKeys = (count: number) => Array.from({ length: count }, (_, i) => `"${i.toString(36)}":0`).join(',');

describe('rate limiting: the client key', () => {
  // Guards against: the limiter keyed on request.ip exactly as given. One IPv6 host is normally
  // routed a whole /64 (privacy extensions rotate addresses within it by themselves), so a single
  // client got a fresh budget from every source address it bound. The key is now the /64.
  it('counts the write requests of one IPv6 /64 against one budget', async () => {
    const app = await appWith({ rateLimit: { enabled: true, max: 3, windowMs: 60_000 } });
    const submission = { answers: answersFor(app) };
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      // Six addresses of the same /64 network: one host rotating its interface identifier.
      const response = await post(app, '/v1/assessments/preview', submission, {}, `2001:db8:abcd:12::${i.toString(16)}`);
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3), 'requests 4 to 6 from the same /64').toEqual([429, 429, 429]);
  });
});

describe('the client key of an address', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:abcd:12::1', '2001:db8:abcd:12::/64'],
    ['2001:db8:abcd:12:ffff:1:2:3', '2001:db8:abcd:12::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0012::9', '2001:db8:0:12::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['2001:db8::5:6:7:8.9.10.11', '2001:db8:0:5::/64'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c633:6407', '198.51.100.7'],
    // As some proxies write them in X-Forwarded-For. Guards against: each source port, or the
    // bracketed form of an IPv6 address, got a budget of its own.
    ['1.2.3.4:5678', '1.2.3.4'],
    ['[2001:db8:abcd:12::1]', '2001:db8:abcd:12::/64'],
    ['[2001:db8:abcd:12::2]:443', '2001:db8:abcd:12::/64'],
    ['[::ffff:203.0.113.7]:80', '203.0.113.7'],
    ['not-an-address', 'not-an-address'],
  ])('keys %s as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });

  // Guards against: a trailing dotted quad was counted as one group where it stands for two, so
  // "::" was filled with one zero group too many and the address keyed by the wrong /64; and an
  // IPv4-mapped address not written exactly ::ffff:a.b.c.d put every IPv4 client in one budget.
  it.each([
    ['2001:db8::5:6:7:8.9.10.11', '2001:db8::1'],
    ['1::2:3:4:5:6.7.8.9', '1:0:0:2::1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '0:0:0:0:0:ffff:198.51.100.7'],
    ['::ffff:c000:201', '::ffff:c633:6407'],
  ])('gives %s and %s, in different networks, different keys', (a, b) => {
    expect(clientKey(a)).not.toBe(clientKey(b));
  });
});

describe('problem lists', () => {
  // Guards against: the cap's sentence named no total, and the batch route's envelope detail has
  // none of its own, so a client was told of "the first 50" of an unknown number.
  it('gives the number of problems in the detail when it lists only the first 50', async () => {
    const app = await appWith();
    const extra = Array.from({ length: 60 }, (_, i) => `"k${i}":0`).join(',');
    const response = await post(app, '/v1/assessments/batch', `{"items":[],${extra}}`);
    expect(response.statusCode).toBe(400);
    const problem = response.json() as { detail: string; errors: unknown[] };
    expect(problem.errors).toHaveLength(50);
    // 61 problems: body.items (empty) and 60 unknown fields.
    expect(problem.detail).toContain('The first 50 of 61 problems are listed.');
  });

  // Guards against: the cap applied from 50 problems (`>=`) rather than above 50, so a list of
  // exactly 50 said "The first 50 of 50 problems are listed." as though some had been left out.
  it('lists exactly 50 problems whole, without saying the list was cut, and cuts at 51', async () => {
    const app = await appWith();
    const envelope = async (unknownFields: number) => {
      const extra = Array.from({ length: unknownFields }, (_, i) => `"k${i}":0`).join(',');
      const response = await post(app, '/v1/assessments/batch', `{"items":[],${extra}}`);
      expect(response.statusCode).toBe(400);
      return response.json() as { detail: string; errors: unknown[] };
    };
    // body.items (empty) and the unknown fields: 49, 50 and 51 problems.
    const [under, at, over] = [await envelope(48), await envelope(49), await envelope(50)];
    expect(under.errors).toHaveLength(49);
    expect(at.errors).toHaveLength(50);
    expect(under.detail).toMatch(/^The batch has 49 problems: /);
    expect(at.detail).toBe(under.detail.replace('49', '50'));
    expect(at.detail).not.toContain('The first');
    expect(over.errors).toHaveLength(50);
    expect(over.detail).toBe(`${under.detail.replace('49', '51')} The first 50 of 51 problems are listed.`);
  });

  // Guards against: every unknown query parameter got its own entry in `errors`, with no cap. A
  // request line of n bytes (`a=&b=&...`) answered about 12 n bytes of problem+json (11 KB in, 134 KB
  // out), on routes neither rate-limited nor cached. A problem now lists at most 50.
  it('does not answer a query with many unknown parameters with a problem larger than the request', async () => {
    const app = await appWith();
    const query = Array.from({ length: 2000 }, (_, i) => `${i.toString(36)}=`).join('&');
    const url = `/v1/roles?${query}`;
    const response = await app.inject(url);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.length, `${url.length} bytes of URL answered with ${response.body.length} bytes`).toBeLessThanOrEqual(url.length);
  });

  // Guards against: a batch item with many unknown fields got one problem per field, the batch
  // answered 200 with all of them, and under an Idempotency-Key that whole response was kept for
  // replay. A 3.9 MB batch (within BATCH_BODY_LIMIT) answered 28 MB, blocked the event loop ~0.9 s
  // and wrote 28 MB to the database.
  it('neither answers nor stores far more than it received for a batch of invalid items', async () => {
    const app = await appWith();
    const stored = () =>
      (
        app.repository.sqlite.prepare('select coalesce(sum(length(response)), 0) as stored from idempotency_keys').get() as {
          stored: number;
        }
      ).stored;
    // The review's batch: items of 2,000 unknown fields each are refused whole, unparsed.
    const wide = `{"items":[${Array.from({ length: 40 }, () => `{${junkKeys(2000)}}`).join(',')}]}`;
    const refused = await post(app, '/v1/assessments/batch', wide, { 'idempotency-key': 'review-amplification-1' });
    expect([refused.statusCode, app.repository.countAssessments(), stored()]).toEqual([400, 0, 0]);
    expect(refused.body.length).toBeLessThan(1000);
    // As many unknown fields as an object may have, in as many items as a batch takes: each item's
    // problem lists at most a few of them, so the answer stays within about 3 KB an item, however
    // short the fields.
    const item = `{${junkKeys(MAX_JSON_MEMBERS)}}`;
    const payload = `{"items":[${Array.from({ length: MAX_BATCH_ITEMS }, () => item).join(',')}]}`;
    const response = await post(app, '/v1/assessments/batch', payload, { 'idempotency-key': 'review-amplification-2' });
    expect(response.statusCode).toBe(200);
    expect(app.repository.countAssessments()).toBe(0);
    expect(response.body.length, `${payload.length} bytes in, ${response.body.length} bytes out`).toBeLessThanOrEqual(
      MAX_BATCH_ITEMS * 3500,
    );
    expect(stored(), 'bytes kept for replay').toBeLessThanOrEqual(MAX_BATCH_ITEMS * 3500);
  });
});

describe('logs', () => {
  // Guards against: an assessment's id is all it takes to read it back, yet at the default
  // LOG_LEVEL=info every request URL was logged, so `GET /v1/assessments/<id>` put each id read in
  // the logs in clear, and whoever read the logs could fetch every respondent's answers and label.
  it('do not carry the ids of stored assessments, which are bearer capabilities', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        callback();
      },
    });
    const app = await appWith({ logger: { level: 'info', stream } });
    const created = await post(app, '/v1/assessments', { answers: answersFor(app), respondent: 'review-label' });
    expect(created.statusCode).toBe(201);
    const { id } = created.json() as { id: string };
    const read = await app.inject(`/v1/assessments/${id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json().respondent).toBe('review-label');
    // Spelled otherwise: the router decodes `%61` and serves it; a base URL ending in `/` gives `//`.
    // Guards against: the mask matched only the literal prefix, so both logged the id whole.
    expect((await app.inject(`/v1/%61ssessments/${id}`)).statusCode).toBe(200);
    await app.inject(`//v1/assessments/${id}`);
    // Hyphens spelled `%2D` beside an escape that cannot be decoded. Guards against: the whole URL
    // was then logged as sent, where the id's pattern does not see the id.
    const spelled = id.replaceAll('-', '%2D');
    await app.inject(`/v1/assessments/${spelled}?x=%ZZ`);
    // Without its hyphens (refused, 400), as Python's uuid.hex writes it: adding them back reads it.
    // Guards against (from a review): the pattern needed the hyphens, and logged such an id whole.
    const bare = id.replaceAll('-', '');
    expect((await app.inject(`/v1/assessments/${bare}`)).statusCode).toBe(400);
    expect(lines.length).toBeGreaterThan(0);
    const logged = lines.join('\n');
    expect(logged, 'the log holds the id that reads the assessment back').not.toContain(id);
    expect(logged).not.toContain(spelled);
    expect(logged).not.toContain(bare);
    expect(logged).toContain(`${id.slice(0, 8)}…`);
  });
});
