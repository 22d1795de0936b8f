import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_WAIT_MS } from '../src/services/group-commit.js';
import { buildTestApp } from './helpers.js';
import { watchEventLoop } from './support/event-loop.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';
import { agent, get, listening } from './support/http.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;

const temp = new TempDirs();
afterAll(() => {
  temp.cleanup();
  agent.destroy();
});

type App = Awaited<ReturnType<typeof buildTestApp>>;

/** A request through the app, its answer checked against the OpenAPI document. */
async function call(
  app: App,
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await app.inject({
    method,
    url,
    headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  if (method !== 'HEAD') {
    expect(
      responseProblems(method, url, response.statusCode, response.headers['content-type'] as string | undefined, response.body),
    ).toEqual([]);
  }
  return response;
}

const submission = (respondent: string, shift = 0) => ({
  respondent,
  answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i + shift) % 5) + 1 })),
});

async function store(app: App, respondent: string, headers: Record<string, string> = {}) {
  const created = await call(app, 'POST', '/v1/assessments', submission(respondent), headers);
  expect(created.statusCode).toBe(201);
  return { id: created.json().id as string, location: created.headers.location as string, body: created.body };
}

/** Rows of either assessment table, and kept Idempotency-Key answers, whose text holds `needle`. */
function rowsHolding(app: App, needle: string): number {
  const { sqlite } = app.repository;
  return ['assessment_documents', 'assessments'].reduce(
    (n, table) =>
      n + (sqlite.prepare(`select count(*) from ${table} where instr(cast(document as text), ?) > 0`).pluck().get(needle) as number),
    sqlite.prepare('select count(*) from idempotency_keys where instr(response, ?) > 0').pluck().get(needle) as number,
  );
}

