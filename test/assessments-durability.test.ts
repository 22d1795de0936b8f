import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadContent } from '../src/content/load.js';
import { SCORING_VERSION } from '../src/domain/scoring.js';
import { buildTestApp } from './helpers.js';
import { editJson, type RawExpectation, type RawQuestion, readRawSeed, TempDirs } from './support/fixtures.js';
import { responseProblems } from './support/openapi.js';

const seed = readRawSeed();
const QUESTIONS = seed.questions.questions;
const HOUR = 60 * 60 * 1000;

const temp = new TempDirs();
afterAll(() => temp.cleanup());
afterEach(() => {
  vi.useRealTimers();
});

type App = Awaited<ReturnType<typeof buildTestApp>>;

async function post(app: App, url: string, payload: unknown, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });
  expect(responseProblems('POST', url, response.statusCode, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

async function get(app: App, url: string) {
  const response = await app.inject({ url });
  expect(responseProblems('GET', url, response.statusCode, response.headers['content-type'] as string, response.body)).toEqual([]);
  return response;
}

/** Sends `payload` again under `key` and checks that the answer is a replay of `original`, byte for byte. */
async function expectReplay(app: App, url: string, payload: unknown, key: string, original: { body: string }) {
  const replay = await post(app, url, payload, { 'idempotency-key': key });
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.body).toBe(original.body);
  return replay;
}

function submission(questions: readonly RawQuestion[] = QUESTIONS, extra: Record<string, unknown> = {}) {
  return { answers: questions.map((q, i) => ({ questionId: q.id, value: ((i * 3) % 5) + 1 })), ...extra };
}

const databaseFile = () => join(temp.make('rc-api-db-'), 'api.sqlite');

type Breakdown = { competency: string; expected: { role: string; level: number }[] }[];
const levelIn = (breakdown: Breakdown, role: string, competency: string) =>
  breakdown.find((b) => b.competency === competency)?.expected.find((e) => e.role === role)?.level;

describe('stored assessments across a new release', () => {
  it('read back byte for byte with the versions they were scored with, while new ones use the new release', async () => {
    const databasePath = databaseFile();

    // Release 1: the seed as it is.
    const first = await buildTestApp({ databasePath });
    const created = await post(first, '/v1/assessments', submission(QUESTIONS, { respondent: 'before the release' }));
    expect(created.statusCode).toBe(201);
    const old = created.json();
    expect(old.result.versions).toEqual({
      instrument: seed.questions.instrumentVersion,
      scoring: SCORING_VERSION,
      kbRelease: seed.release,
      kbContentHash: first.kb.release.contentHash,
    });
    await first.close();

    // Release 2: new release id, changed levels, one question replaced by a new one and a new instrument version.
    const folder = temp.seedCopy();
    const newRelease = seed.release.replace(/\d+$/, (patch) => String(Number(patch) + 1));
    const newInstrument = `${seed.questions.instrumentVersion}.1`;
    const removed = QUESTIONS[0]!;
    const changed = seed.expectations.filter((e) => e.role === 'tech-lead').slice(0, 2);
    expect(changed).toHaveLength(2);
    const newLevel = (e: RawExpectation) => (e.level >= 2 ? e.level - 1 : e.level + 1);
    editJson(folder, 'release.json', (data) => ({ ...data, release: newRelease }));
    editJson(folder, 'expectations.json', (data: RawExpectation[]) =>
      data.map((e) => (changed.some((c) => c.role === e.role && c.competency === e.competency) ? { ...e, level: newLevel(e) } : e)),
    );
    editJson(folder, 'questions.json', (data) => ({
      ...data,
      instrumentVersion: newInstrument,
      questions: data.questions.map((q: RawQuestion) =>
        q.id === removed.id ? { ...q, id: 'q-replacement', prompt: 'A reworded statement about the same competency.' } : q,
      ),
    }));
    const content = loadContent(folder);
    expect(content.release).toBe(newRelease);
    expect(newRelease).not.toBe(seed.release);

    const second = await buildTestApp({ databasePath, content });
    try {
      expect(second.kb.release.id).toBe(newRelease);
      // The new release scores the baseline with the changed levels.
      for (const e of changed) expect(second.kb.levelAt(e.role, e.competency, null)).toBe(newLevel(e));

      const read = await get(second, `/v1/assessments/${old.id}`);
      expect(read.statusCode).toBe(200);
      expect(read.body).toBe(created.body);
      const stored = read.json();
      expect(stored.result.versions).toEqual(old.result.versions);
      expect(stored.answers.map((a: { questionId: string }) => a.questionId)).toContain(removed.id);
      for (const e of changed) expect(levelIn(stored.result.breakdown, e.role, e.competency)).toBe(e.level);

      // The old answers can no longer be submitted as they were: the question is gone.
      const refused = await post(second, '/v1/assessments', submission(QUESTIONS));
      expect(refused.statusCode).toBe(422);
      expect(refused.json().errors.map((e: { field: string }) => e.field)).toContain('body.answers[0].questionId');

      const remaining = QUESTIONS.filter((q) => q.id !== removed.id);
      const fresh = await post(second, '/v1/assessments', submission(remaining));
      expect(fresh.statusCode).toBe(201);
      const now = fresh.json();
      expect(now.result.versions).toEqual({
        instrument: newInstrument,
        scoring: SCORING_VERSION,
        kbRelease: newRelease,
        kbContentHash: second.kb.release.contentHash,
      });
      expect(now.result.versions.kbContentHash).not.toBe(old.result.versions.kbContentHash);
      expect(now.result.answered.total).toBe(QUESTIONS.length);
      for (const e of changed) expect(levelIn(now.result.breakdown, e.role, e.competency)).toBe(newLevel(e));

      const instrument = (await get(second, '/v1/assessment/questions')).json();
      expect(instrument.version).toBe(newInstrument);
      expect(instrument.current).toBe(true);
      expect(instrument.questions.map((q: { id: string }) => q.id)).not.toContain(removed.id);
      expect((await get(second, `/v1/assessment/questions?version=${newInstrument}`)).body).toBe(JSON.stringify(instrument));

      // The old result's answers are read against the questions it was scored with, kept by the version it names.
      const earlier = await get(second, `/v1/assessment/questions?version=${stored.result.versions.instrument}`);
      expect(earlier.statusCode).toBe(200);
      const asked = earlier.json();
      expect(asked).toMatchObject({ version: seed.questions.instrumentVersion, current: false, kbRelease: seed.release });
      expect(asked.questions).toEqual(
        QUESTIONS.map(({ id, prompt, competency, keyed }, i) => ({ id, order: i + 1, prompt, competency, keyed })),
      );
      const revalidated = await second.inject({
        url: `/v1/assessment/questions?version=${stored.result.versions.instrument}`,
        headers: { 'if-none-match': String(earlier.headers.etag) },
      });
      expect(revalidated.statusCode).toBe(304);
      expect(earlier.headers.etag).not.toBe((await get(second, '/v1/assessment/questions')).headers.etag);
      const askedIds = new Set(asked.questions.map((q: { id: string }) => q.id));
      expect(stored.answers.every((a: { questionId: string }) => askedIds.has(a.questionId))).toBe(true);
      const unknown = await get(second, '/v1/assessment/questions?version=1999.01');
      expect([unknown.statusCode, unknown.json().errors]).toEqual([
        404,
        [
          {
            field: 'querystring.version',
            message: `unknown instrument version "1999.01": must be one of: ${seed.questions.instrumentVersion}, ${newInstrument}`,
          },
        ],
      ]);
    } finally {
      await second.close();
    }
  });

  // Guards against: a database seeded before question banks were kept lost its questions at the next
  // release, so results scored with them could no longer be read against them.
  it('keeps the questions of a database seeded before question banks were, at its next start', async () => {
    const databasePath = databaseFile();
    const first = await buildTestApp({ databasePath });
    first.repository.sqlite.prepare('delete from question_banks').run();
    await first.close();

    const folder = temp.seedCopy();
    const newInstrument = `${seed.questions.instrumentVersion}.1`;
    editJson(folder, 'release.json', (data) => ({ ...data, release: seed.release.replace(/\d+$/, (patch) => String(Number(patch) + 1)) }));
    editJson(folder, 'questions.json', (data) => ({
      ...data,
      instrumentVersion: newInstrument,
      questions: data.questions.map((q: RawQuestion, i: number) => (i === 0 ? { ...q, prompt: 'A reworded statement.' } : q)),
    }));
    const second = await buildTestApp({ databasePath, content: loadContent(folder) });
    try {
      const earlier = (await get(second, `/v1/assessment/questions?version=${seed.questions.instrumentVersion}`)).json();
      expect(earlier).toMatchObject({ current: false, kbRelease: seed.release });
      expect(earlier.questions[0].prompt).toBe(QUESTIONS[0]?.prompt);
      expect((await get(second, '/v1/assessment/questions')).json().questions[0].prompt).toBe('A reworded statement.');
    } finally {
      await second.close();
    }
  });
});

describe('questions changed under the same instrument version', () => {
  // Guards against (from a review): a new release that reworded a question but kept its
  // instrumentVersion started without a word, and results scored on either wording carried the
  // same versions.instrument.
  it('says so as the server starts, naming the questions the version stood for before', async () => {
    const databasePath = databaseFile();
    const first = await buildTestApp({ databasePath });
    const before = (await post(first, '/v1/assessments', submission(QUESTIONS))).json();
    await first.close();

    const folder = temp.seedCopy();
    editJson(folder, 'release.json', () => ({ release: '2099.5.0' }));
    editJson(folder, 'questions.json', (data: { instrumentVersion: string; questions: RawQuestion[] }) => ({
      ...data,
      questions: data.questions.map((q, i) => (i === 0 ? { ...q, prompt: `${q.prompt.slice(0, -1)}, most weeks.` } : q)),
    }));
    const warnings: Record<string, unknown>[] = [];
    const logger = { level: 'warn', stream: { write: (line: string) => warnings.push(JSON.parse(line)) } };
    const second = await buildTestApp({ databasePath, content: loadContent(folder), logger });
    try {
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 40,
          instrumentVersion: seed.questions.instrumentVersion,
          replacedInstrumentHash: loadContent().instrumentHash,
          msg: expect.stringContaining('bump `instrumentVersion` in seed/questions.json'),
        }),
      ]);
      const after = (await post(second, '/v1/assessments', submission(QUESTIONS))).json();
      expect(after.result.versions.instrument).toBe(before.result.versions.instrument);
    } finally {
      await second.close();
    }
  });
});

