import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { MAX_BATCH_ITEMS } from '../src/schemas/assessment.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { listenLocally, problemOf } from './support/http.js';
import { responseProblems } from './support/openapi.js';

const QUESTIONS = readRawSeed().questions.questions;
const URL = '/v1/assessments/batch';

let app: Awaited<ReturnType<typeof buildTestApp>>;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const count = () => app.repository.countAssessments();

/** POSTs a batch body, to the shared app or to `on.target`, and checks the answer against the document. */
async function postBatch(payload: unknown, headers: Record<string, string> = {}, on: { target?: App; remoteAddress?: string } = {}) {
  const response = await (on.target ?? app).inject({
    method: 'POST',
    url: URL,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...(on.remoteAddress === undefined ? {} : { remoteAddress: on.remoteAddress }),
  });
  expect(responseProblems('POST', URL, response.statusCode, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

/** A valid submission, varied by `seed` so that items differ. */
function good(seed: number, extra: Record<string, unknown> = {}) {
  return {
    answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i + seed) % 5) + 1 })),
    respondent: `respondent ${seed}`,
    ...extra,
  };
}

type Item = {
  status: number;
  location?: string;
  assessment?: { id: string; respondent: string };
  problem?: { status: number; errors: { field: string }[] };
};

function expectBadRequest(response: LightMyRequestResponse) {
  expect(response.statusCode).toBe(400);
  expect(response.headers['content-type']).toContain('application/problem+json');
}