describe('DELETE /v1/assessments/{id}', () => {
  it('erases a stored assessment: 204, then 410 on reads and 204 again on a repeated DELETE', async () => {
    const app = await buildTestApp();
    try {
      const kept = await store(app, 'kept label');
      const gone = await store(app, 'erased label');
      expect(rowsHolding(app, 'erased label')).toBe(1);

      const erased = await call(app, 'DELETE', gone.location);
      expect(erased.statusCode).toBe(204);
      expect(erased.body).toBe('');
      expect(rowsHolding(app, 'erased label')).toBe(0);

      const read = await call(app, 'GET', gone.location);
      expect(read.statusCode).toBe(410);
      expect(read.headers['content-type']).toContain('application/problem+json');
      expect(read.json()).toMatchObject({ status: 410, code: 'assessment-erased', type: '/problems/assessment-erased' });
      expect((await call(app, 'HEAD', gone.location)).statusCode).toBe(410);
      // Ids are read in either case, erased ones too.
      expect((await call(app, 'GET', gone.location.toUpperCase().replace('/V1/ASSESSMENTS/', '/v1/assessments/'))).statusCode).toBe(410);

      expect((await call(app, 'DELETE', gone.location)).statusCode).toBe(204);
      // The other assessment is untouched.
      const other = await call(app, 'GET', kept.location);
      expect(other.statusCode).toBe(200);
      expect(other.body).toBe(kept.body);
    } finally {
      await app.close();
    }
  });

  it('takes an empty body sent as JSON, as clients that send the header on every request do', async () => {
    const app = await buildTestApp();
    try {
      const { location } = await store(app, 'empty body');
      const answer = await app.inject({ method: 'DELETE', url: location, headers: { 'content-type': 'application/json' } });
      expect(answer.statusCode).toBe(204);
    } finally {
      await app.close();
    }
  });

  it('refuses any other body with a 400, erasing nothing: no field of a body changes what a DELETE does', async () => {
    const app = await buildTestApp();
    try {
      const { location } = await store(app, 'sent a body');
      // Whitespace and text that is not JSON are told the same: the route reads no body.
      for (const payload of ['{"reason":"asked by the person"}', '[1,2]', 'null', '{}', '  ', '{"reason"']) {
        const answer = await app.inject({ method: 'DELETE', url: location, headers: { 'content-type': 'application/json' }, payload });
        expect(answer.statusCode).toBe(400);
        expect(answer.json()).toMatchObject({ code: 'validation-error', errors: [{ field: 'body', message: 'must be empty' }] });
        expect(responseProblems('DELETE', location, 400, answer.headers['content-type'] as string, answer.body)).toEqual([]);
      }
      expect((await call(app, 'GET', location)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('counts against the write budget the POST routes share', async () => {
    const app = await buildTestApp({ rateLimit: { enabled: true, max: 3, windowMs: 60_000 } });
    try {
      const { location } = await store(app, 'budgeted');
      const first = await call(app, 'DELETE', location);
      expect(first.statusCode).toBe(204);
      expect(first.headers['x-ratelimit-remaining']).toBe('1');
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      const over = await call(app, 'DELETE', location);
      expect(over.statusCode).toBe(429);
      expect(over.headers['retry-after']).toBeDefined();
    } finally {
      await app.close();
    }
  });

  it('answers 404 for an id never stored and 400 for one that is not an id, erasing nothing', async () => {
    const app = await buildTestApp();
    try {
      const kept = await store(app, 'still here');
      const unknown = await call(app, 'DELETE', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().code).toBe('not-found');
      // A never-stored id stays unknown: it is not recorded as erased.
      expect((await call(app, 'GET', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19')).statusCode).toBe(404);
      const malformed = await call(app, 'DELETE', '/v1/assessments/not-an-id');
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().errors[0].field).toBe('params.id');
      expect((await call(app, 'DELETE', `${kept.location}?force=1`)).statusCode).toBe(400);
      // A precondition does not turn a 404 into a 412.
      for (const ifMatch of ['*', '"abc"']) {
        const answer = await call(app, 'DELETE', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19', undefined, {
          'if-match': ifMatch,
        });
        expect(answer.statusCode).toBe(404);
      }
      // A body is not read, but a body the API cannot take is refused as on every route.
      const plain = await app.inject({ method: 'DELETE', url: kept.location, headers: { 'content-type': 'text/plain' }, payload: 'x' });
      expect(plain.statusCode).toBe(415);
      expect(responseProblems('DELETE', kept.location, 415, plain.headers['content-type'] as string, plain.body)).toEqual([]);
      expect((await call(app, 'GET', kept.location)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('takes If-Match: * only while the assessment is stored, and no other If-Match', async () => {
    const app = await buildTestApp();
    try {
      const { location } = await store(app, 'conditional');
      const tagged = await call(app, 'DELETE', location, undefined, { 'if-match': '"abc"' });
      expect(tagged.statusCode).toBe(412);
      expect((await call(app, 'GET', location)).statusCode).toBe(200);
      expect((await call(app, 'DELETE', location, undefined, { 'if-match': '*' })).statusCode).toBe(204);
      expect((await call(app, 'DELETE', location, undefined, { 'if-match': '*' })).statusCode).toBe(412);
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      // If-None-Match: * holds only once it is gone.
      const other = await store(app, 'not while stored');
      const refused = await call(app, 'DELETE', other.location, undefined, { 'if-none-match': '*' });
      expect([refused.statusCode, (await call(app, 'GET', other.location)).statusCode]).toEqual([412, 200]);
      expect((await call(app, 'DELETE', location, undefined, { 'if-none-match': '*' })).statusCode).toBe(204);
    } finally {
      await app.close();
    }
  });

  it('keeps the erasure across a restart, and the assessment out of the database file', async () => {
    const databasePath = join(temp.make('rc-api-erase-'), 'api.sqlite');
    const first = await buildTestApp({ databasePath });
    const { location } = await store(first, 'label to erase');
    expect((await call(first, 'DELETE', location)).statusCode).toBe(204);
    await first.close();
    // Closing copied the log into the file: the pages the row left hold zeros, not its text.
    expect(readFileSync(databasePath).includes('label to erase')).toBe(false);

    const second = await buildTestApp({ databasePath });
    try {
      expect((await call(second, 'GET', location)).statusCode).toBe(410);
      expect((await call(second, 'DELETE', location)).statusCode).toBe(204);
      expect(rowsHolding(second, 'label to erase')).toBe(0);
      expect(second.repository.sqlite.prepare('select count(*) from erased_assessments').pluck().get()).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('leaves no text in the file of a key answer kept whole that the hourly purge removed', async () => {
    const databasePath = join(temp.make('rc-api-erase-purge-'), 'api.sqlite');
    const app = await buildTestApp({ databasePath });
    const batch = { items: Array.from({ length: 4 }, (_, i) => submission(`purged-${i}-label`, i)) };
    const sent = await call(app, 'POST', '/v1/assessments/batch', batch, { 'idempotency-key': 'old' });
    // Kept whole, as keys were before answers referred to their assessments, and old enough to purge.
    app.repository.sqlite
      .prepare(`update idempotency_keys set response = ?, assessment_ids = null, created_at = '2000-01-01T00:00:00.000Z' where key = 'old'`)
      .run(sent.body);
    expect(app.repository.purgeIdempotencyKeys(new Date())).toBe(1);
    for (const item of sent.json().items as { location: string }[]) expect((await call(app, 'DELETE', item.location)).statusCode).toBe(204);
    await app.close();
    const file = readFileSync(databasePath);
    expect([0, 1, 2, 3].filter((i) => file.includes(`purged-${i}-label`))).toEqual([]);
  });

  it('erases a row stored with a random UUID, before ids encoded rows', async () => {
    const app = await buildTestApp();
    try {
      const id = '4f9c2d3e-8a1b-4c5d-9e6f-7a8b9c0d1e2f';
      const document = JSON.stringify({ id, note: 'an earlier row' });
      app.repository.sqlite
        .prepare(
          `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
           values (?, '2026-11-20T10:00:00.000Z', ?, 'v1', 'shape-1.0', '2026.11.0')`,
        )
        .run(id, Buffer.from(document));
      const read = await app.inject({ url: `/v1/assessments/${id}` });
      expect(read.statusCode).toBe(200);
      expect(read.body).toBe(document);
      expect((await call(app, 'DELETE', `/v1/assessments/${id}`)).statusCode).toBe(204);
      expect((await call(app, 'GET', `/v1/assessments/${id}`)).statusCode).toBe(410);
      expect(app.repository.sqlite.prepare('select count(*) from assessments').pluck().get()).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('an erasure that cannot be written', () => {
  it('keeps the request thread serving while many erasures wait for a lock, and answers an unknown id 404 at once', async () => {
    const databasePath = join(temp.make('rc-api-erase-many-'), 'api.sqlite');
    const app = await buildTestApp({ databasePath });
    const other = new Database(databasePath);
    try {
      const batch = { items: Array.from({ length: 100 }, (_, i) => submission(`many-${i}`, i)) };
      const locations = ((await call(app, 'POST', '/v1/assessments/batch', batch)).json().items as { location: string }[]).map(
        (item) => item.location,
      );
      other.exec('begin immediate');
      const erasing = locations.map((location) => app.inject({ method: 'DELETE', url: location }));
      const stopWatching = watchEventLoop();
      const started = Date.now();
      const unknown = await call(app, 'DELETE', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19');
      expect([unknown.statusCode, Date.now() - started < 1000]).toEqual([404, true]);
      await sleep(500);
      const longest = stopWatching();
      other.exec('rollback');
      expect(new Set((await Promise.all(erasing)).map((answer) => answer.statusCode))).toEqual(new Set([204]));
      // Each try of the one erasure at the head waits up to 5 ms; the others wait their turn, off the thread.
      // 250 ms: longer than a pause of a loaded test machine, far shorter than 100 erasures each trying the lock (over 1 s).
      expect(longest).toBeLessThan(250);
    } finally {
      other.close();
      await app.close();
    }
  });

  it('waits, serving other requests, while another connection holds the write lock, and erases once it is let go', async () => {
    const databasePath = join(temp.make('rc-api-erase-wait-'), 'api.sqlite');
    const app = await buildTestApp({ databasePath });
    const other = new Database(databasePath);
    try {
      const { location, body } = await store(app, 'waiting');
      other.exec('begin immediate');
      const erasing = call(app, 'DELETE', location);
      await sleep(100);
      // Still stored, and the server answers meanwhile.
      const still = await call(app, 'GET', location);
      expect([still.statusCode, still.body]).toEqual([200, body]);
      other.exec('rollback');
      expect((await erasing).statusCode).toBe(204);
      expect((await call(app, 'GET', location)).statusCode).toBe(410);
      // A repeated erasure takes no lock: answered at once while another connection holds it.
      other.exec('begin immediate');
      const started = Date.now();
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      expect(Date.now() - started).toBeLessThan(1000);
      other.exec('rollback');
    } finally {
      other.close();
      await app.close();
    }
  });

  it('answers 503 storage-unavailable once it has waited 5 s for a lock another connection keeps, erasing nothing', async () => {
    const databasePath = join(temp.make('rc-api-erase-lock-'), 'api.sqlite');
    const app = await buildTestApp({ databasePath });
    const other = new Database(databasePath);
    try {
      const { location, body } = await store(app, 'locked');
      other.exec('begin immediate');
      const started = Date.now();
      const refused = await call(app, 'DELETE', location);
      expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_WAIT_MS);
      expect([refused.statusCode, refused.json().code]).toEqual([503, 'storage-unavailable']);
      expect(refused.headers['retry-after']).toBeDefined();
      other.exec('rollback');
      const still = await call(app, 'GET', location);
      expect([still.statusCode, still.body]).toEqual([200, body]);
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
    } finally {
      other.close();
      await app.close();
    }
  }, 15_000);

  it('gives each waiting erasure 5 s from its arrival, not from its turn, and answers erased and unknown ids at once', async () => {
    const databasePath = join(temp.make('rc-api-erase-queue-'), 'api.sqlite');
    const app = await buildTestApp({ databasePath });
    const other = new Database(databasePath);
    try {
      const [first, second, third] = await Promise.all([store(app, 'q-1'), store(app, 'q-2'), store(app, 'q-3')]);
      expect((await call(app, 'DELETE', (third as { location: string }).location)).statusCode).toBe(204);
      other.exec('begin immediate');
      const started = Date.now();
      const waiting = [first, second].map(async (stored) => {
        const answer = await call(app, 'DELETE', (stored as { location: string }).location);
        return [answer.statusCode, Date.now() - started] as const;
      });
      await sleep(100);
      // Neither needs the lock, so neither waits behind the two that do.
      const erasedBefore = await call(app, 'DELETE', (third as { location: string }).location);
      const unknown = await call(app, 'DELETE', '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19');
      expect([erasedBefore.statusCode, unknown.statusCode, Date.now() - started < 1000]).toEqual([204, 404, true]);
      const answers = await Promise.all(waiting);
      expect(answers.map(([status]) => status)).toEqual([503, 503]);
      // Both within about 5 s of arriving: the second did not wait 5 s more behind the first.
      for (const [, ms] of answers) expect(ms).toBeLessThan(LOCK_WAIT_MS + 1500);
    } finally {
      other.exec('rollback');
      other.close();
      await app.close();
    }
  }, 15_000);

  it('answers 503 shutting-down once the database is closed', async () => {
    const app = await buildTestApp({ databasePath: join(temp.make('rc-api-erase-closed-'), 'api.sqlite') });
    try {
      const { location } = await store(app, 'closing');
      app.repository.close();
      const refused = await call(app, 'DELETE', location);
      expect([refused.statusCode, refused.json().code]).toEqual([503, 'shutting-down']);
    } finally {
      await app.close();
    }
  });
});

describe('an erased assessment and the Idempotency-Key that stored it', () => {
  // An erasure looks up the key of the assessment it erases, on the request thread and holding the
  // write lock: read by scanning, 2,000,000 kept keys held every request for about 280 ms.
  it('looks keys up through their index, never by reading the whole table', async () => {
    const prepared: string[] = [];
    const proto = Database.prototype as unknown as { prepare: (this: unknown, sql: string) => unknown };
    const original = proto.prepare;
    proto.prepare = function (sql: string) {
      prepared.push(sql);
      return original.call(this, sql);
    };
    let app: App;
    try {
      app = await buildTestApp();
    } finally {
      proto.prepare = original;
    }
    try {
      const reads = prepared.filter((sql) => sql.includes('idempotency_keys') && /^\s*(select|update|delete)/i.test(sql));
      // The erasure's two, the replay's look-up and the purge at least.
      expect(reads.length).toBeGreaterThanOrEqual(4);
      for (const sql of reads) {
        const parameters = (sql.match(/\?/g) ?? []).map(() => null);
        const plan = app.repository.sqlite.prepare(`explain query plan ${sql}`).all(...parameters) as { detail: string }[];
        expect(plan.map((step) => step.detail).join('; '), sql).not.toMatch(/SCAN idempotency_keys/);
      }
    } finally {
      await app.close();
    }
  });

  it('the key keeps no hash of the request, which would confirm guessed answers', async () => {
    const app = await buildTestApp();
    try {
      const headers = { 'idempotency-key': 'erase-hash' };
      const { location } = await store(app, 'hashed', headers);
      const hashOf = () =>
        app.repository.sqlite.prepare(`select request_hash from idempotency_keys where key = 'erase-hash'`).pluck().get() as string;
      expect(hashOf()).toMatch(/^[0-9a-f]{64}$/);
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      expect(hashOf()).toBe('erased');
      // Any body under the key is now told the assessment is gone.
      const other = await call(app, 'POST', '/v1/assessments', submission('another body', 3), headers);
      expect([other.statusCode, other.json().code]).toEqual([410, 'assessment-erased']);
      // Any JSON body, that is: one that is not JSON is refused as such before the key is looked at.
      const broken = await app.inject({
        method: 'POST',
        url: '/v1/assessments',
        headers: { 'content-type': 'application/json', ...headers },
        payload: '{',
      });
      expect([broken.statusCode, broken.json().code]).toEqual([400, 'malformed-body']);
    } finally {
      await app.close();
    }
  });

  it('a retried submission is answered 410 and stores nothing again', async () => {
    const app = await buildTestApp();
    try {
      const headers = { 'idempotency-key': 'erase-single' };
      const { location } = await store(app, 'keyed', headers);
      expect((await call(app, 'DELETE', location)).statusCode).toBe(204);
      const retry = await call(app, 'POST', '/v1/assessments', submission('keyed'), headers);
      expect(retry.statusCode).toBe(410);
      expect(retry.json().code).toBe('assessment-erased');
      // Told of its one assessment, not of a batch's others.
      expect(retry.json().detail).toBe(
        'The assessment this Idempotency-Key stored was erased, so its answer is no longer replayed: send a new submission with a new key.',
      );
      expect(app.repository.countAssessments()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('a batch whose key stored an erased assessment is answered 410 whole, whatever its body, storing nothing and naming none of the others', async () => {
    const app = await buildTestApp();
    try {
      const headers = { 'idempotency-key': 'erase-batch' };
      const batch = { items: [submission('first', 1), submission('second', 2), { answers: [] }, submission('fourth', 4)] };
      const sent = await call(app, 'POST', '/v1/assessments/batch', batch, headers);
      expect(sent.statusCode).toBe(200);
      const items = sent.json().items as { status: number; location?: string }[];
      expect(items.map((item) => item.status)).toEqual([201, 201, 400, 201]);
      // Another body under the key is refused as before the erasure.
      expect((await call(app, 'POST', '/v1/assessments/batch', { items: [submission('other', 3)] }, headers)).statusCode).toBe(422);
      expect((await call(app, 'DELETE', items[1]?.location as string)).statusCode).toBe(204);

      // Bodies the envelope check refuses too: the key is looked at first, as a single submission's is.
      for (const body of [batch, { items: [submission('other', 3), submission('more', 4)] }, {}, { items: [] }, { items: [], x: 1 }]) {
        const answer = await call(app, 'POST', '/v1/assessments/batch', body, headers);
        expect([answer.statusCode, answer.json().code]).toEqual([410, 'assessment-erased']);
        expect(answer.json().detail).toContain(
          "so the batch's answer is no longer replayed. Its other assessments are still at the ids first answered",
        );
        // None of the ids still stored is handed to whoever holds the key.
        for (const i of [0, 3]) expect(answer.body).not.toContain(String(items[i]?.location).slice('/v1/assessments/'.length));
      }
      expect(app.repository.countAssessments()).toBe(2);
      for (const i of [0, 3]) expect((await call(app, 'GET', items[i]?.location as string)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  // How keys kept their answer before answers referred to their assessments: the body itself.
  const asFirstKept = (app: App, key: string, body: string) =>
    app.repository.sqlite.prepare('update idempotency_keys set response = ?, assessment_ids = null where key = ?').run(body, key);

  it('a kept answer that holds the document itself loses its text, and a retry is still a 410', async () => {
    const app = await buildTestApp();
    try {
      const headers = { 'idempotency-key': 'erase-legacy' };
      const first = await store(app, 'legacy answer', headers);
      asFirstKept(app, 'erase-legacy', first.body);
      expect((await call(app, 'DELETE', first.location)).statusCode).toBe(204);
      expect(rowsHolding(app, 'legacy answer')).toBe(0);
      const again = await call(app, 'POST', '/v1/assessments', submission('legacy answer'), headers);
      expect([again.statusCode, again.json().code]).toEqual([410, 'assessment-erased']);
      expect(app.repository.countAssessments()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('a batch answer kept whole loses the erased item’s text, and a retry stores nothing again', async () => {
    const app = await buildTestApp();
    try {
      const headers = { 'idempotency-key': 'erase-legacy-batch' };
      // A label holding the text that opens a document, in its escaped form.
      const batch = {
        items: [submission('lb-0 "assessment":{"id":"x"}', 1), { answers: [] }, submission('lb-2', 2), submission('lb-3', 3)],
      };
      const sent = await call(app, 'POST', '/v1/assessments/batch', batch, headers);
      const items = sent.json().items as { status: number; location?: string }[];
      asFirstKept(app, 'erase-legacy-batch', sent.body);
      expect((await call(app, 'DELETE', items[2]?.location as string)).statusCode).toBe(204);
      expect(rowsHolding(app, 'lb-2')).toBe(0);
      // Rewritten to refer to the assessments it carried, the others' text left to their rows.
      const kept = app.repository.sqlite
        .prepare(`select response, assessment_ids as ids from idempotency_keys where key = 'erase-legacy-batch'`)
        .get() as { response: string; ids: string };
      expect(kept.ids.split(',')).toHaveLength(3);
      expect(kept.response).not.toContain('lb-3');
      const retry = await call(app, 'POST', '/v1/assessments/batch', batch, headers);
      expect([retry.statusCode, retry.json().code]).toEqual([410, 'assessment-erased']);
      expect(app.repository.countAssessments()).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe('erasure across servers sharing a database', () => {
  it('another server stops answering the assessment from memory, and answers its key 410', async () => {
    const databasePath = join(temp.make('rc-api-erase-shared-'), 'api.sqlite');
    const one = await buildTestApp({ databasePath });
    const other = await buildTestApp({ databasePath });
    try {
      const headers = { 'idempotency-key': 'erase-shared' };
      const batch = { items: [submission('shared-0', 1), submission('shared-1', 2)] };
      const sent = await call(other, 'POST', '/v1/assessments/batch', batch, headers);
      const { location } = (sent.json().items as { location: string }[])[0] as { location: string };
      expect((await call(other, 'GET', location)).statusCode).toBe(200);
      expect((await call(one, 'DELETE', location)).statusCode).toBe(204);
      // The other server learns of it from its background checkpoint, every 100 ms.
      const deadline = Date.now() + 2000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        await sleep(20);
        status = (await call(other, 'GET', location)).statusCode;
      }
      expect(status).toBe(410);
      const replay = await call(other, 'POST', '/v1/assessments/batch', batch, headers);
      expect(replay.statusCode).toBe(410);
      expect((await call(other, 'DELETE', location, undefined, { 'if-match': '*' })).statusCode).toBe(412);
    } finally {
      await other.close();
      await one.close();
    }
  });
});

describe('erasure across servers sharing a database, before the other has heard of it', () => {
  async function pair(prefix: string) {
    const databasePath = join(temp.make(prefix), 'api.sqlite');
    return { one: await buildTestApp({ databasePath }), other: await buildTestApp({ databasePath }), databasePath };
  }

  it('a DELETE sent to the other server answers 204 and forgets its copy at once', async () => {
    const { one, other } = await pair('rc-api-erase-pair-');
    try {
      const { location } = await store(other, 'told late');
      expect((await call(one, 'DELETE', location)).statusCode).toBe(204);
      // Straight to the other server, before its checkpoint thread can have told it.
      expect((await call(other, 'DELETE', location)).statusCode).toBe(204);
      expect((await call(other, 'GET', location)).statusCode).toBe(410);
    } finally {
      await other.close();
      await one.close();
    }
  });

  it('If-Match: * there is a 412, as for an assessment erased before', async () => {
    const { one, other } = await pair('rc-api-erase-pair-match-');
    try {
      const { location } = await store(other, 'matched late');
      expect((await call(one, 'DELETE', location)).statusCode).toBe(204);
      expect((await call(other, 'DELETE', location, undefined, { 'if-match': '*' })).statusCode).toBe(412);
    } finally {
      await other.close();
      await one.close();
    }
  });
});

describe('erasure on a listening server', () => {
  it('a read answered before routing is not answered from memory once erased', async () => {
    const server = await listening({ rateLimit: { enabled: false, max: 1, windowMs: 60_000 } });
    try {
      const created = await get(
        server.base,
        '/v1/assessments',
        { 'content-type': 'application/json' },
        'POST',
        JSON.stringify(submission('front')),
      );
      expect(created.status).toBe(201);
      const { id } = JSON.parse(created.body.toString('utf8')) as { id: string };
      // Twice: the first read through Fastify gives the front its headers, the second is its own.
      for (let i = 0; i < 2; i++) expect((await get(server.base, `/v1/assessments/${id}`)).status).toBe(200);
      const routedBefore = server.routed();
      expect((await get(server.base, `/v1/assessments/${id}`)).status).toBe(200);
      expect(server.routed()).toBe(routedBefore);

      expect((await get(server.base, `/v1/assessments/${id}`, {}, 'DELETE')).status).toBe(204);
      expect((await get(server.base, `/v1/assessments/${id}`)).status).toBe(410);
    } finally {
      await server.app.close();
    }
  });

  it('a CORS preflight for DELETE is allowed', async () => {
    const app = await buildTestApp();
    try {
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/v1/assessments/0b6f2a54-3c1e-4d8a-9f27-6e5d4c3b2a19',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'DELETE' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-methods']).toContain('DELETE');
      expect(preflight.headers['access-control-allow-origin']).toBeDefined();
    } finally {
      await app.close();
    }
  });
});