describe('content changed under the same release id', () => {
  it('is told apart by the content hash stamped on new assessments and on comparisons', async () => {
    const databasePath = databaseFile();
    const first = await buildTestApp({ databasePath });
    const before = (await post(first, '/v1/assessments', submission(QUESTIONS))).json();
    const comparedBefore = (await get(first, '/v1/comparisons?roles=tech-lead,engineering-manager')).json();
    await first.close();

    // One level moved, the release id left as it was.
    const folder = temp.seedCopy();
    const moved = seed.expectations.find((e) => e.role === 'engineering-manager' && e.level >= 2) as RawExpectation;
    editJson(folder, 'expectations.json', (data: RawExpectation[]) =>
      data.map((e) => (e.role === moved.role && e.competency === moved.competency ? { ...e, level: e.level - 1 } : e)),
    );
    const warnings: Record<string, unknown>[] = [];
    const logger = { level: 'warn', stream: { write: (line: string) => warnings.push(JSON.parse(line)) } };
    const second = await buildTestApp({ databasePath, content: loadContent(folder), logger });
    try {
      const meta = (await get(second, '/v1/meta')).json();
      expect(meta.kbRelease).toBe(seed.release);
      expect(meta.contentHash).not.toBe(before.result.versions.kbContentHash);
      // Guards against: the start went by without a word, so the maintainer who forgot to bump the
      // release learnt only from two assessments' hashes that one release id named two contents.
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 40,
          release: seed.release,
          contentHash: meta.contentHash,
          replacedContentHash: before.result.versions.kbContentHash,
          msg: expect.stringContaining('seed/release.json'),
        }),
      ]);

      const after = (await post(second, '/v1/assessments', submission(QUESTIONS))).json();
      expect(after.result.versions).toEqual({ ...before.result.versions, kbContentHash: meta.contentHash });
      const comparedAfter = (await get(second, '/v1/comparisons?roles=tech-lead,engineering-manager')).json();
      expect(comparedAfter.kbRelease).toBe(comparedBefore.kbRelease);
      expect(comparedBefore.kbContentHash).toBe(before.result.versions.kbContentHash);
      expect(comparedAfter.kbContentHash).toBe(meta.contentHash);

      // The assessment stored before still reads back as it was scored, with its own hash.
      expect((await get(second, `/v1/assessments/${before.id}`)).json().result.versions).toEqual(before.result.versions);
    } finally {
      await second.close();
    }
  });
});

