import type { Socket } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { MAX_ANSWERS, MAX_BATCH_ITEMS } from '../src/schemas/assessment.js';
import { buildTestApp } from './helpers.js';
import { type Exchange, exchange, listenLocally } from './support/http.js';
import { responseProblems } from './support/openapi.js';

const KiB = 1024;

function answersFor(app: App, offset = 0) {
  return app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: ((i + offset) % 5) + 1 }));
}

/** Valid JSON of exactly `size` bytes: the value, then blanks (JSON allows any amount of whitespace). */
function paddedJson(value: unknown, size: number): string {
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) > size) throw new Error(`${Buffer.byteLength(text)} bytes do not fit in ${size}`);
  return text + ' '.repeat(size - Buffer.byteLength(text));
}

function post(app: App, url: string, payload: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload });
}

/** The response is documented for its operation and status, and an error is problem+json (but for /ready's own 503). */
function expectDocumented(method: string, url: string, response: LightMyRequestResponse, status: number) {
  expect(response.statusCode, `${method} ${url}: ${response.body.slice(0, 300)}`).toBe(status);
  if (status >= 400 && url !== '/ready') expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(responseProblems(method, url, status, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

function fieldsOf(response: LightMyRequestResponse): string[] {
  return ((response.json().errors ?? []) as { field: string }[]).map((e) => e.field);
}

describe('body limits', () => {
  it('refuses a body over bodyLimit with 413 problem+json, and accepts one under it', async () => {
    const app = await buildTestApp({ bodyLimit: 2 * KiB });
    try {
      const submission = { answers: answersFor(app).slice(0, 10) };
      const over = await post(app, '/v1/assessments', paddedJson(submission, 3 * KiB));
      expectDocumented('POST', '/v1/assessments', over, 413);
      expect(over.json().code).toBe('payload-too-large');
      expect(over.json().detail).toBe('The body is larger than the 2048 bytes this operation accepts.');
      expectDocumented('POST', '/v1/assessments/preview', await post(app, '/v1/assessments/preview', paddedJson(submission, 3 * KiB)), 413);
      expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', paddedJson(submission, 2 * KiB - 16)), 201);
      expect(app.repository.countAssessments()).toBe(1);
    } finally {
      await app.close();
    }
  });

  describe('with the default options', () => {
    let app: App;
    beforeAll(async () => {
      app = await buildTestApp();
    });
    afterAll(async () => {
      await app.close();
    });

    it('limits bodies to 256 KiB', async () => {
      const submission = { answers: answersFor(app) };
      expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', paddedJson(submission, 300 * KiB)), 413);
      expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', paddedJson(submission, 256 * KiB + 1)), 413);
      expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', paddedJson(submission, 256 * KiB)), 201);
    });

    it('lets the batch route take more than the general limit, up to 4 MiB', async () => {
      const items = Array.from({ length: 40 }, (_, i) => ({ answers: answersFor(app, i) }));
      const body = paddedJson({ items }, 600 * KiB);
      // Too big for a single submission...
      expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', body), 413);
      // ...but fine for a batch.
      const accepted = expectDocumented('POST', '/v1/assessments/batch', await post(app, '/v1/assessments/batch', body), 200);
      expect(accepted.json().items).toHaveLength(40);
      expectDocumented(
        'POST',
        '/v1/assessments/batch',
        await post(app, '/v1/assessments/batch', paddedJson({ items }, 4 * KiB * KiB + 1)),
        413,
      );
    });
  });

  it('applies batchBodyLimit to the batch route only', async () => {
    const app = await buildTestApp({ bodyLimit: 2 * KiB, batchBodyLimit: 16 * KiB });
    try {
      const items = [{ answers: answersFor(app).slice(0, 9) }];
      const before = app.repository.countAssessments();
      expectDocumented('POST', '/v1/assessments/batch', await post(app, '/v1/assessments/batch', paddedJson({ items }, 12 * KiB)), 200);
      const overBatch = expectDocumented(
        'POST',
        '/v1/assessments/batch',
        await post(app, '/v1/assessments/batch', paddedJson({ items }, 17 * KiB)),
        413,
      );
      expect(overBatch.json().detail).toBe(`The body is larger than the ${16 * KiB} bytes this operation accepts.`);
      expectDocumented('POST', '/v1/assessments/preview', await post(app, '/v1/assessments/preview', paddedJson(items[0], 12 * KiB)), 413);
      expect(app.repository.countAssessments()).toBe(before + 1);
    } finally {
      await app.close();
    }
  });
});

describe('sizes bounded by the schemas', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('bounds the respondent label to 200 characters', async () => {
    const answers = answersFor(app);
    const ok = await post(app, '/v1/assessments', JSON.stringify({ answers, respondent: 'r'.repeat(200) }));
    expectDocumented('POST', '/v1/assessments', ok, 201);
    const long = await post(app, '/v1/assessments', JSON.stringify({ answers, respondent: 'r'.repeat(201) }));
    expectDocumented('POST', '/v1/assessments', long, 400);
    expect(fieldsOf(long)).toContain('body.respondent');
  });

  it(`bounds a submission to ${MAX_ANSWERS} answers`, async () => {
    const all = answersFor(app);
    const many = (n: number) => Array.from({ length: n }, (_, i) => all[i % all.length]);
    // 200 answers are well-formed (repeats make them unscorable: 422)...
    expectDocumented(
      'POST',
      '/v1/assessments/preview',
      await post(app, '/v1/assessments/preview', JSON.stringify({ answers: many(200) })),
      422,
    );
    // ...201 are malformed.
    const tooMany = await post(app, '/v1/assessments/preview', JSON.stringify({ answers: many(201) }));
    expectDocumented('POST', '/v1/assessments/preview', tooMany, 400);
    expect(fieldsOf(tooMany)).toContain('body.answers');
    expect(MAX_ANSWERS).toBe(200);
  });

  it(`bounds a batch to ${MAX_BATCH_ITEMS} items`, async () => {
    const item = { answers: answersFor(app).slice(0, 8) };
    const full = await post(app, '/v1/assessments/batch', JSON.stringify({ items: Array.from({ length: 500 }, () => item) }));
    expectDocumented('POST', '/v1/assessments/batch', full, 200);
    expect(full.json().items).toHaveLength(500);
    const over = await post(app, '/v1/assessments/batch', JSON.stringify({ items: Array.from({ length: 501 }, () => item) }));
    expectDocumented('POST', '/v1/assessments/batch', over, 400);
  });

  it('bounds a comparison to 5 roles', async () => {
    // Five well-formed slugs pass validation (and fail on the unknown ones); six do not.
    const five = '/v1/comparisons?roles=tech-lead,engineering-manager,role-c,role-d,role-e';
    expectDocumented('GET', five, await app.inject(five), 404);
    const six = `${five},role-f`;
    const response = expectDocumented('GET', six, await app.inject(six), 400);
    expect(fieldsOf(response).join()).toContain('roles');
  });

  it('bounds limit to 200 and q to 100 characters', async () => {
    expectDocumented('GET', '/v1/competencies?limit=200', await app.inject('/v1/competencies?limit=200'), 200);
    expectDocumented('GET', '/v1/competencies?limit=201', await app.inject('/v1/competencies?limit=201'), 400);
    expectDocumented('GET', '/v1/roles?limit=201', await app.inject('/v1/roles?limit=201'), 400);
    const q100 = `/v1/competencies?q=${'q'.repeat(100)}`;
    expectDocumented('GET', q100, await app.inject(q100), 200);
    const q101 = `/v1/competencies?q=${'q'.repeat(101)}`;
    const response = expectDocumented('GET', q101, await app.inject(q101), 400);
    expect(fieldsOf(response)).toContain('querystring.q');
  });

  it('bounds the Idempotency-Key to 255 visible ASCII characters', async () => {
    const body = JSON.stringify({ answers: answersFor(app) });
    expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', body, { 'idempotency-key': 'k'.repeat(255) }), 201);
    expectDocumented('POST', '/v1/assessments', await post(app, '/v1/assessments', body, { 'idempotency-key': 'k'.repeat(256) }), 400);
  });

  it('gives each kind of bad Idempotency-Key one message that names it', async () => {
    const body = JSON.stringify({ answers: answersFor(app) });
    const field = 'headers.idempotency-key';
    for (const [key, message] of [
      ['', 'must not be empty'],
      // A header given twice, as Node hands it over.
      ['key-1, key-2', 'is given more than once: give it once'],
      ['k'.repeat(256), 'must have at most 255 characters'],
      ['two words', 'must be visible ASCII characters: no spaces or control characters'],
    ] as const) {
      const response = await post(app, '/v1/assessments', body, { 'idempotency-key': key });
      expect(expectDocumented('POST', '/v1/assessments', response, 400).json().errors, key).toEqual([{ field, message }]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Timeouts, on a real server

/** Writes `chunk` every `everyMs` until the socket is closed. */
function dribble(socket: Socket, first: string, chunk: string, everyMs: number) {
  socket.write(first);
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(timer);
    else socket.write(chunk);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

const cutOff = (result: Exchange) => result.closedAfterMs !== null || /^HTTP\/1\.1 408/.test(result.data);

describe('request timeout (requestTimeoutMs: 1000)', () => {
  let app: App;
  let port: number;
  beforeAll(async () => {
    app = await buildApp({ databasePath: ':memory:', requestTimeoutMs: 1000 });
    ({ port } = await listenLocally(app));
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers a complete request on the same server', async () => {
    const result = await exchange(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 3000);
    expect(result.data).toMatch(/^HTTP\/1\.1 200/);
  });

  it('cuts off a client that stops in the middle of its headers', async () => {
    const result = await exchange(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n'), 3000);
    expect(cutOff(result), JSON.stringify(result)).toBe(true);
    expect(result.data).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('cuts off a client that sends 10 of the 100 body bytes it announced', async () => {
    const result = await exchange(
      port,
      (s) => s.write('POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"answers"'),
      3000,
    );
    expect(cutOff(result), JSON.stringify(result)).toBe(true);
    expect(app.repository.countAssessments()).toBe(0);
  });

  it('cuts off a slow client that keeps sending and never finishes (slow loris)', { timeout: 10_000 }, async () => {
    // A byte now and then defeats an idle timeout: only a whole-request deadline stops these.
    const [headers, body] = await Promise.all([
      exchange(port, (s) => dribble(s, 'GET /health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 250), 3500),
      exchange(
        port,
        (s) =>
          dribble(
            s,
            'POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
            ' ',
            250,
          ),
        3500,
      ),
    ]);
    expect(cutOff(headers), `dribbled headers: ${JSON.stringify(headers)}`).toBe(true);
    expect(cutOff(body), `dribbled body: ${JSON.stringify(body)}`).toBe(true);
  });
});

describe('keep-alive timeout', () => {
  let short: App;
  let long: App;
  let shortPort: number;
  let longPort: number;
  beforeAll(async () => {
    short = await buildApp({ databasePath: ':memory:', keepAliveTimeoutMs: 500 });
    long = await buildApp({ databasePath: ':memory:', keepAliveTimeoutMs: 4000 });
    ({ port: shortPort } = await listenLocally(short));
    ({ port: longPort } = await listenLocally(long));
  });
  afterAll(async () => {
    await Promise.all([short.close(), long.close()]);
  });

  const request = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';
  const responses = (data: string) => data.match(/HTTP\/1\.1 200/g)?.length ?? 0;

  it('keeps an idle connection open for reuse within keepAliveTimeoutMs, then closes it', async () => {
    const result = await exchange(
      shortPort,
      (s) => {
        s.write(request);
        setTimeout(() => s.writable && s.write(request), 200);
      },
      4000,
    );
    expect(responses(result.data)).toBe(2);
    // Closed by the server soon after the 500 ms of idling (Node allows up to a second of grace).
    expect(result.closedAfterMs).not.toBeNull();
    expect(result.closedAfterMs as number).toBeGreaterThanOrEqual(600);
    expect(result.closedAfterMs as number).toBeLessThan(3200);
  });

  it('honours a longer keepAliveTimeoutMs (the option is what closes the connection)', async () => {
    const result = await exchange(longPort, (s) => s.write(request), 3200);
    expect(responses(result.data)).toBe(1);
    expect(result.closedAfterMs).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Rate limiting

describe('rate limiting (max 3 per minute)', () => {
  const limited = { enabled: true, max: 3, windowMs: 60_000 };
  const apps: App[] = [];
  async function appWith(trustProxy?: boolean) {
    const app = await buildTestApp({ rateLimit: limited, ...(trustProxy === undefined ? {} : { trustProxy }) });
    apps.push(app);
    return app;
  }
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  async function expectLimitedOnFourth(
    app: App,
    url: string,
    okStatus: number,
    headersOf: (i: number) => Record<string, string> = () => ({}),
  ) {
    const body = JSON.stringify({ answers: answersFor(app) });
    for (let i = 0; i < 3; i++) expectDocumented('POST', url, await post(app, url, body, headersOf(i)), okStatus);
    const fourth = expectDocumented('POST', url, await post(app, url, body, headersOf(3)), 429);
    const retryAfter = Number(fourth.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after ${fourth.headers['retry-after']}`).toBe(true);
    expect(fourth.json().code).toBe('rate-limited');
    return fourth;
  }

  it('answers the 4th POST /v1/assessments/preview of a client with 429 and Retry-After', async () => {
    await expectLimitedOnFourth(await appWith(), '/v1/assessments/preview', 200);
  });

  it('answers the 4th POST /v1/assessments with 429, and stores nothing for it', async () => {
    const app = await appWith();
    await expectLimitedOnFourth(app, '/v1/assessments', 201);
    expect(app.repository.countAssessments()).toBe(3);
  });

  it.each([
    ['broken percent-encoding', '?x=%FF', 'bad-url'],
    ['33 parameters', `?${Array.from({ length: 33 }, (_, i) => `p${i}=1`).join('&')}`, 'validation-error'],
  ])('counts a write refused for its query string (%s), with the limit headers, and answers the 4th with 429', async (_, query, code) => {
    const app = await appWith();
    const url = `/v1/assessments${query}`;
    const body = JSON.stringify({ answers: answersFor(app) });
    for (let i = 0; i < 3; i++) {
      const refused = expectDocumented('POST', '/v1/assessments', await post(app, url, body), 400);
      expect(refused.json().code).toBe(code);
      expect(refused.headers['x-ratelimit-remaining'], `request ${i + 1}`).toBe(String(2 - i));
    }
    expect((await post(app, url, body)).statusCode).toBe(429);
    expect((await post(app, '/v1/assessments', body)).statusCode).toBe(429);
    expect(app.repository.countAssessments()).toBe(0);
  });

  it('does not limit the GET routes', async () => {
    const app = await appWith();
    await expectLimitedOnFourth(app, '/v1/assessments/preview', 200);
    for (const url of ['/v1/roles', '/v1/competencies', '/v1/assessment/questions', '/v1/meta', '/health']) {
      for (let i = 0; i < 6; i++) expect((await app.inject(url)).statusCode, url).toBe(200);
    }
  });

  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    const app = await appWith(false);
    await expectLimitedOnFourth(app, '/v1/assessments/preview', 200, (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` }));
    const again = await post(app, '/v1/assessments/preview', JSON.stringify({ answers: answersFor(app) }), {
      'x-forwarded-for': '198.51.100.77',
    });
    expect(again.statusCode).toBe(429);
  });

  it('counts X-Forwarded-For addresses as different clients behind a trusted proxy', async () => {
    const app = await appWith(true);
    const body = JSON.stringify({ answers: answersFor(app) });
    for (let i = 0; i < 8; i++) {
      const response = await post(app, '/v1/assessments/preview', body, { 'x-forwarded-for': `203.0.113.${i + 1}` });
      expect(response.statusCode, `client ${i + 1}`).toBe(200);
    }
    // One of those clients is still limited on its own 4th request.
    await expectLimitedOnFourth(app, '/v1/assessments/preview', 200, () => ({ 'x-forwarded-for': '198.51.100.9' }));
  });
});

// ---------------------------------------------------------------------------------------------
// Load shedding

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollFor(what: string, check: () => Promise<boolean>, withinMs: number) {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
}

/** Blocks the event loop for `ms`. */
function busy(ms: number) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Block the event loop.
  }
}

describe('load shedding (maxEventLoopDelayMs: 10)', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp({ maxEventLoopDelayMs: 10 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('sheds KB and write requests with 503 while the event loop is blocked, keeps the probes up, and recovers', {
    timeout: 45_000,
  }, async () => {
    // Building the app (seeding) may itself count as a delay in the first sample: start from a calm server.
    await pollFor('a calm server', async () => (await app.inject('/v1/roles')).statusCode === 200, 15_000);
    const blocker = setInterval(() => busy(300), 20);
    try {
      let shed: LightMyRequestResponse | undefined;
      await pollFor(
        'a 503 from GET /v1/roles',
        async () => {
          const response = await app.inject('/v1/roles');
          if (response.statusCode === 503) shed = response;
          return shed !== undefined;
        },
        8000,
      );
      const response = shed as LightMyRequestResponse;
      expectDocumented('GET', '/v1/roles', response, 503);
      expect(response.json().code).toBe('overloaded');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);

      const before = app.repository.countAssessments();
      const write = await post(app, '/v1/assessments', JSON.stringify({ answers: answersFor(app) }));
      expectDocumented('POST', '/v1/assessments', write, 503);
      expect(app.repository.countAssessments()).toBe(before);

      const ready = expectDocumented('GET', '/ready', await app.inject('/ready'), 503);
      expect(ready.json().checks.underPressure).toBe(true);
      expect(ready.json().status).toBe('not-ready');
      expectDocumented('GET', '/health', await app.inject('/health'), 200);
    } finally {
      clearInterval(blocker);
    }

    await pollFor('GET /v1/roles to answer 200 again', async () => (await app.inject('/v1/roles')).statusCode === 200, 8000);
    const ready = expectDocumented('GET', '/ready', await app.inject('/ready'), 200);
    expect(ready.json().checks.underPressure).toBe(false);
  });
});

// Guards against: a warning line for every request shed, 28,000 lines (5.7 MB) of log in one flood.
describe('the log while shedding load', () => {
  it('writes one warning a second at most, saying how many requests it left out', { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const app = await buildTestApp({
      maxEventLoopDelayMs: 10,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    onTestFinished(() => app.close());
    await pollFor('a calm server', async () => (await app.inject('/v1/roles')).statusCode === 200, 15_000);
    const blocker = setInterval(() => busy(300), 20);
    try {
      await pollFor('a 503 from GET /v1/roles', async () => (await app.inject('/v1/roles')).statusCode === 503, 8000);
      const statuses = (await Promise.all(Array.from({ length: 40 }, () => app.inject('/v1/roles')))).map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(20);
      // A second on, the next request shed writes the line that counts them.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await pollFor('another 503', async () => (await app.inject('/v1/roles')).statusCode === 503, 8000);
    } finally {
      clearInterval(blocker);
    }
    const shed = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'shedding load: event loop delayed');
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.length).toBeLessThanOrEqual(3);
    expect(Math.max(...shed.map((entry) => entry.alsoShed))).toBeGreaterThan(20);
  });
});

describe('load shedding under a limit longer than a second (maxEventLoopDelayMs: 2000)', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp({ maxEventLoopDelayMs: 2000 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('does not shed after a stall of 1.5 s that begins just after a reading of the event loop', { timeout: 20_000 }, async () => {
    const delay = () => app.memoryUsage().eventLoopDelay;
    // under-pressure reads the process's memory just before it reads the event loop's delay (and
    // starts a new interval): a poll on every turn of the loop sees a new call right after that
    // reading, where pollFor's 50 ms sleeps would come too late.
    const readings = vi.spyOn(process, 'memoryUsage');
    onTestFinished(() => readings.mockRestore());
    const calls = readings.mock.calls.length;
    await new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + 10_000;
      const poll = () => {
        if (readings.mock.calls.length > calls) resolve();
        else if (performance.now() > deadline) reject(new Error('no reading of the event loop within 10 s'));
        else setImmediate(poll);
      };
      poll();
    });
    // Under a 1 s reading interval this stall would leave the next interval without a sample, read
    // as an infinite delay: every request would then be shed until the reading after it.
    busy(1500);
    await sleep(20);
    expect(delay()).toBeLessThan(2000);
    expect(app.isUnderPressure()).toBe(false);
    expect((await app.inject('/v1/roles')).statusCode).toBe(200);
    expect((await app.inject('/ready')).statusCode).toBe(200);
  });
});
