import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { MAX_HELD_DOCUMENTS, RecentAssessments } from '../src/services/recent-assessments.js';
import { buildTestApp } from './helpers.js';
import { readRawSeed } from './support/fixtures.js';
import { listenLocally } from './support/http.js';
import { countStatements } from './support/statements.js';

const QUESTIONS = readRawSeed().questions.questions;
const submission = (shift = 0) => ({ answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: ((i + shift) % 5) + 1 })) });

describe('RecentAssessments', () => {
  const json = (n: number, fill = 'x') => `{"pad":"${fill.repeat(n - 10)}"}`;

  it('keeps documents around its ring, the oldest overwritten first', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    recent.add('b', json(100, 'b'));
    expect(recent.usage).toEqual({ count: 2, bytes: 200 });
    // c does not fit after b: it goes to the start of the ring, over a.
    recent.add('c', json(100, 'c'));
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')?.toString()).toBe(json(100, 'b'));
    expect(recent.get('c')?.toString()).toBe(json(100, 'c'));
    // d goes after c, over b.
    recent.add('d', json(100, 'd'));
    expect(recent.get('b')).toBeUndefined();
    expect(recent.get('c')?.toString()).toBe(json(100, 'c'));
    expect(recent.get('d')?.toString()).toBe(json(100, 'd'));
    expect(recent.usage).toEqual({ count: 2, bytes: 200 });
  });

  /** The ring's bytes, to look for what is left of a document. */
  const ringOf = (recent: RecentAssessments) => (recent as unknown as { ring: Buffer }).ring.toString('latin1');

  it('forgets an erased document, its bytes zeroed, and leaves nothing of one it pushed out', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    recent.add('b', json(100, 'b'));
    recent.delete('b');
    expect(recent.get('b')).toBeUndefined();
    expect(ringOf(recent)).not.toContain('b');
    expect(recent.get('a')?.toString()).toBe(json(100, 'a'));
    // A shorter document over a: none of a's tail is left past it.
    recent.add('c', json(60, 'c'));
    expect(recent.get('a')).toBeUndefined();
    expect(ringOf(recent)).not.toContain('aaaa');
  });

  it('once closed keeps nothing, and what it kept is zeroed', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    recent.close();
    expect(recent.get('a')).toBeUndefined();
    expect(ringOf(recent)).not.toContain('a');
    recent.add('b', json(100, 'b'));
    expect([recent.get('b'), recent.usage]).toEqual([undefined, { count: 0, bytes: 0 }]);
  });

  it('reads do not make an assessment newer', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100));
    recent.add('b', json(100));
    expect(recent.get('a')).toBeDefined();
    recent.add('c', json(100));
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')).toBeDefined();
  });

  it('gives a copy: a read is not changed by documents written over its bytes later', () => {
    const recent = new RecentAssessments(100);
    recent.add('a', json(100, 'a'));
    const read = recent.get('a');
    recent.add('b', json(100, 'b'));
    expect(recent.get('a')).toBeUndefined();
    expect(read?.toString()).toBe(json(100, 'a'));
  });

  it('keeps only the newest document under an id stored again', () => {
    const recent = new RecentAssessments(1000);
    recent.add('a', json(100));
    recent.add('a', json(300, 'y'));
    expect(recent.usage).toEqual({ count: 1, bytes: 300 });
    expect(recent.get('a')?.toString()).toBe(json(300, 'y'));
  });

  it('keeps nothing larger than the ring, nor anything with a ring of 0 bytes', () => {
    const small = new RecentAssessments(50);
    small.add('a', json(40));
    small.add('a', json(100));
    expect(small.get('a')).toBeUndefined();
    const none = new RecentAssessments(0);
    none.add('b', json(20));
    expect(none.usage).toEqual({ count: 0, bytes: 0 });
  });

  it('counts bytes, not characters', () => {
    const recent = new RecentAssessments(1000);
    recent.add('a', '{"name":"Zoë"}');
    expect(recent.usage.bytes).toBe(Buffer.byteLength('{"name":"Zoë"}'));
    expect(recent.get('a')?.toString()).toBe('{"name":"Zoë"}');
  });

  // Guards against: a document that wraps to the start of the ring evicting only the slots that lie
  // before its end there, and keeping those between the head and the ring's end whose bytes it also
  // claimed (and those after a survivor), so a later read gave back another document's bytes.
  it('drops every slot a wrapping document claims, at the ring end and at its start', () => {
    const recent = new RecentAssessments(100);
    // a [0,30) b [30,70) c [70,100): the ring is full.
    recent.add('a', json(30, 'a'));
    recent.add('b', json(40, 'b'));
    recent.add('c', json(30, 'c'));
    // d wraps to [0,30), over a.
    recent.add('d', json(30, 'd'));
    // e goes to [30,70), over b.
    recent.add('e', json(40, 'e'));
    // f does not fit after e (70 + 40 > 100): it wraps to [0,40), taking c (the bytes from 70 to the
    // end are given up), d and the start of e.
    recent.add('f', json(40, 'f'));
    for (const gone of ['a', 'b', 'c', 'd', 'e']) expect(recent.get(gone), gone).toBeUndefined();
    expect(recent.get('f')?.toString()).toBe(json(40, 'f'));
    expect(recent.usage).toEqual({ count: 1, bytes: 40 });
  });

  const zeroed = (view: Buffer) => view.every((byte) => byte === 0);

  // Guards against: a response still being written from the ring (a view) reading the bytes of a
  // later document, or zeros, because the ring moved on under it.
  it('writes no document over a held view: later ones go past it, and its bytes are zeroed once let go', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    recent.add('b', json(100, 'b'));
    const view = recent.view('a') as Buffer;
    expect(view.toString()).toBe(json(100, 'a'));
    const letGo = recent.hold(view);
    // c does not fit after b: at the ring's start a's held bytes are in the way, so it goes past them, over b.
    recent.add('c', json(100, 'c'));
    expect([recent.get('a'), recent.get('b')]).toEqual([undefined, undefined]);
    expect(recent.get('c')?.toString()).toBe(json(100, 'c'));
    recent.add('d', json(100, 'd'));
    expect(recent.get('d')?.toString()).toBe(json(100, 'd'));
    expect(view.toString()).toBe(json(100, 'a'));
    letGo();
    expect(zeroed(view)).toBe(true);
    // Let go, its bytes take the next document that wraps.
    recent.add('e', json(100, 'e'));
    expect(recent.get('e')?.toString()).toBe(json(100, 'e'));
    expect(recent.get('d')?.toString()).toBe(json(100, 'd'));
  });

  it('zeroes the held bytes of a document erased, or of one kept when it closes, only once the last hold is let go', () => {
    const recent = new RecentAssessments(1000);
    recent.add('a', json(100, 'a'));
    recent.add('b', json(100, 'b'));
    const a = recent.view('a') as Buffer;
    const letGoOfA = recent.hold(a);
    recent.delete('a');
    expect(recent.get('a')).toBeUndefined();
    expect(a.toString()).toBe(json(100, 'a'));
    const b = recent.view('b') as Buffer;
    const first = recent.hold(b);
    const second = recent.hold(b);
    recent.close();
    expect(recent.get('b')).toBeUndefined();
    expect(b.toString()).toBe(json(100, 'b'));
    letGoOfA();
    expect(zeroed(a)).toBe(true);
    // Letting go twice lets go of one hold only.
    first();
    first();
    expect(b.toString()).toBe(json(100, 'b'));
    second();
    expect(zeroed(b)).toBe(true);
    expect(ringOf(recent)).not.toMatch(/[ab]/);
  });

  it('keeps no new document that could only go over held bytes, and drops nothing for it', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    recent.add('b', json(100, 'b'));
    recent.hold(recent.view('a') as Buffer);
    recent.hold(recent.view('b') as Buffer);
    recent.add('c', json(100, 'c'));
    expect(recent.get('c')).toBeUndefined();
    expect(recent.get('a')?.toString()).toBe(json(100, 'a'));
    expect(recent.get('b')?.toString()).toBe(json(100, 'b'));
  });

  // Guards against: clients that stop reading holding as much of the ring as they like, each new
  // document then walking all their holds to find its place.
  it('gives copies, which need no hold, while MAX_HELD_DOCUMENTS are held', () => {
    const recent = new RecentAssessments(100 * (MAX_HELD_DOCUMENTS + 2));
    for (let n = 0; n <= MAX_HELD_DOCUMENTS; n++) recent.add(`d${n}`, json(100, 'h'));
    const holds = Array.from({ length: MAX_HELD_DOCUMENTS }, (_, n) => recent.hold(recent.view(`d${n}`) as Buffer));
    const copy = recent.view(`d${MAX_HELD_DOCUMENTS}`) as Buffer;
    recent.hold(copy)();
    recent.delete(`d${MAX_HELD_DOCUMENTS}`);
    expect(copy.toString()).toBe(json(100, 'h'));
    holds[0]?.();
    recent.add('e', json(100, 'e'));
    const view = recent.view('e') as Buffer;
    recent.delete('e');
    expect(zeroed(view)).toBe(true);
  });

  it('holds views of its ring only, and only in the turn they were given', () => {
    const recent = new RecentAssessments(250);
    recent.add('a', json(100, 'a'));
    expect(() => recent.hold(Buffer.from(json(100, 'a')))()).not.toThrow();
    const stale = recent.view('a') as Buffer;
    recent.delete('a');
    expect(() => recent.hold(stale)).toThrow(/only a view of a kept document/);
    expect(recent.view('a')).toBeUndefined();
  });

  // Guards against: a held view changed by any later add, erasure or push-out, held bytes left
  // unzeroed once let go after their document went, and a kept document read back wrong around holds.
  it('keeps every held view as it was and every kept document exact, whatever the order of writes, erasures and holds', () => {
    type Step = { op: 'add' | 'delete' | 'hold' | 'letGo'; id: number; length: number };
    const step = fc.record({
      op: fc.constantFrom<Step['op']>('add', 'add', 'add', 'delete', 'hold', 'letGo'),
      id: fc.integer({ min: 0, max: 12 }),
      length: fc.integer({ min: 30, max: 120 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 1200 }), fc.array(step, { maxLength: 150 }), (capacity, steps) => {
        const recent = new RecentAssessments(capacity);
        const latest = new Map<string, string>();
        const holds: { view: Buffer; text: string; key: string; letGo: () => void }[] = [];
        steps.forEach(({ op, id, length }, n) => {
          const key = `id-${id}`;
          if (op === 'add') {
            const document = `{"key":"${key}","n":${n},"pad":"${'x'.repeat(length)}"}`;
            recent.add(key, document);
            latest.set(key, document);
          } else if (op === 'delete') {
            recent.delete(key);
            latest.delete(key);
          } else if (op === 'hold') {
            const view = recent.view(key);
            if (view !== undefined) holds.push({ view, text: view.toString(), key, letGo: recent.hold(view) });
          } else {
            const held = holds.splice(id % Math.max(1, holds.length), 1)[0];
            if (held === undefined) return;
            held.letGo();
            const stillHeld = holds.some((other) => other.view.byteOffset === held.view.byteOffset);
            const kept = recent.get(held.key)?.toString() === held.text;
            if (!stillHeld && !kept) expect(zeroed(held.view)).toBe(true);
          }
          for (const held of holds) expect(held.view.toString()).toBe(held.text);
        });
        for (const [key, document] of latest) {
          const kept = recent.get(key);
          if (kept !== undefined) expect(kept.toString()).toBe(document);
        }
        expect(recent.usage.bytes).toBeLessThanOrEqual(capacity);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a capacity that is not a whole number of bytes from 0', () => {
    expect(() => new RecentAssessments(-1)).toThrow(RangeError);
    expect(() => new RecentAssessments(1.5)).toThrow(RangeError);
  });

  // Guards against: a slot overwritten while still listed (a read giving another document's bytes),
  // and eviction that stops early or drops recent documents, around many turns of the ring.
  it('gives back exactly what was stored, and keeps every document of the last capacity minus one document', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 600, max: 3000 }),
        fc.array(fc.record({ id: fc.integer({ min: 0, max: 40 }), length: fc.integer({ min: 40, max: 150 }) }), { maxLength: 200 }),
        (capacity, writes) => {
          const recent = new RecentAssessments(capacity);
          const latest = new Map<string, string>();
          const keys: string[] = [];
          const sizes: number[] = [];
          writes.forEach(({ id, length }, n) => {
            const key = `id-${id}`;
            // Unique per write, so the bytes of any other document can never pass for these.
            const document = `{"key":"${key}","n":${n},"pad":"${'x'.repeat(length)}"}`;
            recent.add(key, document);
            latest.set(key, document);
            keys.push(key);
            sizes.push(Buffer.byteLength(document));
          });
          for (const [key, document] of latest) {
            const kept = recent.get(key);
            if (kept !== undefined) expect(kept.toString()).toBe(document);
          }
          expect(recent.usage.bytes).toBeLessThanOrEqual(capacity);
          // Walking back from the newest, every document is kept while the bytes written since
          // (itself included) stay within the capacity less the longest document (one wasted end).
          // Documents are at most 190 bytes and the ring at least 600, so the newest is always checked.
          const longest = Math.max(0, ...sizes);
          let since = 0;
          let checked = 0;
          const seen = new Set<string>();
          for (let n = writes.length - 1; n >= 0; n--) {
            since += sizes[n] as number;
            if (since > capacity - longest) break;
            const key = keys[n] as string;
            if (seen.has(key)) continue;
            seen.add(key);
            expect(recent.get(key)?.toString()).toBe(latest.get(key));
            checked++;
          }
          if (writes.length > 0) expect(checked).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RECENT_ASSESSMENTS_MB', () => {
  it('defaults to 16 MiB, takes 0 to 4096, and refuses anything else', () => {
    expect(loadConfig({}).recentAssessmentsMb).toBe(16);
    expect(loadConfig({ RECENT_ASSESSMENTS_MB: '0' }).recentAssessmentsMb).toBe(0);
    expect(loadConfig({ RECENT_ASSESSMENTS_MB: '4096' }).recentAssessmentsMb).toBe(4096);
    for (const bad of ['-1', '4097', '1.5', 'lots'])
      expect(() => loadConfig({ RECENT_ASSESSMENTS_MB: bad })).toThrow(/RECENT_ASSESSMENTS_MB/);
  });
});

describe('reading back recently stored assessments', () => {
  let statements: ReturnType<typeof countStatements> | undefined;
  const apps: Awaited<ReturnType<typeof buildTestApp>>[] = [];
  afterEach(async () => {
    statements?.restore();
    statements = undefined;
    for (const app of apps.splice(0)) await app.close();
  });

  async function listening(options: Parameters<typeof buildTestApp>[0] = {}) {
    const app = await buildTestApp(options);
    apps.push(app);
    return { app, base: (await listenLocally(app)).base };
  }

  const create = async (base: string, body: unknown) =>
    fetch(`${base}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers a stored assessment byte for byte without SQL, through Fastify and through the cached front', async () => {
    const { app, base } = await listening();
    const created = await create(base, submission());
    expect(created.status).toBe(201);
    const body = await created.text();
    const { id } = JSON.parse(body) as { id: string };
    statements = countStatements();
    for (let i = 0; i < 3; i++) {
      const injected = await app.inject(`/v1/assessments/${id}`);
      expect(injected.statusCode).toBe(200);
      expect(injected.body).toBe(body);
      const fetched = await fetch(`${base}/v1/assessments/${id}`);
      expect(fetched.status).toBe(200);
      expect(await fetched.text()).toBe(body);
      expect(fetched.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
      expect(fetched.headers.get('content-type')).toBe('application/json; charset=utf-8');
    }
    expect(statements.count).toBe(0);
    expect(app.cachedFront.answered).toBeGreaterThan(0);
  });

  // Guards against: a read from memory written without a copy of its bytes, whose unsent part (the
  // socket full) or whole answer (queued behind another) read zeros or another document once the
  // ring moved on.
  it('sends a read from memory whole to a client that reads it late, though newer ones push it out and it is erased meanwhile', async () => {
    // 1 MiB keeps about a hundred assessments: a batch of 150 goes around it.
    const { app, base } = await listening({ recentAssessmentsMb: 1 });
    const created = await create(base, submission(7));
    const body = await created.text();
    const { id } = JSON.parse(body) as { id: string };
    const other = await (await create(base, submission(8))).text();
    const otherId = (JSON.parse(other) as { id: string }).id;
    // The first read goes through Fastify, which gives the cached front its headers.
    expect(await (await fetch(`${base}/v1/assessments/${id}`)).text()).toBe(body);
    const hold = vi.spyOn(RecentAssessments.prototype, 'hold');
    const accepted = once(app.server, 'connection') as Promise<[Socket]>;
    const client = connect(Number(new URL(base).port), '127.0.0.1');
    const [serverSide] = await accepted;
    // It reads nothing until the server's socket holds an answer it could not write yet: one request
    // at a time, each once the answer before it has been written to the socket.
    client.pause();
    let sent = 0;
    while (serverSide.writableLength === 0) {
      if (sent === 5000) throw new Error('the socket took 5,000 answers without filling');
      client.write(`GET /v1/assessments/${id} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      sent++;
      await sleep(1);
    }
    expect(hold).toHaveBeenCalled();
    hold.mockRestore();
    // A read of another assessment, queued behind that answer (as a pipelined request is): it is
    // sent as a copy, since nothing holds its bytes.
    const answered = app.cachedFront.answered;
    client.write(`GET /v1/assessments/${otherId} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    while (app.cachedFront.answered === answered) await sleep(1);
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      payload: { items: Array.from({ length: 150 }, (_, n) => submission(n)) },
    });
    expect(batch.statusCode).toBe(200);
    for (const erased of [id, otherId]) {
      expect((await fetch(`${base}/v1/assessments/${erased}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${base}/v1/assessments/${erased}`)).status).toBe(410);
    }
    const bodies: string[] = [];
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(pending.subarray(0, headEnd).toString('latin1'))?.[1]);
        if (pending.length < headEnd + 4 + length) return;
        bodies.push(pending.subarray(headEnd + 4, headEnd + 4 + length).toString());
        pending = pending.subarray(headEnd + 4 + length);
      }
    });
    client.resume();
    while (bodies.length <= sent) await sleep(5);
    client.destroy();
    expect(bodies.slice(0, -1).filter((read) => read !== body)).toEqual([]);
    expect(bodies.at(-1)).toBe(other);
  });

  it('keeps the good items of a batch, each as its own assessment', async () => {
    const { app } = await listening();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/assessments/batch',
      payload: { items: [submission(1), { answers: [] }, submission(2)] },
    });
    expect(response.statusCode).toBe(200);
    const items = (response.json() as { items: { status: number; assessment?: { id: string } }[] }).items;
    expect(items.map((item) => item.status)).toEqual([201, 400, 201]);
    const stored = items.filter((i) => i.assessment);
    expect(stored).toHaveLength(2);
    statements = countStatements();
    for (const item of stored) {
      const read = await app.inject(`/v1/assessments/${item.assessment?.id}`);
      expect(read.json()).toEqual(item.assessment);
    }
    expect(statements.count).toBe(0);
  });

  it('reads from the database with RECENT_ASSESSMENTS_MB=0, with the same bytes', async () => {
    const { app, base } = await listening({ recentAssessmentsMb: 0 });
    const created = await create(base, submission(3));
    const body = await created.text();
    const { id } = JSON.parse(body) as { id: string };
    statements = countStatements();
    expect((await app.inject(`/v1/assessments/${id}`)).body).toBe(body);
    expect(await (await fetch(`${base}/v1/assessments/${id}`)).text()).toBe(body);
    expect(statements.count).toBeGreaterThanOrEqual(2);
  });

  it('reads older assessments from the database once the budget is spent', async () => {
    // 1 MiB holds about a hundred assessments of 10 KB.
    const { app } = await listening({ recentAssessmentsMb: 1 });
    const first = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(4) });
    const firstBody = first.body;
    const items = Array.from({ length: 150 }, (_, n) => submission(n));
    expect((await app.inject({ method: 'POST', url: '/v1/assessments/batch', payload: { items } })).statusCode).toBe(200);
    statements = countStatements();
    const read = await app.inject(`/v1/assessments/${(first.json() as { id: string }).id}`);
    expect(read.body).toBe(firstBody);
    expect(statements.count).toBeGreaterThan(0);
  });

  it('keeps nothing whose commit failed: its id reads 404 from the database', async () => {
    const { app } = await listening();
    const newId = vi.spyOn(app.repository, 'newAssessmentId');
    const commit = vi.spyOn(app.repository, 'saveAssessmentGroups').mockImplementation(() => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    });
    const failed = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(5) });
    expect(failed.statusCode).toBe(500);
    commit.mockRestore();
    expect(newId).toHaveBeenCalledTimes(1);
    const { id } = newId.mock.results.at(0)?.value ?? { id: 'none' };
    statements = countStatements();
    expect((await app.inject(`/v1/assessments/${id}`)).statusCode).toBe(404);
    expect(statements.count).toBeGreaterThan(0);
  });

  it('answers a recent assessment from memory while the database cannot be read', async () => {
    const { app, base } = await listening();
    const created = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(6) });
    const { id } = created.json() as { id: string };
    vi.spyOn(app.repository, 'findAssessment').mockImplementation(() => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' });
    });
    expect((await app.inject(`/v1/assessments/${id}`)).body).toBe(created.body);
    expect(await (await fetch(`${base}/v1/assessments/${id}`)).text()).toBe(created.body);
    expect((await app.inject('/v1/assessments/3b241101-e2bb-4255-8caf-4136c566a962')).statusCode).toBe(500);
  });

  it('refuses a budget that is not a whole number of MiB', async () => {
    await expect(buildTestApp({ recentAssessmentsMb: 0.5 })).rejects.toThrow(/recentAssessmentsMb must be a whole number/);
    await expect(buildTestApp({ recentAssessmentsMb: -1 })).rejects.toThrow(RangeError);
  });
});
