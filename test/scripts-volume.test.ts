// What a script sees when it submits assessments (one or many), retries them with an
// Idempotency-Key and reads the results back later: in-process apps for the rules, real HTTP for
// requests in flight and cut-off clients, and the built server (two processes on one database file,
// a restart) for what a deployment does.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { IDEMPOTENCY_RETENTION_MS } from '../src/plugins/store.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { agent, get, injectPost, listening } from './support/http.js';
import { document } from './support/openapi.js';
import {
  submission as processSubmission,
  questions,
  type Reply,
  send,
  serverBuiltForFile,
  startServer,
  stopServer,
} from './support/process.js';

const QUESTIONS = readRawSeed().questions.questions;
const HOUR = 60 * 60 * 1000;
const JSON_TYPE = { 'content-type': 'application/json' };

type Answer = { questionId: string; value: number };

/** A complete, varied submission (not straight-lined), labelled so that a stored copy can be told apart. */
const submission = (seed: number, extra: Record<string, unknown> = {}) => ({
  answers: QUESTIONS.map((q, i): Answer => ({ questionId: q.id, value: ((i * 3 + seed) % 5) + 1 })),
  respondent: `script-${seed}`,
  ...extra,
});

const temp = new TempDirs();
const apps: App[] = [];
afterAll(async () => {
  for (const app of apps.splice(0)) await app.close();
  agent.destroy();
  temp.cleanup();
});

async function appOn(databasePath = ':memory:') {
  const app = await buildTestApp({ databasePath });
  apps.push(app);
  return app;
}