describe('POST /v1/assessments/batch', () => {
  it('stores the good items and answers the bad ones with their problem, in input order', async () => {
    const badValue = good(1);
    (badValue.answers as { questionId: string; value: unknown }[])[2]!.value = 9;
    const unknownQuestion = good(3);
    unknownQuestion.answers[4] = { questionId: 'q-nowhere', value: 3 };
    const items = [
      good(0),
      badValue,
      good(2),
      unknownQuestion,
      good(4, { companySize: 'startup' }),
      { answers: 'none' },
      good(5, { companySize: 'galaxy' }),
    ];
    const before = count();

    const response = await postBatch({ items });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { items: Item[] };
    expect(body.items.map((i) => i.status)).toEqual([201, 400, 201, 422, 201, 400, 422]);
    expect(count()).toBe(before + 3);

    // Good items: in order (their respondent labels say which input they came from) and readable.
    for (const index of [0, 2, 4]) {
      const item = body.items[index]!;
      expect(item.problem).toBeUndefined();
      expect(item.assessment?.respondent).toBe(`respondent ${index}`);
      // Where to read it back, as a single POST's Location says.
      expect(item.location).toBe(`/v1/assessments/${item.assessment?.id}`);
      const read = await app.inject({ url: item.location as string });
      expect(read.statusCode).toBe(200);
      expect(read.json()).toEqual(item.assessment);
    }
    expect((body.items[4]!.assessment as unknown as { companySize: string }).companySize).toBe('startup');
    expect(new Set([0, 2, 4].map((i) => body.items[i]!.assessment?.id)).size).toBe(3);

    // Bad items: a problem whose fields point into the item.
    const expectedFields: Record<number, string> = {
      1: 'body.items[1].answers[2].value',
      3: 'body.items[3].answers[4].questionId',
      5: 'body.items[5].answers',
      6: 'body.items[6].companySize',
    };
    for (const [index, field] of Object.entries(expectedFields)) {
      const item = body.items[Number(index)]!;
      expect(item.assessment).toBeUndefined();
      expect(item.problem?.status).toBe(item.status);
      expect(item.problem?.errors.length).toBeGreaterThan(0);
      for (const e of item.problem?.errors ?? []) expect(e.field.startsWith(`body.items[${index}]`)).toBe(true);
      expect(item.problem?.errors.map((e) => e.field)).toContain(field);
    }
  });

  it('answers 200 for a batch whose items are all bad, storing nothing', async () => {
    const before = count();
    const response = await postBatch({ items: [{ answers: [] }, good(1, { colour: 'red' })] });
    expect(response.statusCode).toBe(200);
    expect((response.json() as { items: Item[] }).items.map((i) => i.status)).toEqual([400, 400]);
    expect(count()).toBe(before);
  });

  it(`takes ${MAX_BATCH_ITEMS} items`, async () => {
    const before = count();
    const items = Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => good(i));
    const response = await postBatch({ items });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { items: Item[] };
    expect(body.items).toHaveLength(MAX_BATCH_ITEMS);
    expect(body.items.every((item) => item.status === 201)).toBe(true);
    expect(body.items.map((item) => item.assessment?.respondent)).toEqual(items.map((item) => item.respondent));
    expect(new Set(body.items.map((item) => item.assessment?.id)).size).toBe(MAX_BATCH_ITEMS);
    expect(count()).toBe(before + MAX_BATCH_ITEMS);
  });

  it(`refuses ${MAX_BATCH_ITEMS + 1} items with 400 and stores none`, async () => {
    const before = count();
    const response = await postBatch({ items: Array.from({ length: MAX_BATCH_ITEMS + 1 }, (_, i) => good(i)) });
    expectBadRequest(response);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toContain('body.items');
    expect(count()).toBe(before);
  });

  it.each([
    ['empty items', { items: [] }],
    ['items that are not an array', { items: { 0: good(0) } }],
    ['no items', {}],
    ['an unknown field beside items', { items: [good(0)], mode: 'fast' }],
    ['a bare array', [good(0)]],
    ['a number', 42],
    ['null', null],
    ['a string', 'items'],
  ])('answers 400 for %s', async (_, payload) => {
    const before = count();
    expectBadRequest(await postBatch(JSON.stringify(payload)));
    expect(count()).toBe(before);
  });

  it('answers 400 for a body that is not JSON', async () => {
    expectBadRequest(await postBatch('{"items": ['));
  });

  it('replays a retried batch with the same Idempotency-Key, storing nothing twice', async () => {
    const key = 'batch-retry-1';
    const payload = { items: [good(10), { answers: [] }, good(11)] };
    const before = count();
    const first = await postBatch(payload, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(count()).toBe(before + 2);

    const retry = await postBatch(payload, { 'idempotency-key': key });
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(first.body);
    expect(count()).toBe(before + 2);

    // Each stored item records the key its batch came with, as a single submission records its own.
    const keys = app.repository.sqlite
      .prepare('select idempotency_key from assessment_documents order by row_id desc limit 2')
      .pluck()
      .all();
    expect(keys).toEqual([key, key]);
  });

  it('replays a retried batch whose items give companySize and respondent as null where the first left them out', async () => {
    const key = 'batch-nulls-1';
    const first = await postBatch({ items: [good(20), { answers: good(21).answers }] }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    const retry = await postBatch(
      { items: [good(20), { answers: good(21).answers, companySize: null, respondent: null }] },
      { 'idempotency-key': key },
    );
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(first.body);
  });

  it('refuses the same Idempotency-Key with a different batch: 422', async () => {
    const key = 'batch-reused-1';
    const first = await postBatch({ items: [good(20)] }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    const before = count();
    const other = await postBatch({ items: [good(21)] }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency-key-reused');
    expect(count()).toBe(before);
  });

  // Guards against: the envelope was checked before the key, so a reused key with a bad envelope
  // got a 400 where a single submission's reused key gets the 422 whatever its body.
  it('tells a reused key so before checking the envelope, as a single submission does', async () => {
    const key = 'batch-reused-envelope';
    expect((await postBatch({ items: [good(22)] }, { 'idempotency-key': key })).statusCode).toBe(200);
    for (const body of [{}, { items: [] }, { items: 'none' }]) {
      const other = await postBatch(body, { 'idempotency-key': key });
      expect([other.statusCode, other.json().code], JSON.stringify(body)).toEqual([422, 'idempotency-key-reused']);
    }
    // A fresh key with a bad envelope is still a 400, and keeps nothing: the key is free afterwards.
    const fresh = 'batch-bad-envelope-fresh';
    expect(problemOf(await postBatch({ items: [] }, { 'idempotency-key': fresh }), 400).code).toBe('validation-error');
    expect((await postBatch({ items: [good(23)] }, { 'idempotency-key': fresh })).statusCode).toBe(200);
  });

  // Guards against: the key of a batch whose items were all refused not being kept, as nothing was
  // stored. A retry then ran again (new requestIds, no Idempotent-Replayed), and another body under
  // the same key was accepted and stored instead of getting 422.
  it('keeps the key of a batch whose items were all refused: a retry replays it, another body is a 422', async () => {
    const key = 'batch-all-refused-1';
    const payload = { items: [{ answers: [] }] };
    const before = count();
    const first = await postBatch(payload, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect((first.json() as { items: Item[] }).items.map((i) => i.status)).toEqual([400]);
    expect(count()).toBe(before);

    const retry = await postBatch(payload, { 'idempotency-key': key });
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(first.body);

    const other = await postBatch({ items: [good(40)] }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency-key-reused');
    expect(count()).toBe(before);
  });

  // Guards against: the request hash wrote a number too large for a double (1e999, read as Infinity)
  // as null, so a retry that sent null in its place was replayed the first body's problems.
  it('tells a body with 1e999 from one with null or -1e999 under the same key', async () => {
    const key = 'batch-infinity-1';
    const withValue = (value: string) => {
      const item = JSON.stringify(good(50)).replace('"value":1', `"value":${value}`);
      return `{"items":[${item}]}`;
    };
    const first = await postBatch(withValue('1e999'), { 'idempotency-key': key });
    expect((first.json() as { items: Item[] }).items.map((i) => i.status)).toEqual([400]);
    expect(JSON.stringify(first.json())).toContain('"message":"is a number too large to read (beyond ±1.8e308)"');
    expect((await postBatch(withValue('1e999'), { 'idempotency-key': key })).headers['idempotent-replayed']).toBe('true');
    for (const other of ['null', '-1e999']) {
      const retry = await postBatch(withValue(other), { 'idempotency-key': key });
      expect(retry.statusCode, other).toBe(422);
      expect(retry.json().code, other).toBe('idempotency-key-reused');
    }
  });

  it('keeps batch keys apart from single-assessment keys', async () => {
    const key = 'shared-key-1';
    const single = await app.inject({ method: 'POST', url: '/v1/assessments', headers: { 'idempotency-key': key }, payload: good(30) });
    expect(single.statusCode).toBe(201);
    const batch = await postBatch({ items: [good(31)] }, { 'idempotency-key': key });
    expect(batch.statusCode).toBe(200);
    expect(batch.headers['idempotent-replayed']).toBeUndefined();
  });
});

/** A connection of its own to a listening server, open and with its errors ignored. */
async function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/**
 * Posts a 500-item batch over a connection of its own and resolves once its first item is being
 * scored: the socket, and how many items have been scored so far.
 */
async function batchUnderWay(server: App, port: number): Promise<{ socket: Socket; scored: () => number }> {
  let scored = 0;
  const newId = server.repository.newAssessmentId.bind(server.repository);
  vi.spyOn(server.repository, 'newAssessmentId').mockImplementation(() => {
    scored++;
    return newId();
  });
  // Labels of 200 four-byte characters make the answer about 5.2 MB, more than the kernel holds for a
  // client that stops reading (with BBR the server's send buffer grows to its 4 MiB limit).
  const body = JSON.stringify({ items: Array.from({ length: 500 }, (_, n) => good(n, { respondent: '\u{1F642}'.repeat(200) })) });
  const socket = await openSocket(port);
  socket.write(
    `POST ${URL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  while (scored === 0) await sleep(1);
  return { socket, scored: () => scored };
}

describe('batches under way at once', () => {
  // Guards against: every batch sent in parallel was scored at once, each holding about 40 MB (16
  // parallel 500-item batches took the server to 715 MB), though two cores score them no faster.
  it('answers a batch beyond MAX_CONCURRENT_BATCHES 503 with Retry-After before reading it, and takes the next once one is done', async () => {
    const limited = await buildTestApp({ maxConcurrentBatches: 1 });
    try {
      // From two clients: a second batch of the client holding the one place is its own doing (429, below).
      const send = (remoteAddress?: string) => postBatch({ items: [good(1), good(2)] }, {}, { target: limited, remoteAddress });
      const [first, second] = await Promise.all([send(), send('192.0.2.1')]);
      expect(first?.statusCode).toBe(200);
      expect(second?.statusCode).toBe(503);
      expect(second?.headers['retry-after']).toBe('1');
      expect(second?.json()).toMatchObject({ code: 'overloaded', detail: expect.stringMatching(/^At most 1 batch is scored at once/) });
      expect(limited.repository.countAssessments()).toBe(2);
      // The slot is given back once the answer is sent, whatever it was: a refused batch, then a good one.
      const refused = await postBatch({ items: [] }, {}, { target: limited });
      expect(refused.statusCode).toBe(400);
      expect((await send()).statusCode).toBe(200);
      // Single submissions are not batches: they are never refused for it.
      const singles = await Promise.all(
        [3, 4].map((n) =>
          limited.inject({
            method: 'POST',
            url: '/v1/assessments',
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(good(n)),
          }),
        ),
      );
      expect(singles.map((r) => r.statusCode)).toEqual([201, 201]);
    } finally {
      await limited.close();
    }
  });

  // Guards against: a batch refused 503 for want of a place wrote nothing to the log at warn, though
  // every 5xx is to be logged with its request id.
  it('logs a batch refused 503 at warn with its request id, a line a second at most', async () => {
    const lines: string[] = [];
    const limited = await buildTestApp({
      maxConcurrentBatches: 1,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    try {
      const send = (remoteAddress: string) => postBatch({ items: [good(1)] }, {}, { target: limited, remoteAddress });
      const answers = await Promise.all([send('192.0.2.1'), send('192.0.2.2'), send('192.0.2.3')]);
      const refused = answers.filter((r) => r.statusCode === 503);
      expect(refused).toHaveLength(2);
      const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.code === 'overloaded');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 40, requestId: refused[0]?.json().requestId, alsoRefused: 0 });
      expect(logged[0].msg).toMatch(/^refused: At most 1 batch is scored at once/);
    } finally {
      await limited.close();
    }
  });

  // Guards against (from a review): a batch refused for its client's share, once a 503 logged at warn,
  // went unlogged as a 429, so a client holding its places by not reading its answers went unseen.
  it('logs a batch refused for its client’s share at warn with its request id', async () => {
    const lines: string[] = [];
    const limited = await buildTestApp({
      maxConcurrentBatches: 1,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    try {
      const send = () => postBatch({ items: [good(1)] }, {}, { target: limited });
      const refused = (await Promise.all([send(), send()])).filter((r) => r.statusCode === 429);
      expect(refused).toHaveLength(1);
      const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.code === 'too-many-batches');
      expect(logged).toEqual([expect.objectContaining({ level: 40, requestId: refused[0]?.json().requestId, alsoRefused: 0 })]);
    } finally {
      await limited.close();
    }
  });

  // Guards against: a batch took its place before its body was read, so two clients trickling a byte of
  // body every half second held both places until the request timeout, and every other batch got 503.
  it('holds no place for a batch whose body is still arriving', async () => {
    const limited = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, maxConcurrentBatches: 2 });
    const sockets: Socket[] = [];
    try {
      const { port } = await listenLocally(limited);
      for (let i = 0; i < 2; i++) {
        const socket = await openSocket(port);
        socket.write(`POST ${URL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"items":[`);
        sockets.push(socket);
      }
      await sleep(50);
      const answered = await postBatch({ items: [good(1)] }, {}, { target: limited });
      expect(answered.statusCode).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await limited.close();
    }
  });

  // Guards against: the place was given back when the connection closed, so a client that posted a
  // batch and hung up, again and again, had any number scored at once.
  it('keeps the place of a batch whose client hung up until that batch is scored and stored', async () => {
    const limited = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, maxConcurrentBatches: 1 });
    try {
      const { port } = await listenLocally(limited);
      const { socket, scored } = await batchUnderWay(limited, port);
      socket.destroy();
      await sleep(5);
      const post = () => postBatch({ items: [good(501)] }, {}, { target: limited, remoteAddress: '192.0.2.1' });
      expect(scored()).toBeLessThan(500);
      expect((await post()).statusCode).toBe(503);
      // The abandoned batch is still stored whole, and then its place is free again.
      while (limited.repository.countAssessments() < 500) await sleep(10);
      await sleep(10);
      expect((await post()).statusCode).toBe(200);
      expect(limited.repository.countAssessments()).toBe(501);
    } finally {
      await limited.close();
    }
  }, 20_000);

  // Guards against: the place went back when the handler returned, before the answer (about 5 MB for
  // 500 items) was written out, so clients that sent batches and never read the answers could have
  // any number of them held in memory at once (40 such batches took the server to 911 MB).
  it('keeps the place of a batch until its answer has been read', async () => {
    const limited = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, maxConcurrentBatches: 1 });
    try {
      const { port } = await listenLocally(limited);
      const { socket } = await batchUnderWay(limited, port);
      socket.pause();
      while (limited.repository.countAssessments() < 500) await sleep(10);
      await sleep(50);
      const post = (remoteAddress?: string) => postBatch({ items: [good(501)] }, {}, { target: limited, remoteAddress });
      // Another client finds the server's one place taken; the same client, its own share.
      expect((await post('192.0.2.9')).statusCode).toBe(503);
      expect((await post()).statusCode).toBe(429);
      // Once the client reads its answer, the place is free again.
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      socket.resume();
      let status = 429;
      for (const deadline = Date.now() + 5_000; status === 429 && Date.now() < deadline; await sleep(20))
        status = (await post()).statusCode;
      expect(status).toBe(200);
      expect(received).toBeGreaterThan(500 * 9_000);
      socket.destroy();
    } finally {
      await limited.close();
    }
  }, 20_000);

  // Guards against: one client sending two 500-item batches and never reading the answers held both
  // places for as long as the server waited on them (about 30 s), and could do so again and again.
  it('leaves a place for other clients while one client holds a batch whose answer it does not read', async () => {
    const server = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000, maxConcurrentBatches: 2 });
    try {
      const { port } = await listenLocally(server);
      const { socket } = await batchUnderWay(server, port);
      socket.pause();
      while (server.repository.countAssessments() < 500) await sleep(10);
      const post = (remoteAddress: string) => postBatch({ items: [good(501)] }, {}, { target: server, remoteAddress });
      const same = await post('127.0.0.1');
      expect([same.statusCode, same.headers['retry-after'], same.json().code, same.json().detail]).toEqual([
        429,
        '1',
        'too-many-batches',
        expect.stringMatching(/^At most 1 batch of one client is under way at once/),
      ]);
      expect((await post('192.0.2.7')).statusCode).toBe(200);
      socket.destroy();
    } finally {
      await server.close();
    }
  }, 20_000);

  // Guards against: a batch queued behind unread answers on a pipelined connection never saw its
  // response close when the connection died, so its place was never given back: one connection could
  // leave every later batch refused 503 until a restart.
  it('gives back the places of batches queued on a pipelined connection that dies', async () => {
    const app2 = await buildApp({ databasePath: ':memory:', maxEventLoopDelayMs: 60_000 });
    try {
      const { port } = await listenLocally(app2);
      const socket = await openSocket(port);
      socket.pause();
      const broken = `POST ${URL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{broken`;
      socket.write(`${'GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100)}${broken}${broken}`);
      await sleep(300);
      socket.destroy();
      await sleep(300);
      // Two other clients: one client holds at most one of the two places.
      const batch = (remoteAddress: string) => postBatch({ items: [good(1)] }, {}, { target: app2, remoteAddress });
      expect((await Promise.all([batch('10.0.0.1'), batch('10.0.0.2')])).map((r) => r.statusCode)).toEqual([200, 200]);
    } finally {
      await app2.close();
    }
  }, 20_000);

  // Guards against: the place was taken before the rate limit ran, so a client over its budget was
  // told 503 (and not charged) while the places were full, instead of 429.
  it('tells a client over its write budget 429 even while every place is taken', async () => {
    const app2 = await buildApp({
      databasePath: ':memory:',
      maxEventLoopDelayMs: 60_000,
      maxConcurrentBatches: 1,
      rateLimit: { enabled: true, max: 1, windowMs: 60_000 },
    });
    let socket: Socket | undefined;
    try {
      const { port } = await listenLocally(app2);
      const underWay = await batchUnderWay(app2, port);
      socket = underWay.socket;
      // The same client (127.0.0.1), its one write spent, while its batch holds the one place.
      const second = await postBatch({ items: [good(1)] }, {}, { target: app2, remoteAddress: '127.0.0.1' });
      expect(underWay.scored()).toBeLessThan(500);
      expect(second.statusCode).toBe(429);
    } finally {
      socket?.destroy();
      await app2.close();
    }
  }, 20_000);
});

describe('the batch envelope', () => {
  // Guards against: a body without `items` was told `items` "must be an array", where every other
  // missing field is told it "is required".
  it('says a missing items list is required, beside any unknown field', async () => {
    expect(problemOf(await postBatch({}), 400)).toMatchObject({
      code: 'validation-error',
      errors: [{ field: 'body.items', message: 'is required' }],
    });
    expect(problemOf(await postBatch({ submissions: [] }), 400).errors).toEqual([
      { field: 'body.items', message: 'is required' },
      { field: 'body.submissions', message: 'unknown field' },
    ]);
  });

  it('says items that are not a list must be an array', async () => {
    expect(problemOf(await postBatch({ items: {} }), 400).errors).toEqual([{ field: 'body.items', message: 'must be an array' }]);
  });
});