describe('Idempotency-Keys', () => {
  it('survive a restart: the same key and body replay after reopening the database', async () => {
    const databasePath = databaseFile();
    const payload = submission(QUESTIONS, { respondent: 'restart' });
    const key = 'restart-key-1';

    const first = await buildTestApp({ databasePath });
    const original = await post(first, '/v1/assessments', payload, { 'idempotency-key': key });
    expect(original.statusCode).toBe(201);
    await first.close();

    const second = await buildTestApp({ databasePath });
    try {
      const before = second.repository.countAssessments();
      const replay = await expectReplay(second, '/v1/assessments', payload, key, original);
      expect(replay.statusCode).toBe(201);
      expect(replay.headers.location).toBe(original.headers.location);
      expect(second.repository.countAssessments()).toBe(before);

      const reused = await post(second, '/v1/assessments', submission(QUESTIONS, { respondent: 'other' }), { 'idempotency-key': key });
      expect(reused.statusCode).toBe(422);
      expect(reused.json().code).toBe('idempotency-key-reused');
    } finally {
      await second.close();
    }
  });

  it('keep the ids of the assessments an answer carries instead of a copy of them, and replay it byte for byte after a restart', async () => {
    const databasePath = databaseFile();
    const single = submission(QUESTIONS, { respondent: 'kept by id' });
    const batch = { items: [submission(QUESTIONS, { respondent: 'first' }), { answers: [] }, submission(QUESTIONS.slice(0, -1))] };

    const first = await buildTestApp({ databasePath });
    const created = await post(first, '/v1/assessments', single, { 'idempotency-key': 'by-id-single' });
    const batched = await post(first, '/v1/assessments/batch', batch, { 'idempotency-key': 'by-id-batch' });
    expect([created.statusCode, batched.statusCode]).toEqual([201, 200]);
    const items = batched.json().items as { status: number; assessment?: { id: string } }[];
    expect(items.map((item) => item.status)).toEqual([201, 400, 201]);
    const kept = first.repository.sqlite
      .prepare('select key, length(response) as bytes, assessment_ids as ids from idempotency_keys order by key')
      .all() as { key: string; bytes: number; ids: string }[];
    expect(kept.map(({ key, ids }) => [key, ids])).toEqual([
      ['by-id-batch', `${items[0]?.assessment?.id},${items[2]?.assessment?.id}`],
      ['by-id-single', created.json().id],
    ]);
    // What is kept besides the ids: the texts around the documents (the refused item's problem among them).
    const [batchBytes, singleBytes] = kept.map((row) => row.bytes);
    expect(singleBytes).toBeLessThan(created.body.length / 100);
    expect(batchBytes).toBeLessThan(batched.body.length / 10);
    await first.close();

    // A new process has none of them in memory: the documents come from the database.
    const second = await buildTestApp({ databasePath });
    try {
      const replayed = await expectReplay(second, '/v1/assessments', single, 'by-id-single', created);
      expect(replayed.headers.location).toBe(created.headers.location);
      await expectReplay(second, '/v1/assessments/batch', batch, 'by-id-batch', batched);
      expect(second.repository.countAssessments()).toBe(3);
    } finally {
      await second.close();
    }
  });

  // Keys kept before the ids were (migration 0003) hold the whole answer, with no ids: single
  // submissions are covered by test/upgrade.test.ts with rows older versions wrote; this is a batch's.
  it('replay a batch key kept whole, as keys were kept before they kept ids', async () => {
    const app = await buildTestApp();
    try {
      const batch = { items: [submission(QUESTIONS, { respondent: 'whole' }), { answers: [] }] };
      const first = await post(app, '/v1/assessments/batch', batch, { 'idempotency-key': 'kept-whole' });
      expect(first.statusCode).toBe(200);
      app.repository.sqlite
        .prepare("update idempotency_keys set response = ?, assessment_ids = null where key = 'kept-whole'")
        .run(first.body);
      await expectReplay(app, '/v1/assessments/batch', batch, 'kept-whole', first);
      expect(app.repository.countAssessments()).toBe(1);
    } finally {
      await app.close();
    }
  });

  // Guards against (from a review): keys an earlier version kept, whose hash read the body as sent
  // (until 2026-12-03) or with its nulls dropped but its label as sent (until 2026-12-04), were a 422
  // for a retry of the very same body once the server was upgraded.
  describe('kept by earlier versions, with the hash they computed', () => {
    /** The body's JSON with its object keys sorted, as every version has hashed it (no number here is too large). */
    const sorted = (value: unknown): string =>
      Array.isArray(value)
        ? `[${value.map(sorted).join(',')}]`
        : value !== null && typeof value === 'object'
          ? `{${Object.keys(value)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${sorted((value as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(value);
    const hash = (scope: string, body: unknown) =>
      createHash('sha256')
        .update(`${scope}\n${sorted(body)}`)
        .digest('hex');
    const withoutNulls = (item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== null));

    it.each([
      ['as sent', (item: Record<string, unknown>) => item],
      ['nulls dropped, the label as sent', withoutNulls],
    ])('replays the same body under a key hashed %s, single and batch', async (_, earlier) => {
      const app = await buildTestApp();
      try {
        const single = { ...submission(QUESTIONS, { respondent: '  padded  ' }), companySize: null };
        const batch = { items: [{ ...submission(QUESTIONS, { respondent: ' also padded' }), companySize: null }] };
        const firstSingle = await post(app, '/v1/assessments', single, { 'idempotency-key': 'earlier-single' });
        const firstBatch = await post(app, '/v1/assessments/batch', batch, { 'idempotency-key': 'earlier-batch' });
        const setHash = app.repository.sqlite.prepare('update idempotency_keys set request_hash = ? where key = ?');
        setHash.run(hash('assessment', earlier(single)), 'earlier-single');
        setHash.run(hash('batch', { items: batch.items.map(earlier) }), 'earlier-batch');

        await expectReplay(app, '/v1/assessments', single, 'earlier-single', firstSingle);
        await expectReplay(app, '/v1/assessments/batch', batch, 'earlier-batch', firstBatch);
        const other = await post(
          app,
          '/v1/assessments',
          { ...single, respondent: 'someone else' },
          { 'idempotency-key': 'earlier-single' },
        );
        expect(other.statusCode).toBe(422);
        expect(app.repository.countAssessments()).toBe(2);
      } finally {
        await app.close();
      }
    });
  });

  it('are still honoured after a restart 25 hours later', async () => {
    const databasePath = databaseFile();
    const payload = submission(QUESTIONS, { respondent: 'a day ago' });
    const key = 'day-old-key';
    const realNow = Date.now();

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(realNow - 25 * HOUR);
    const first = await buildTestApp({ databasePath });
    const original = await post(first, '/v1/assessments', payload, { 'idempotency-key': key });
    expect(original.statusCode).toBe(201);
    await first.close();
    vi.useRealTimers();

    // Opening the app purges expired keys: a 25-hour-old one is not expired.
    const second = await buildTestApp({ databasePath });
    try {
      await expectReplay(second, '/v1/assessments', payload, key, original);
    } finally {
      await second.close();
    }
  });

  it('purgeIdempotencyKeys(before, limit) removes at most limit of them, the oldest first', async () => {
    const app = await buildTestApp();
    try {
      const realNow = Date.now();
      for (const [key, ageHours] of [
        ['fifty', 50],
        ['seventy', 70],
        ['sixty', 60],
      ] as const) {
        vi.useFakeTimers({ toFake: ['Date'] });
        vi.setSystemTime(realNow - ageHours * HOUR);
        const response = await post(app, '/v1/assessments', submission(QUESTIONS, { respondent: key }), { 'idempotency-key': key });
        vi.useRealTimers();
        expect(response.statusCode).toBe(201);
      }
      const repo = app.repository;
      const present = () => ['fifty', 'sixty', 'seventy'].filter((k) => repo.findIdempotency('assessment', k));
      const cutoff = new Date(realNow - 48 * HOUR);
      expect(repo.purgeIdempotencyKeys(cutoff, 1)).toBe(1);
      expect(present()).toEqual(['fifty', 'sixty']);
      expect(repo.purgeIdempotencyKeys(cutoff, 5)).toBe(2);
      expect(present()).toEqual([]);
    } finally {
      vi.useRealTimers();
      await app.close();
    }
  });

  it('purges hourly in steps of 1,000 keys, letting other work run between two steps', async () => {
    vi.useFakeTimers({ toFake: ['setInterval'] });
    const app = await buildTestApp();
    try {
      const events: string[] = [];
      const left = [1000, 1000, 500];
      const step = vi.spyOn(app.repository, 'purgeIdempotencyKeys').mockImplementation((_before, limit) => {
        events.push(`step of ${limit}`);
        return left.shift() ?? 0;
      });
      setImmediate(() => events.push('other work'));
      vi.advanceTimersByTime(HOUR);
      await vi.waitFor(() => expect(step).toHaveBeenCalledTimes(3));
      // Guards against: the whole hour's keys deleted in one statement (100,000 took 235 ms), holding
      // every request up meanwhile.
      expect(events).toEqual(['step of 1000', 'other work', 'step of 1000', 'step of 1000']);
    } finally {
      vi.useRealTimers();
      await app.close();
    }
  });

  it('purgeIdempotencyKeys(before) removes only the records older than the cutoff', async () => {
    const app = await buildTestApp();
    try {
      const realNow = Date.now();
      const stored = async (key: string, ageHours: number) => {
        vi.useFakeTimers({ toFake: ['Date'] });
        vi.setSystemTime(realNow - ageHours * HOUR);
        const response = await post(app, '/v1/assessments', submission(QUESTIONS, { respondent: key }), { 'idempotency-key': key });
        vi.useRealTimers();
        expect(response.statusCode).toBe(201);
      };
      await stored('three-days', 72);
      await stored('two-days', 49);
      await stored('one-day', 25);
      await stored('fresh', 0);
      const repo = app.repository;
      const present = () => ['three-days', 'two-days', 'one-day', 'fresh'].filter((k) => repo.findIdempotency('assessment', k));
      expect(present()).toEqual(['three-days', 'two-days', 'one-day', 'fresh']);

      expect(repo.purgeIdempotencyKeys(new Date(realNow - 48 * HOUR))).toBe(2);
      expect(present()).toEqual(['one-day', 'fresh']);

      // Keys are kept at least 24 hours: a cutoff of 24 hours ago never touches one made now.
      expect(repo.purgeIdempotencyKeys(new Date(Date.now() - 24 * HOUR))).toBe(1);
      expect(present()).toEqual(['fresh']);
      expect(repo.purgeIdempotencyKeys(new Date(Date.now() - 24 * HOUR))).toBe(0);
      expect(present()).toEqual(['fresh']);

      // Purging forgets keys, never assessments; a forgotten key is free for a new submission.
      const before = repo.countAssessments();
      const reused = await post(app, '/v1/assessments', submission(QUESTIONS, { respondent: 'new body' }), {
        'idempotency-key': 'two-days',
      });
      expect(reused.statusCode).toBe(201);
      expect(reused.headers['idempotent-replayed']).toBeUndefined();
      expect(repo.countAssessments()).toBe(before + 1);
      const replay = await post(app, '/v1/assessments', submission(QUESTIONS, { respondent: 'fresh' }), { 'idempotency-key': 'fresh' });
      expect(replay.headers['idempotent-replayed']).toBe('true');
    } finally {
      vi.useRealTimers();
      await app.close();
    }
  });
});

describe('DATABASE_SYNCHRONOUS', () => {
  // A kill -9 cannot tell the levels apart (both keep every commit the process made): only a power
  // loss can. So the setting is checked where it acts, on the connection that commits.
  it.each([
    [undefined, 1],
    ['normal', 1],
    ['full', 2],
  ] as const)('%s: the connection that commits runs with synchronous = %i', async (synchronous, level) => {
    const app = await buildTestApp({ databasePath: join(temp.make('rc-sync-'), 'api.sqlite'), synchronous });
    try {
      expect(app.repository.sqlite.pragma('synchronous', { simple: true })).toBe(level);
      expect(app.repository.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await app.close();
    }
  });
});