async function close(app: App) {
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

const post = injectPost;

/** The value of a header in a raw header list (as http.ts `get` returns them). */
const header = (raw: string[], name: string) => {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
};

async function until(what: string, check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('retrying with an Idempotency-Key, over real HTTP', () => {
  it('answers two requests in flight at once with one key and two bodies: one 201, one 422, one row', async () => {
    const { app, base } = await listening();
    apps.push(app);
    const bodies = [JSON.stringify(submission(1)), JSON.stringify(submission(2))];
    const before = app.repository.countAssessments();
    const replies = await Promise.all(
      bodies.map((body) => get(base, '/v1/assessments', { ...JSON_TYPE, 'idempotency-key': 'in-flight-two-bodies' }, 'POST', body)),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 422]);
    const stored = replies.find((r) => r.status === 201)!;
    const refused = replies.find((r) => r.status === 422)!;
    expect(JSON.parse(refused.body.toString()).code).toBe('idempotency-key-reused');
    expect(app.repository.countAssessments()).toBe(before + 1);
    // Whichever body won, its own retry replays it and the other body stays refused.
    const winner = replies.indexOf(stored);
    const again = await get(base, '/v1/assessments', { ...JSON_TYPE, 'idempotency-key': 'in-flight-two-bodies' }, 'POST', bodies[winner]);
    expect(again.status).toBe(201);
    expect(header(again.headers, 'idempotent-replayed')).toBe('true');
    expect(again.body.equals(stored.body)).toBe(true);
    await close(app);
  });

  it('replays to a client that gave up before the 201 arrived, with the same id, Location and body', async () => {
    const { app, base } = await listening();
    apps.push(app);
    const body = JSON.stringify(submission(3));
    const key = `gave-up-${randomUUID()}`;
    const before = app.repository.countAssessments();
    // The whole request is sent, then the connection is dropped: the script never sees an answer.
    await new Promise<void>((resolve) => {
      const req = request(`${base}/v1/assessments`, {
        method: 'POST',
        agent: false,
        headers: { ...JSON_TYPE, 'content-length': String(Buffer.byteLength(body)), 'idempotency-key': key },
      });
      req.on('error', () => resolve());
      req.end(body, () => {
        req.destroy();
        resolve();
      });
    });
    await until('the dropped request to be stored', () => app.repository.countAssessments() === before + 1);

    const retry = await get(base, '/v1/assessments', { ...JSON_TYPE, 'idempotency-key': key }, 'POST', body);
    expect(retry.status).toBe(201);
    expect(header(retry.headers, 'idempotent-replayed')).toBe('true');
    const { id } = JSON.parse(retry.body.toString()) as { id: string };
    expect(header(retry.headers, 'location')).toBe(`/v1/assessments/${id}`);
    expect(app.repository.countAssessments()).toBe(before + 1);
    const read = await get(base, `/v1/assessments/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.equals(retry.body)).toBe(true);
    await close(app);
  });
});

describe('how long a key is kept', () => {
  it(`replays a key ${IDEMPOTENCY_RETENTION_MS / HOUR - 1} hours old after a restart, and forgets one ${IDEMPOTENCY_RETENTION_MS / HOUR + 1} hours old`, async () => {
    const databasePath = join(temp.make('rc-api-scripts-'), 'kb.sqlite');
    const realNow = Date.now();
    const fresh = submission(10);
    const old = submission(11);
    const stored = async (app: App, payload: unknown, key: string, ageHours: number) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(realNow - ageHours * HOUR);
      try {
        const response = await post(app, '/v1/assessments', payload, { 'idempotency-key': key });
        expect(response.statusCode).toBe(201);
        return response;
      } finally {
        vi.useRealTimers();
      }
    };
    const first = await appOn(databasePath);
    const kept = await stored(first, fresh, 'kept-key', IDEMPOTENCY_RETENTION_MS / HOUR - 1);
    const forgotten = await stored(first, old, 'forgotten-key', IDEMPOTENCY_RETENTION_MS / HOUR + 1);
    await close(first);

    // Opening the database purges keys older than the retention.
    const second = await appOn(databasePath);
    const before = second.repository.countAssessments();
    const replay = await post(second, '/v1/assessments', fresh, { 'idempotency-key': 'kept-key' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(kept.body);

    // Past the retention a retry is a new submission: a second assessment with a new id, not a replay.
    const late = await post(second, '/v1/assessments', old, { 'idempotency-key': 'forgotten-key' });
    expect(late.statusCode).toBe(201);
    expect(late.headers['idempotent-replayed']).toBeUndefined();
    expect(late.json().id).not.toBe(forgotten.json().id);
    expect(second.repository.countAssessments()).toBe(before + 1);
    // Both copies stay readable.
    expect((await second.inject(`/v1/assessments/${forgotten.json().id}`)).statusCode).toBe(200);
    await close(second);
  });
});

describe('reading results back', () => {
  it('answers HEAD like GET without a body, has no validator to revalidate, and 404s an id never given out', async () => {
    const app = await appOn();
    const created = await post(app, '/v1/assessments', submission(20));
    expect(created.statusCode).toBe(201);
    const location = created.headers.location as string;

    const read = await app.inject(location);
    expect(read.statusCode).toBe(200);
    expect(read.body).toBe(created.body);
    expect(read.headers['cache-control']).toBe('private, max-age=86400, immutable');
    expect(read.headers.etag).toBeUndefined();

    const head = await app.inject({ method: 'HEAD', url: location });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(read.headers['content-length']);
    expect(head.headers['cache-control']).toBe(read.headers['cache-control']);

    // No ETag is sent, so a conditional GET is answered in full.
    const conditional = await app.inject({ url: location, headers: { 'if-none-match': '"anything"' } });
    expect(conditional.statusCode).toBe(200);
    expect(conditional.body).toBe(created.body);

    const neverIssued = await app.inject(`/v1/assessments/${randomUUID()}`);
    expect(neverIssued.statusCode).toBe(404);
    expect(neverIssued.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(neverIssued.headers['cache-control']).toBeUndefined();
    expect(neverIssued.json().code).toBe('not-found');
    // An id in capitals is the same UUID, and reads the same assessment.
    const capitals = await app.inject(location.toUpperCase().replace('/V1/ASSESSMENTS/', '/v1/assessments/'));
    expect(capitals.statusCode).toBe(200);
    expect(capitals.body).toBe(created.body);
  });

  it('reads every id of a batch back byte for byte, in input order', async () => {
    const app = await appOn();
    const items = [submission(30), { answers: 'none' }, submission(31, { companySize: 'big-tech' })];
    const response = await post(app, '/v1/assessments/batch', { items });
    expect(response.statusCode).toBe(200);
    const outcomes = response.json().items as { status: number; assessment?: { id: string; respondent: string } }[];
    expect(outcomes.map((o) => o.status)).toEqual([201, 400, 201]);
    for (const [index, outcome] of [outcomes[0]!, outcomes[2]!].entries()) {
      const read = await app.inject(`/v1/assessments/${outcome.assessment!.id}`);
      expect(read.statusCode).toBe(200);
      expect(read.headers['cache-control']).toBe('private, max-age=86400, immutable');
      expect(read.json()).toEqual(outcome.assessment);
      expect(read.json().respondent).toBe(`script-${30 + index}`);
    }
  });
});

describe('determinism and labels', () => {
  it('scores the same submission alike twice and in any answer order, keeping the order given', async () => {
    const app = await appOn();
    const payload = submission(40, { companySize: 'scale-up' });
    const reversed = { ...payload, answers: [...payload.answers].reverse() };
    const [a, b, c] = await Promise.all([payload, payload, reversed].map((p) => post(app, '/v1/assessments', p)));
    expect([a!.statusCode, b!.statusCode, c!.statusCode]).toEqual([201, 201, 201]);
    expect(a!.json().id).not.toBe(b!.json().id);
    expect(b!.json().result).toEqual(a!.json().result);
    expect(c!.json().result).toEqual(a!.json().result);
    expect(c!.json().answers).toEqual(reversed.answers);
  });

  it('keeps unicode and control characters inside the respondent label, and trims the whitespace around it', async () => {
    const app = await appOn();
    const inner = "Zoë 👩‍💻 <b>o'brien</b>\u0007\ttab";
    const created = await post(app, '/v1/assessments', submission(50, { respondent: ` \t${inner}\n ` }));
    expect(created.statusCode).toBe(201);
    expect(created.json().respondent).toBe(inner);
    expect((await app.inject(created.headers.location as string)).json().respondent).toBe(inner);
  });

  it('counts the 200-character limit of the respondent label in code points, not UTF-16 units', async () => {
    const app = await appOn();
    const at = await post(app, '/v1/assessments', submission(51, { respondent: '😀'.repeat(200) }));
    expect(at.statusCode).toBe(201);
    expect(at.json().respondent).toBe('😀'.repeat(200));
    const over = await post(app, '/v1/assessments', submission(52, { respondent: '😀'.repeat(201) }));
    expect(over.statusCode).toBe(400);
    expect(over.json().errors.map((e: { field: string }) => e.field)).toEqual(['body.respondent']);
  });
});

describe('bodies that are not UTF-8', () => {
  // Guards against: bytes that are not UTF-8 decoded with replacement characters and stored, the
  // script getting a 201 and its label back as "Ren\uFFFD M\uFFFDller". RFC 8259 asks for UTF-8.
  it('refuses a Latin-1 body (PowerShell 5.1 sends these) instead of storing U+FFFD in the label', async () => {
    const app = await appOn();
    const before = app.repository.countAssessments();
    const latin1 = Buffer.from(JSON.stringify(submission(60, { respondent: 'René Müller' })), 'latin1');
    const response = await post(app, '/v1/assessments', latin1);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'malformed-body', detail: 'The body is not valid UTF-8: send JSON encoded in UTF-8.' });
    expect(app.repository.countAssessments()).toBe(before);
  });

  // Guards against: a declared charset other than UTF-8 ignored rather than refused.
  it('refuses a declared charset=iso-8859-1 with 415, and takes a declared UTF-8 however it is written', async () => {
    const app = await appOn();
    const latin1 = Buffer.from(JSON.stringify(submission(61, { respondent: 'René Müller' })), 'latin1');
    const response = await post(app, '/v1/assessments', latin1, { 'content-type': 'application/json; charset=iso-8859-1' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'unsupported-charset' });
    const utf8 = Buffer.from(JSON.stringify(submission(63, { respondent: 'René Müller' })), 'utf8');
    const quoted = await post(app, '/v1/assessments', utf8, { 'content-type': 'application/json; charset="UTF-8"' });
    expect(quoted.statusCode).toBe(201);
    expect(quoted.json().respondent).toBe('René Müller');
  });

  // Guards against: a label holding a lone surrogate (JSON "\ud800") stored and sent back as
  // "\ud800", which strict JSON readers refuse, making the stored assessment unreadable for them.
  it('refuses a respondent label that is not well-formed Unicode (a lone surrogate)', async () => {
    const app = await appOn();
    const response = await post(app, '/v1/assessments', `{"respondent":"x\\ud800y","answers":${JSON.stringify(submission(62).answers)}}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toEqual(['body.respondent']);
  });
});

describe('the OpenAPI contract a client is generated from', () => {
  const operation = (path: string) => document.paths[path].post as { responses: Record<string, { headers?: Record<string, unknown> }> };
  const headerNames = (response: { headers?: Record<string, unknown> } | undefined) =>
    Object.keys(response?.headers ?? {}).map((name) => name.toLowerCase());

  // Guards against: an OpenAPI document (the "full contract") that declared neither Location nor
  // Idempotent-Replayed, which the README sends scripts to, so generated clients could not see them.
  it('declares Location and Idempotent-Replayed on the 201 of POST /v1/assessments, and Idempotent-Replayed on the batch 200', () => {
    expect(headerNames(operation('/v1/assessments').responses['201'])).toEqual(expect.arrayContaining(['location', 'idempotent-replayed']));
    expect(headerNames(operation('/v1/assessments/batch').responses['200'])).toContain('idempotent-replayed');
  });

  // Guards against: 429 and 503 saying "see Retry-After" in prose only.
  it('declares Retry-After on the 429 and 503 of the write routes', () => {
    for (const path of ['/v1/assessments', '/v1/assessments/batch']) {
      expect(headerNames(operation(path).responses['429'])).toContain('retry-after');
      expect(headerNames(operation(path).responses['503'])).toContain('retry-after');
    }
  });
});

describe('the built server: two processes on one database file, and a restart', () => {
  const { temp: processTemp, script } = serverBuiltForFile();

  it('reads an assessment stored by the other process at once, and stores one of two bodies sent to both with one key', {
    timeout: 60_000,
  }, async () => {
    const databasePath = join(processTemp.make('rc-api-scripts-two-'), 'kb.sqlite');
    const a = await startServer(script(), databasePath);
    const b = await startServer(script(), databasePath);
    const client = new Agent({ keepAlive: true });
    try {
      const qs = await questions(a.url);
      const body = processSubmission(qs, 'two-processes', 1);
      const created = await send(client, a.url, { method: 'POST', path: '/v1/assessments', body });
      expect(created.status).toBe(201);
      const location = created.headers.location as string;
      // The first read on B goes through Fastify, the second through its front: both find it.
      for (let i = 0; i < 2; i++) {
        const read = await send(client, b.url, { method: 'GET', path: location });
        expect(read.status).toBe(200);
        expect(read.body).toBe(created.body);
      }

      const key = { 'idempotency-key': `two-processes-${randomUUID()}` };
      const bodies = [processSubmission(qs, 'body-a', 2), processSubmission(qs, 'body-b', 3)];
      const replies = await Promise.all(
        [a, b].map((server, i) => send(client, server.url, { method: 'POST', path: '/v1/assessments', body: bodies[i], headers: key })),
      );
      expect(replies.map((r) => r.status).sort()).toEqual([201, 422]);
      const winner = replies.findIndex((r) => r.status === 201);
      for (const server of [a, b]) {
        const replay = await send(client, server.url, { method: 'POST', path: '/v1/assessments', body: bodies[winner], headers: key });
        expect(replay.status).toBe(201);
        expect(replay.headers['idempotent-replayed']).toBe('true');
        expect(replay.body).toBe(replies[winner]!.body);
      }
    } finally {
      client.destroy();
      await Promise.all([stopServer(a), stopServer(b)]);
    }
  });

  it('replays a batch with its key after a restart, its ids still readable', { timeout: 60_000 }, async () => {
    const databasePath = join(processTemp.make('rc-api-scripts-restart-'), 'kb.sqlite');
    const client = new Agent({ keepAlive: true });
    const key = { 'idempotency-key': `batch-restart-${randomUUID()}` };
    const first = await startServer(script(), databasePath);
    let body = '';
    let original: Reply | undefined;
    try {
      const qs = await questions(first.url);
      body = `{"items":[${processSubmission(qs, 'restart-0', 4)},{"answers":[]},${processSubmission(qs, 'restart-2', 5)}]}`;
      original = await send(client, first.url, { method: 'POST', path: '/v1/assessments/batch', body, headers: key });
      expect(original.status).toBe(200);
      expect(original.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      expect((await stopServer(first)).code).toBe(0);
    }

    const second = await startServer(script(), databasePath);
    try {
      const replay = await send(client, second.url, { method: 'POST', path: '/v1/assessments/batch', body, headers: key });
      expect(replay.status).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toBe(original?.body);
      const items = JSON.parse(replay.body).items as { status: number; assessment?: { id: string } }[];
      expect(items.map((i) => i.status)).toEqual([201, 400, 201]);
      for (const item of [items[0]!, items[2]!]) {
        const read = await send(client, second.url, { method: 'GET', path: `/v1/assessments/${item.assessment!.id}` });
        expect(read.status).toBe(200);
        expect(JSON.parse(read.body)).toEqual(item.assessment);
      }
    } finally {
      client.destroy();
      await stopServer(second);
    }
  });
});
