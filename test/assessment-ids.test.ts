import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { AssessmentIds, ID_KEY_BYTES, MAX_ROW } from '../src/db/assessment-ids.js';
import { openDatabase } from '../src/db/client.js';
import { type AssessmentRecord, type NewAssessmentId, Repository, ROW_BLOCK } from '../src/db/repository.js';
import { TempDirs } from './support/fixtures.js';
import { countStatements } from './support/statements.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const OTHER_KEY = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');
const MAX_TAG = 2 ** 48 - 1;

const row = fc.integer({ min: 1, max: MAX_ROW });

/** The id with one of its hexadecimal digits changed, leaving the version and variant alone. */
function withDigitChanged(id: string, position: number, delta: number): string {
  const digit = Number.parseInt(id[position] as string, 16);
  let changed = (digit + delta) % 16;
  if (position === 19) changed = 8 + ((digit - 8 + delta) % 4); // keep the variant bits 10
  return `${id.slice(0, position)}${changed.toString(16)}${id.slice(position + 1)}`;
}

describe('AssessmentIds', () => {
  it('gives UUID v4 strings that decode back to their row and tag', () => {
    const ids = new AssessmentIds(KEY);
    fc.assert(
      fc.property(row, (r) => {
        const made = ids.newId(r);
        expect(made.row).toBe(r);
        expect(made.id).toMatch(UUID_V4);
        expect(ids.decode(made.id)).toEqual({ row: r, tag: made.tag });
        // Matched exactly, like the random UUIDs stored before: another spelling is another id.
        expect(ids.decode(made.id.toUpperCase())).toBeUndefined();
      }),
      { numRuns: 2000, seed: 1 },
    );
  });

  it('keeps its format: one AES-128 block of row, tag and zero check bits, so stored ids never change meaning', () => {
    // Checked outside the API: `openssl enc -d -aes-128-ecb -nopad` with this key turns the id's 16
    // bytes into 000000000001 b32dcd0c1983 00000000 (row 1, the tag, the check bits).
    const ids = new AssessmentIds(KEY);
    expect(ids.decode('45944cb7-6cb4-4950-9683-69468513e3e5')).toEqual({ row: 1, tag: 0xb32dcd0c1983 });
  });

  it('does not follow the order of creation: consecutive rows share no prefix and do not sort by row', () => {
    const ids = new AssessmentIds(KEY);
    const made = Array.from({ length: 200 }, (_, i) => ids.newId(i + 1).id);
    expect(new Set(made).size).toBe(200);
    expect([...made].sort()).not.toEqual(made);
    const prefixes = new Set(made.map((id) => id.slice(0, 4)));
    expect(prefixes.size).toBeGreaterThan(180);
    // Each hexadecimal digit of the last 18 (from the variant digit on) is used about evenly:
    // 200 ids x 18 digits, about 225 of each, and below 150 only about once in a million runs.
    const counts = new Map<string, number>();
    for (const id of made) for (const c of id.replace(/-/g, '').slice(14)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(n).toBeGreaterThan(150);
  });

  it('depends on the key: another key does not decode its ids', () => {
    const ids = new AssessmentIds(KEY);
    const other = new AssessmentIds(OTHER_KEY);
    for (let r = 1; r <= 100; r++) expect(other.decode(ids.newId(r).id)).toBeUndefined();
  });

  it('decodes no made-up id: random UUIDs and every one-digit change of a real id are refused', () => {
    const ids = new AssessmentIds(KEY);
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), (uuid) => {
        expect(ids.decode(uuid)).toBeUndefined();
      }),
      { numRuns: 5000, seed: 2 },
    );
    const { id } = ids.newId(42);
    for (let position = 0; position < id.length; position++) {
      if (id[position] === '-' || position === 14) continue; // the separators and the version digit
      for (const delta of position === 19 ? [1, 2, 3] : [1, 5, 15]) {
        expect(ids.decode(withDigitChanged(id, position, delta))).toBeUndefined();
      }
    }
  });

  it('refuses what is not a UUID v4, and rows out of range', () => {
    const ids = new AssessmentIds(KEY);
    const { id } = ids.newId(5);
    for (const bad of ['', 'not-a-uuid', id.replace(/-/g, ''), `${id}0`, `${id.slice(0, 14)}1${id.slice(15)}`]) {
      expect(ids.decode(bad)).toBeUndefined();
    }
    for (const r of [0, -1, 1.5, MAX_ROW + 1]) expect(() => ids.newId(r)).toThrow(RangeError);
    expect(() => new AssessmentIds(Buffer.alloc(ID_KEY_BYTES - 1))).toThrow(RangeError);
  });

  it('draws 48-bit random tags', () => {
    const ids = new AssessmentIds(KEY);
    const tags = Array.from({ length: 3000 }, () => ids.newId(1).tag);
    expect(new Set(tags).size).toBe(3000);
    for (const tag of tags) expect(Number.isInteger(tag) && tag >= 0 && tag <= MAX_TAG).toBe(true);
    expect(Math.max(...tags)).toBeGreaterThan(2 ** 47);
    expect(Math.min(...tags)).toBeLessThan(2 ** 45);
  });
});

describe('Repository: assessment ids and rows', () => {
  const temp = new TempDirs();
  afterAll(() => temp.cleanup());

  const openRepository = (path: string) => {
    const { sqlite, db } = openDatabase(path);
    return new Repository(sqlite, db);
  };
  const record = (at: NewAssessmentId): AssessmentRecord => ({
    ...at,
    createdAt: '2026-12-01T00:00:00.000Z',
    companySize: null,
    respondent: null,
    document: `{"id":"${at.id}"}`,
    instrumentVersion: 'i',
    scoringVersion: 's',
    kbRelease: 'k',
    idempotencyKey: null,
  });

  it('gives processes sharing a database disjoint blocks of rows, and keeps its key across reopening', () => {
    const path = join(temp.make('rc-ids-'), 'kb.sqlite');
    const first = openRepository(path);
    const second = openRepository(path);
    const a = Array.from({ length: ROW_BLOCK }, () => first.newAssessmentId());
    const b = Array.from({ length: 10 }, () => second.newAssessmentId());
    a.push(first.newAssessmentId());
    // The first's first block, with its second reserved ahead as the first ran low, then the second's
    // first block: no row is given out twice.
    expect(a.slice(0, ROW_BLOCK).map((x) => x.row)).toEqual(Array.from({ length: ROW_BLOCK }, (_, i) => i + 1));
    expect(b.map((x) => x.row)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * ROW_BLOCK + 1 + i));
    expect(a[ROW_BLOCK]?.row).toBe(ROW_BLOCK + 1);
    first.saveAssessments([record(a[0] as NewAssessmentId)]);
    second.saveAssessments([record(b[0] as NewAssessmentId)]);
    first.close();
    second.close();

    const reopened = openRepository(path);
    try {
      for (const at of [a[0], b[0]] as NewAssessmentId[]) {
        expect(reopened.findAssessment(at.id)).toEqual({ document: `{"id":"${at.id}"}` });
      }
      expect(reopened.newAssessmentId().row).toBe(3 * ROW_BLOCK + 1);
    } finally {
      reopened.close();
    }
  });

  // Guards against: the request that ran out of ids reserved the next block itself, waiting on the
  // request thread (every request stopped meanwhile) for a lock another process held, up to 1 s.
  it('reserves the next block ahead, so running out of ids while another process holds the lock waits for nothing', () => {
    const path = join(temp.make('rc-ids-'), 'kb.sqlite');
    const repository = openRepository(path);
    const other = openRepository(path).sqlite;
    try {
      repository.waitForLocksBriefly();
      const nextRow = () => other.prepare('select next_row from assessment_id_keys').pluck().get();
      const rows = Array.from({ length: ROW_BLOCK * 0.75 }, () => repository.newAssessmentId().row);
      expect(nextRow()).toBe(ROW_BLOCK + 1);
      // The last quarter of the block, with the lock held elsewhere through its first tries.
      other.exec('begin immediate');
      rows.push(...Array.from({ length: ROW_BLOCK * 0.125 }, () => repository.newAssessmentId().row));
      other.exec('rollback');
      rows.push(...Array.from({ length: ROW_BLOCK * 0.125 }, () => repository.newAssessmentId().row));
      expect(nextRow()).toBe(2 * ROW_BLOCK + 1);
      expect(rows).toEqual(Array.from({ length: ROW_BLOCK }, (_, i) => i + 1));

      other.exec('begin immediate');
      const started = performance.now();
      const next = repository.newAssessmentId().row;
      const waitedMs = performance.now() - started;
      other.exec('rollback');
      expect(next).toBe(ROW_BLOCK + 1);
      // The wait it guards against is the lock's, up to 1 s: a quarter of that leaves room for a busy machine.
      expect(waitedMs).toBeLessThan(250);
    } finally {
      if (other.inTransaction) other.exec('rollback');
      other.close();
      repository.close();
    }
  });

  it('finds a row only with its own tag, in one statement', () => {
    const repository = openRepository(':memory:');
    try {
      const at = repository.newAssessmentId();
      repository.saveAssessments([record(at)]);
      const statements = countStatements();
      onTestFinished(statements.restore);
      const before = statements.count;
      expect(repository.findAssessment(at.id)).toBeDefined();
      expect(statements.count).toBe(before + 1);
      // The same row with another tag: an id this database never gave out.
      const key = repository.sqlite.prepare('select key from assessment_id_keys').pluck().get() as Buffer;
      const other = new AssessmentIds(key).newId(at.row);
      expect(other.tag).not.toBe(at.tag);
      const forged = other.id;
      expect(repository.findAssessment(forged)).toBeUndefined();
    } finally {
      repository.close();
    }
  });

  it('gives out ids only outside a transaction, where a rollback could undo the reservation of their rows', () => {
    const repository = openRepository(':memory:');
    try {
      const inTransaction = repository.sqlite.transaction(() => repository.newAssessmentId());
      expect(inTransaction).toThrow(/outside transactions/);
      // Also with a block already reserved, not only when a reservation is due.
      expect(repository.newAssessmentId().row).toBe(1);
      expect(inTransaction).toThrow(/outside transactions/);
      expect(repository.newAssessmentId().row).toBe(2);
      expect(repository.sqlite.prepare('select next_row from assessment_id_keys').pluck().get()).toBe(ROW_BLOCK + 1);
    } finally {
      repository.close();
    }
  });

  it('reads a row stored with a random UUID even when that UUID decodes to a row number', () => {
    const repository = openRepository(':memory:');
    try {
      const key = repository.sqlite.prepare('select key from assessment_id_keys').pluck().get() as Buffer;
      // A UUID that happens to decode (one in 2^32 random ones would), to a row that was never stored.
      const { id } = new AssessmentIds(key).newId(999);
      repository.sqlite
        .prepare(
          `insert into assessments (id, created_at, document, instrument_version, scoring_version, kb_release)
           values (?, '2026-11-20T00:00:00.000Z', '{"legacy":true}', 'i', 's', 'k')`,
        )
        .run(id);
      const statements = countStatements();
      onTestFinished(statements.restore);
      const before = statements.count;
      expect(repository.findAssessment(id)).toEqual({ document: '{"legacy":true}' });
      expect(statements.count).toBe(before + 2);
    } finally {
      repository.close();
    }
  });
});
