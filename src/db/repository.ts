import { randomBytes } from 'node:crypto';
import { realpathSync, type Stats, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { asc, eq } from 'drizzle-orm';
import type { Citation, KnowledgeBaseData, Question, QuestionBank, Variant } from '../domain/knowledge-base.js';
import { AssessmentIds, type AssessmentLocation, ID_KEY_BYTES, MAX_ROW } from './assessment-ids.js';
import { BACKSTOP_CHECKPOINT_PAGES, type Db, migrationState, SECURE_DELETE, SQLITE_AUTOCHECKPOINT_PAGES } from './client.js';
import { asReferences } from './replay-references.js';
import * as t from './schema.js';
import { isDamageCode, lockedElsewhere, STORAGE_FAULT_MS, storageFaultCode } from './storage-faults.js';

/** Row numbers a process reserves at a time for the ids it gives out. */
export const ROW_BLOCK = 1024;

/** A new assessment's id and the row it is stored in (the id encodes the row and its tag). */
export type NewAssessmentId = AssessmentLocation & { id: string };

/** How long the request thread waits for a lock another connection holds, once serving. */
const SERVING_BUSY_TIMEOUT_MS = 5;
/** How long closing waits for a reader in another process, to empty the log of a database file that was moved away. */
const CLOSE_CHECKPOINT_WAIT_MS = 2000;
/** How long a reservation of row numbers waits for one when the ids reserved have run out. */
export const RESERVE_BUSY_TIMEOUT_MS = 1000;
/**
 * Once this few ids are left in a block, the next block is reserved ahead, tried once in every
 * RESERVE_AHEAD_EVERY ids and waiting the serving busy timeout at most: only a lock held elsewhere
 * through every try leaves the request that runs out of ids to wait for one.
 */
const RESERVE_AHEAD_AT = ROW_BLOCK / 4;
const RESERVE_AHEAD_EVERY = 32;

/**
 * The tables of stored assessments: the rows with random UUIDs and the rows numbered by their ids
 * (a file from before migration 0002 has only the first).
 */
export const ASSESSMENT_TABLES = ['assessments', 'assessment_documents'] as const;

/**
 * Stored assessments in a database, in whichever of ASSESSMENT_TABLES it has. Takes a bare
 * connection, so that scripts and tests can count a file without a Repository (the backup's thread
 * counts its copy the same way).
 */
export function countStoredAssessments(sqlite: BetterSqlite3.Database): number {
  const present = new Set(sqlite.prepare<[], string>(`select name from sqlite_master where type = 'table'`).pluck().all());
  return ASSESSMENT_TABLES.filter((table) => present.has(table)).reduce(
    (n, table) => n + (sqlite.prepare<[], number>(`select count(*) from ${table}`).pluck().get() as number),
    0,
  );
}

/** An assessment as it is written: the searchable columns and the document. */
export type AssessmentRecord = NewAssessmentId & {
  createdAt: string;
  companySize: string | null;
  respondent: string | null;
  /** The assessment's JSON: the text a read sends. */
  document: string;
  instrumentVersion: string;
  scoringVersion: string;
  kbRelease: string;
  idempotencyKey: string | null;
};

/**
 * An assessment as it is read back: its document (the JSON as text, or as a gzip blob in rows stored
 * when documents were kept compressed), or for rows stored before documents existed, the columns
 * and the answers and result as JSON text.
 */
export type StoredAssessment =
  | { document: string | Buffer }
  | (Pick<AssessmentRecord, 'id' | 'createdAt' | 'companySize' | 'respondent'> & { document: null; answers: string; result: string });

export type IdempotencyRecord = {
  scope: string;
  key: string;
  requestHash: string;
  statusCode: number;
  /**
   * The body to replay: its JSON text when `assessmentIds` is null; otherwise a JSON array of the
   * texts around the documents of those assessments, one more text than ids.
   */
  response: string;
  /** The stored assessments the body carries, comma-separated in order; null when it carries none. */
  assessmentIds: string | null;
};

/**
 * What erasing an assessment found: it was stored and is erased now, it was erased before, or the
 * id names no assessment this database stored.
 */
export type Erasure = 'erased' | 'erased-before' | 'not-found';

/**
 * The request hash of a kept Idempotency-Key answer once an assessment it carries is erased: a hash
 * of the body would let anyone with the file confirm guessed answers. No SHA-256 in hex looks like it.
 */
export const ERASED_REQUEST = 'erased';

/** One request's assessments and the response to replay for its Idempotency-Key, if it had one. */
export type AssessmentGroup = { records: readonly AssessmentRecord[]; idempotency?: IdempotencyRecord };

/** Whether a file looked at now (`now`, undefined when it is gone) is the one looked at `then`. */
const sameFile = (now: Stats | undefined, then: Stats) => now !== undefined && now.dev === then.dev && now.ino === then.ino;

/**
 * The data-access layer of the running API: every query a request runs is a method here. Opening,
 * migrating and seeding the database (client.ts, seed.ts) are the rest of src/db.
 */
export class Repository {
  private readonly ids: AssessmentIds;
  /** The next reserved row number to give out, and the end of the reserved block. */
  private nextRow = 0;
  /** Set once the background checkpoints have stopped: commits then checkpoint as SQLite does by default. */
  private checkpointsAlone = false;
  private rowBlockEnd = 0;
  /** The end of the block reserved ahead, once the current one is nearly used. */
  private aheadBlockEnd: number | undefined;

  // Hot statements, prepared once.
  private readonly insertAssessment: BetterSqlite3.Statement;
  private readonly selectRowDocument: BetterSqlite3.Statement<[number, number], string>;
  private readonly reserveRows: (count: number) => number;
  private readonly selectDocument: BetterSqlite3.Statement<[string], string | Buffer | null>;
  private readonly selectLegacyAssessment: BetterSqlite3.Statement<[string], StoredAssessment>;
  private readonly insertIdempotency: BetterSqlite3.Statement;
  private readonly selectIdempotency: BetterSqlite3.Statement<[string, string], IdempotencyRecord & { createdAt: string }>;
  private readonly saveTransaction: (records: readonly AssessmentRecord[], idempotency?: IdempotencyRecord) => void;
  private readonly saveGroupsTransaction: (groups: readonly AssessmentGroup[]) => (Error | undefined)[];
  private readonly selectErased: BetterSqlite3.Statement<[string], string>;
  private readonly eraseTransaction: (id: string, location: AssessmentLocation | undefined) => Erasure;
  private readonly erasureListeners: { found: (ids: readonly string[]) => void; lost: () => void }[] = [];

  /**
   * The database file as opened (its device and inode), for a database in a file, with its real path:
   * the path a link leads to, where SQLite keeps its `-wal` and `-shm` while the database is open.
   */
  private readonly file: { path: string; realPath: string; opened: Stats } | undefined;
  /** Its write-ahead log, as first seen. */
  private wal: Stats | undefined;
  /** Its shared-memory index, as first seen. */
  private shm: Stats | undefined;

  constructor(
    readonly sqlite: BetterSqlite3.Database,
    readonly db: Db,
  ) {
    this.file =
      sqlite.memory || sqlite.name === ''
        ? undefined
        : { path: sqlite.name, realPath: realpathSync(sqlite.name), opened: statSync(sqlite.name) };
    // Opened (migrated and seeded) by now, so its log exists already when the database is in WAL mode.
    if (this.file !== undefined) {
      this.wal = statSync(`${this.file.realPath}-wal`, { throwIfNoEntry: false });
      this.shm = statSync(`${this.file.realPath}-shm`, { throwIfNoEntry: false });
    }
    this.ids = new AssessmentIds(this.idKey());
    this.insertAssessment = sqlite.prepare(
      `insert into assessment_documents (row_id, tag, created_at, company_size, respondent, document, instrument_version, scoring_version, kb_release, idempotency_key)
       values (@row, @tag, @createdAt, @companySize, @respondent, @document, @instrumentVersion, @scoringVersion, @kbRelease, @idempotencyKey)`,
    );
    this.selectRowDocument = sqlite
      .prepare<[number, number], string>('select document from assessment_documents where row_id = ? and tag = ?')
      .pluck();
    const reserveRowsStatement = sqlite
      .prepare<[number], number>('update assessment_id_keys set next_row = next_row + ? where id = 1 returning next_row')
      .pluck();
    // In an explicit transaction: the driver's get() does not report a failed autocommit (a full disk
    // at commit), which would hand out a block the database never recorded as taken.
    this.reserveRows = sqlite.transaction((count: number) => reserveRowsStatement.get(count) as number).immediate;
    this.selectDocument = sqlite.prepare<[string], string | Buffer | null>('select document from assessments where id = ?').pluck();
    this.selectLegacyAssessment = sqlite.prepare(
      `select id, created_at as createdAt, company_size as companySize, respondent, document, answers, result
       from assessments where id = ?`,
    );
    this.insertIdempotency = sqlite.prepare(
      `insert into idempotency_keys (scope, key, request_hash, status_code, response, assessment_ids, created_at)
       values (@scope, @key, @requestHash, @statusCode, @response, @assessmentIds, @createdAt)`,
    );
    this.selectIdempotency = sqlite.prepare(
      `select scope, key, request_hash as requestHash, status_code as statusCode, response, assessment_ids as assessmentIds,
         created_at as createdAt
       from idempotency_keys where scope = ? and key = ?`,
    );
    this.saveTransaction = sqlite.transaction((records: readonly AssessmentRecord[], idempotency?: IdempotencyRecord) => {
      for (const record of records) this.insertAssessment.run(record);
      if (idempotency) this.insertIdempotency.run({ ...idempotency, createdAt: new Date().toISOString() });
    });
    // Called inside a transaction, saveTransaction runs in a savepoint: a group that fails is
    // rolled back alone and the others commit. A group of one insert needs no savepoint, as SQLite
    // undoes a failing statement alone (a savepoint and its release cost about 2-3 µs). Some errors
    // (a full disk, an I/O error) end the whole transaction instead: the rest must then not run, or
    // each of their statements would commit on its own while the group commit is reported failed.
    // (No statement here fails under FAIL semantics, which would keep a failed statement's earlier
    // changes: the schema has no ON CONFLICT FAIL and no trigger raising FAIL.) The transaction
    // takes the write lock as it begins, so a database locked by another process fails it there,
    // before anything is written, after one busy_timeout (see waitForLocksBriefly).
    this.saveGroupsTransaction = sqlite.transaction((groups: readonly AssessmentGroup[]) =>
      groups.map((group) => {
        try {
          const { records, idempotency } = group;
          if (records.length === 1 && idempotency === undefined) this.insertAssessment.run(records[0]);
          else this.saveTransaction(records, idempotency);
          return undefined;
        } catch (error) {
          if (!sqlite.inTransaction) throw error;
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    ).immediate;
    this.selectErased = sqlite.prepare<[string], string>('select erased_at from erased_assessments where id = ?').pluck();
    this.eraseTransaction = this.prepareErasure();
  }

  /**
   * Erasing an assessment, in one transaction: its row goes (in either table) and its id is recorded
   * as erased. A kept Idempotency-Key answer that holds its document as text (a key stored before
   * answers referred to their assessments) is rewritten to refer to its assessments by id, or goes
   * when it does not read as a route's answer; every answer that refers to it loses its request hash
   * (ERASED_REQUEST), so that any request under its key is answered 410 (see AssessmentService).
   */
  private prepareErasure(): (id: string, location: AssessmentLocation | undefined) => Erasure {
    const { sqlite } = this;
    type Deleted = { key: string | null };
    const deleteRow = sqlite.prepare<[number, number], Deleted>(
      'delete from assessment_documents where row_id = ? and tag = ? returning idempotency_key as key',
    );
    const deleteLegacy = sqlite.prepare<[string], Deleted>('delete from assessments where id = ? returning idempotency_key as key');
    const insertErased = sqlite.prepare<[string, string]>('insert into erased_assessments (id, erased_at) values (?, ?)');
    const selectAnswersHolding = sqlite.prepare<[string, string], { scope: string; response: string }>(
      `select scope, response from idempotency_keys
       where scope in ('assessment', 'batch') and key = ? and assessment_ids is null and instr(response, ?) > 0`,
    );
    const referToAssessments = sqlite.prepare<[string, string, string, string]>(
      'update idempotency_keys set response = ?, assessment_ids = ? where scope = ? and key = ?',
    );
    const deleteAnswer = sqlite.prepare<[string, string]>('delete from idempotency_keys where scope = ? and key = ?');
    // The request's hash would let anyone with the file confirm guessed answers: replaced by a mark.
    const forgetRequest = sqlite.prepare<[string, string, string]>(
      `update idempotency_keys set request_hash = ?
       where scope in ('assessment', 'batch') and key = ? and instr(',' || assessment_ids || ',', ',' || ? || ',') > 0`,
    );
    return sqlite.transaction((id: string, location: AssessmentLocation | undefined): Erasure => {
      if (this.selectErased.get(id) !== undefined) return 'erased-before';
      // A DELETE ... RETURNING makes its change in its first step, which get() takes.
      const deleted = (location === undefined ? undefined : deleteRow.get(location.row, location.tag)) ?? deleteLegacy.get(id);
      if (deleted === undefined) return 'not-found';
      insertErased.run(id, new Date().toISOString());
      if (deleted.key !== null) {
        for (const { scope, response } of selectAnswersHolding.all(deleted.key, id)) {
          const references = asReferences(scope, response);
          if (references === undefined) deleteAnswer.run(scope, deleted.key);
          else referToAssessments.run(JSON.stringify(references.around), references.ids.join(','), scope, deleted.key);
        }
        forgetRequest.run(ERASED_REQUEST, deleted.key, id);
      }
      return 'erased';
    }).immediate;
  }

  /**
   * The database's id key, made at random on first use. Every process opening the database reads
   * the same key, whichever of them made it.
   */
  private idKey(): Buffer {
    const select = this.sqlite.prepare<[], Buffer>('select key from assessment_id_keys where id = 1').pluck();
    const existing = select.get();
    if (existing !== undefined) return existing;
    this.sqlite.prepare('insert or ignore into assessment_id_keys (id, key, next_row) values (1, ?, 1)').run(randomBytes(ID_KEY_BYTES));
    return select.get() as Buffer;
  }

  /**
   * A new assessment's id and row. Row numbers are reserved in blocks of ROW_BLOCK, each in a
   * transaction of its own, so processes sharing the database never give out the same row; the
   * numbers of a block a process does not use are skipped.
   */
  newAssessmentId(): NewAssessmentId {
    // Checked on every call, not only when a block runs out, so that a caller in a transaction fails
    // at once instead of once in ROW_BLOCK calls.
    if (this.sqlite.inTransaction) throw new Error('assessment ids are given out outside transactions');
    const left = this.rowBlockEnd - this.nextRow;
    if (left === 0) {
      // A write like any other: a lock held elsewhere or a full disk here takes readiness down too.
      // Without a block reserved ahead, it may wait longer for a lock than the group commit does.
      const end =
        this.aheadBlockEnd ?? this.recordingWrite(() => this.withBusyTimeout(RESERVE_BUSY_TIMEOUT_MS, () => this.reserveRows(ROW_BLOCK)));
      this.aheadBlockEnd = undefined;
      if (end - 1 > MAX_ROW) throw new RangeError('no assessment row numbers are left');
      this.nextRow = end - ROW_BLOCK;
      this.rowBlockEnd = end;
    } else if (this.aheadBlockEnd === undefined && left <= RESERVE_AHEAD_AT && left % RESERVE_AHEAD_EVERY === 0) {
      this.reserveAhead();
    }
    return this.ids.newId(this.nextRow++);
  }

  /** How many ids newAssessmentId gives out before it has to reserve a block: this one's and the one reserved ahead. */
  idsAtHand(): number {
    return this.rowBlockEnd - this.nextRow + (this.aheadBlockEnd === undefined ? 0 : ROW_BLOCK);
  }

  /**
   * Reserves the next block ahead, unless one is, waiting the serving busy timeout at most: for a
   * caller that waits off the request thread while another process holds the write lock. Returns the
   * lock's error when it is held elsewhere; any other failure throws, as a write's does.
   */
  reserveNextBlock(): unknown {
    if (this.aheadBlockEnd !== undefined) return undefined;
    try {
      this.aheadBlockEnd = this.recordingWrite(() => this.reserveRows(ROW_BLOCK));
      return undefined;
    } catch (error) {
      if (lockedElsewhere(error)) return error;
      throw error;
    }
  }

  /**
   * Reserves the next block while ids are left. A failure leaves it to a later try, and to the
   * reservation when the block runs out, which reports it.
   */
  private reserveAhead(): void {
    try {
      this.requireFileInPlace();
      this.aheadBlockEnd = this.reserveRows(ROW_BLOCK);
    } catch (error) {
      // Nothing reserved: the transaction did not commit.
      this.noteDamage(error);
    }
  }

  /**
   * One statement for an id this database gave out. Any other id (rows stored with random UUIDs),
   * or one that decodes to no stored row, is looked up in `assessments`: one more statement for a
   * row with a document, and a second for a row stored before documents.
   */
  findAssessment(id: string): StoredAssessment | undefined {
    this.requireOwnLog();
    return this.notingDamage(() => this.lookUpAssessment(id));
  }

  private lookUpAssessment(id: string): StoredAssessment | undefined {
    const location = this.ids.decode(id);
    if (location !== undefined) {
      const document = this.selectRowDocument.get(location.row, location.tag);
      if (document !== undefined) return { document };
    }
    const document = this.selectDocument.get(id);
    if (document === undefined) return undefined;
    if (document !== null) return { document };
    return this.selectLegacyAssessment.get(id);
  }

  /**
   * Erases a stored assessment (see prepareErasure), its bytes zeroed in the database. A write like any other: a lock held elsewhere
   * past the serving busy timeout, a full disk or a damaged file refuses it, erasing nothing.
   */
  eraseAssessment(id: string): Erasure {
    return this.withSecureDelete(() => this.recordingWrite(() => this.eraseTransaction(id, this.ids.decode(id))));
  }

  /**
   * Runs `work` with every page it frees overwritten with zeros, overflow pages too, not only marked
   * free (other writes zero only what costs no more I/O: SECURE_DELETE).
   */
  private withSecureDelete<T>(work: () => T): T {
    this.sqlite.pragma('secure_delete = ON');
    try {
      return work();
    } finally {
      this.sqlite.pragma(`secure_delete = ${SECURE_DELETE}`);
    }
  }

  /** Whether an assessment stored under this id was erased. */
  isErased(id: string): boolean {
    this.requireOwnLog();
    return this.notingDamage(() => this.selectErased.get(id) !== undefined);
  }

  /**
   * Calls `found` with the ids of assessments erased since the server started, by this process or
   * another sharing the database, as the background checkpoint finds them (every 100 ms), and `lost`
   * once they can no longer be found (the checkpoint thread stopped, or the log was replaced).
   */
  onErasures(found: (ids: readonly string[]) => void, lost: () => void): void {
    this.erasureListeners.push({ found, lost });
  }

  /** Tells the listeners of erasures found in the database (see onErasures). */
  erasuresFound(ids: readonly string[]): void {
    for (const listener of this.erasureListeners) listener.found(ids);
  }

  /** Tells the listeners of erasures that no more will be found (see onErasures). */
  erasuresLost(): void {
    for (const listener of this.erasureListeners) listener.lost();
  }

  /** The number (rowid) of the last erasure recorded, 0 for none: erasures are never deleted, so the numbers grow. */
  lastErasure(): number {
    return this.sqlite.prepare<[], number>('select coalesce(max(rowid), 0) from erased_assessments').pluck().get() as number;
  }

  /**
   * What the database takes for the data it holds (its pages but the free ones), what its free pages
   * hold (later writes fill them before the file grows), and what the disk under its file has left
   * for this process (undefined for a database in memory, and when the folder can no longer be looked
   * at: then `diskUnread`).
   */
  storageUse(): { usedBytes: number; freePageBytes: number; freeDiskBytes: number | undefined; diskUnread?: true } {
    const pragma = (name: string) => this.sqlite.pragma(name, { simple: true }) as number;
    const pageSize = pragma('page_size');
    const freePages = pragma('freelist_count');
    const usedBytes = (pragma('page_count') - freePages) * pageSize;
    const freePageBytes = freePages * pageSize;
    if (this.file === undefined) return { usedBytes, freePageBytes, freeDiskBytes: undefined };
    try {
      const { bavail, bsize } = statfsSync(dirname(this.file.realPath));
      return { usedBytes, freePageBytes, freeDiskBytes: bavail * bsize };
    } catch {
      return { usedBytes, freePageBytes, freeDiskBytes: undefined, diskUnread: true };
    }
  }

  findIdempotency(scope: string, key: string): IdempotencyRecord | undefined {
    this.requireOwnLog();
    return this.notingDamage(() => this.selectIdempotency.get(scope, key));
  }

  /**
   * Stores assessments in one transaction, all of them durable or none: a bulk load (`bench:scale`
   * fills its database through it). Submissions go through saveAssessmentGroups, with their keys.
   */
  saveAssessments(records: readonly AssessmentRecord[]): void {
    this.recordingWrite(() => this.saveTransaction(records));
  }

  /**
   * Stores several groups (each one request's assessments and Idempotency-Key) in one transaction,
   * each group all or nothing: returns, per group, the error that kept it out or undefined. Throws,
   * storing nothing, when the transaction itself cannot commit or an error has rolled it back.
   */
  saveAssessmentGroups(groups: readonly AssessmentGroup[]): (Error | undefined)[] {
    return this.recordingWrite(
      () => this.saveGroupsTransaction(groups),
      (outcomes) => {
        for (const outcome of outcomes) this.noteDamage(outcome);
        return outcomes.some((outcome) => storageFaultCode(outcome) !== undefined);
      },
    );
  }

  /** When a write last failed for its storage (a full disk, an I/O error, a lock held elsewhere), until one succeeds. */
  private storageFaultAt: number | undefined;

  /**
   * Set once SQLite reports the file damaged, by a read or a write, and kept until a restart: writes
   * into a damaged b-tree can spread the damage to rows stored before, so every write is refused
   * from then on, and the server is not ready.
   */
  private damaged = false;

  private noteDamage(error: unknown): void {
    if (isDamageCode(storageFaultCode(error))) this.damaged = true;
  }

  /** What `call` gives, or its error thrown again once noted (noteDamage). */
  private notingDamage<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      this.noteDamage(error);
      throw error;
    }
  }

  /** Takes note that SQLite found the file damaged outside a call of this class (the background checkpoint). */
  markDamaged(): void {
    this.damaged = true;
  }

  /**
   * Set once the -shm, or the -wal, at the file's path is seen to be another file than the one
   * opened (not merely deleted): another server may be writing the log there, and this connection's
   * index no longer tells which pages are where, so even a read could return another state of a
   * row, or pages of two. Stored assessments are then not read from the database until a restart.
   */
  private logLost = false;

  private requireOwnLog(): void {
    if (this.logLost) {
      throw new BetterSqlite3.SqliteError(
        `the -shm or -wal of the database file ${this.file?.path ?? ''} is another file than the one opened: restart the server to read the database again`,
        'SQLITE_IOERR',
      );
    }
  }

  /**
   * Whether the database file is still the one opened: deleted, or with another file renamed over it,
   * while open, it is no longer where the path leads, and what is written to it is lost at restart.
   * (A copy written over it in place keeps its inode: no stat can tell, hence stop before restoring.)
   */
  private fileInPlace(): boolean {
    if (this.file === undefined) return true;
    const { path, realPath, opened } = this.file;
    if (!sameFile(statSync(path, { throwIfNoEntry: false }), opened)) {
      // A link that now leads elsewhere leaves the file SQLite uses, and its log, where they are.
      if (!this.sameFileAtRealPath()) this.emptyLogOfMovedFile();
      return false;
    }
    // Moved back (`mv` there and back): a later move must be dealt with again. (Once its log was
    // removed from the path, the check of the log below refuses writes until a restart.)
    this.movedLogEmptied = false;
    // The log too: deleted while open, it takes every commit not yet checkpointed with it at the next
    // start (and other processes on the database get I/O errors). It exists from the first write on.
    const wal = statSync(`${realPath}-wal`, { throwIfNoEntry: false });
    if (this.wal === undefined) this.wal = wal;
    else if (!sameFile(wal, this.wal)) {
      if (wal !== undefined) this.logLost = true;
      return false;
    }
    // And the shared-memory index, which holds the write lock between processes: deleted while open,
    // a server started next opens a new one, and each then takes the lock in its own, both writing
    // the log at once (rows out of order, and acknowledged writes lost).
    const shm = statSync(`${realPath}-shm`, { throwIfNoEntry: false });
    if (this.shm === undefined) this.shm = shm;
    else if (!sameFile(shm, this.shm)) {
      this.logLost = true;
      return false;
    }
    return true;
  }

  /** Whether the log of the file has been emptied since the file was last found in place (see emptyLogOfMovedFile). */
  private movedLogEmptied = false;

  /**
   * Once the database file is no longer at its real path (deleted, or another file renamed over it),
   * writes what its log holds back into the file this process has open, empties the log, and then
   * removes the `-wal` and `-shm` at that path when they are still this file's. SQLite closes a moved
   * file without emptying its log and leaves both where they were: the next start would read that log
   * as the log of whatever file is there then (a backup renamed into place, or a new database) and
   * write the old pages over it, and a server started there while this one runs would share both
   * with it. Done as soon as the move is seen, so that a kill after it is safe too, and again as the
   * server closes, waiting up to CLOSE_CHECKPOINT_WAIT_MS for a reader in another process that holds
   * it back (while serving, the next check tries again). No write goes to the file after that: each
   * one checks the file first, and this process reads on through the files it holds.
   */
  private emptyLogOfMovedFile(waitMs = 0): boolean {
    if (this.movedLogEmptied) return true;
    if (!this.sqlite.open || this.file === undefined) return false;
    try {
      const [outcome] = (
        waitMs > 0
          ? this.withBusyTimeout(waitMs, () => this.sqlite.pragma('wal_checkpoint(TRUNCATE)'))
          : this.sqlite.pragma('wal_checkpoint(TRUNCATE)')
      ) as { busy: number }[];
      this.movedLogEmptied = outcome?.busy === 0;
    } catch {
      // The files this process holds failed too (a full disk, an I/O error).
    }
    if (this.movedLogEmptied) {
      for (const [path, ours] of [
        [`${this.file.realPath}-wal`, this.wal],
        [`${this.file.realPath}-shm`, this.shm],
      ] as const) {
        try {
          if (ours !== undefined && sameFile(statSync(path, { throwIfNoEntry: false }), ours)) unlinkSync(path);
        } catch {
          // Its folder cannot be looked at or written: the log at least is empty.
        }
      }
    }
    return this.movedLogEmptied;
  }

  /**
   * fileInPlace, or a storage fault when the file cannot be looked at (its folder made unreadable
   * while open): SQLite may still write to the files it holds, but no restart would open them.
   */
  private checkFileInPlace(): boolean {
    try {
      return this.fileInPlace();
    } catch (error) {
      throw new BetterSqlite3.SqliteError(
        `the database file ${this.file?.path} cannot be looked at (${(error as NodeJS.ErrnoException).code ?? 'error'}): check its folder's permissions`,
        'SQLITE_CANTOPEN',
      );
    }
  }

  /** Throws before a write to a database file that is no longer where its path leads (see fileInPlace). */
  private requireFileInPlace(): void {
    if (this.damaged) {
      throw new BetterSqlite3.SqliteError(
        `the database file ${this.file?.path ?? ''} was found damaged: writes are refused until it is restored and the server restarted`,
        'SQLITE_CORRUPT',
      );
    }
    // SQLite's own code for a database file moved while open, which it reports only without WAL.
    if (!this.checkFileInPlace()) {
      throw new BetterSqlite3.SqliteError(
        `the database file ${this.file?.path}, its -wal or its -shm was deleted or replaced while open: restart the server to open what is there now`,
        'SQLITE_READONLY_DBMOVED',
      );
    }
  }

  private recordingWrite<T>(write: () => T, faulted: (result: T) => boolean = () => false): T {
    let result: T;
    try {
      this.requireFileInPlace();
      result = write();
    } catch (error) {
      if (storageFaultCode(error) !== undefined) this.storageFaultAt = Date.now();
      this.noteDamage(error);
      throw error;
    }
    this.storageFaultAt = faulted(result) ? Date.now() : undefined;
    return result;
  }

  /**
   * From now on a lock held by another connection is waited for SERVING_BUSY_TIMEOUT_MS at most:
   * better-sqlite3 waits on the request thread, so the 5 s of start-up would stop every request,
   * reads and health checks included, for as long. The group commit retries a commit that found
   * the database locked, off the thread (see GroupCommit).
   */
  waitForLocksBriefly(): void {
    this.sqlite.pragma(`busy_timeout = ${SERVING_BUSY_TIMEOUT_MS}`);
  }

  private withBusyTimeout<T>(ms: number, work: () => T): T {
    const before = this.sqlite.pragma('busy_timeout', { simple: true }) as number;
    if (before >= ms) return work();
    this.sqlite.pragma(`busy_timeout = ${ms}`);
    try {
      return work();
    } finally {
      this.sqlite.pragma(`busy_timeout = ${before}`);
    }
  }

  /** Forgets Idempotency-Keys older than the cutoff, at most `limit` of them, oldest first; returns how many. */
  purgeIdempotencyKeys(before: Date, limit = -1): number {
    this.requireFileInPlace();
    // A key's answer kept whole holds its assessments' text, overflow pages and all: zeroed as it goes,
    // as an erasure's row is (so that one erased later leaves no copy in a page freed here).
    return this.withSecureDelete(() =>
      this.notingDamage(
        () =>
          this.sqlite
            .prepare(
              `delete from idempotency_keys where rowid in
                 (select rowid from idempotency_keys where created_at < ? order by created_at limit ?)`,
            )
            // A negative LIMIT is no limit.
            .run(before.toISOString(), limit).changes,
      ),
    );
  }

  countAssessments(): number {
    return countStoredAssessments(this.sqlite);
  }

  /** Makes commits on this connection checkpoint the log again, as SQLite does by default: for when background checkpoints stop. */
  checkpointOnCommits(): void {
    this.checkpointsAlone = true;
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  }

  /**
   * While a reader elsewhere holds a backlog in the log, commits on this connection do not checkpoint
   * (the background connection copies it, without stopping requests); then the backstop applies again.
   * Once the background checkpoints have stopped, commits checkpoint as SQLite does by default.
   */
  holdBackstop(backlog: boolean): void {
    if (this.checkpointsAlone || !this.sqlite.open) return;
    this.sqlite.pragma(`wal_autocheckpoint = ${backlog ? 0 : BACKSTOP_CHECKPOINT_PAGES}`);
  }

  /**
   * Whether the database answers (its file in place, with its -wal and -shm, and never found
   * damaged since the start), whether its migrations are exactly this build's (every one
   * applied, and none from another version that migrated it since this process opened it), and
   * whether no write has failed for its storage in the last STORAGE_FAULT_MS without one succeeding since.
   */
  readiness(): { database: boolean; migrations: boolean; storage: boolean } {
    // A write that failed for its storage keeps this down for a while, not until a write succeeds:
    // taken out of rotation, the server would get no write to succeed with.
    const storage = this.storageFaultAt === undefined || Date.now() - this.storageFaultAt > STORAGE_FAULT_MS;
    let database: boolean;
    try {
      database = !this.damaged && this.fileInPlace();
    } catch {
      database = false;
    }
    try {
      const { missing, unknown } = migrationState(this.sqlite);
      return { database, migrations: missing === 0 && unknown.length === 0, storage };
    } catch {
      return { database: false, migrations: false, storage };
    }
  }

  /**
   * Reads the whole current release in a handful of queries, inside one read transaction: a seed
   * committed by another process between two of them would otherwise pair old citations with new
   * expectation ids.
   */
  readKnowledgeBase(): KnowledgeBaseData {
    return this.sqlite.transaction(() => this.readReleaseRows())();
  }

  /** The questions of every instrument version seeded, each with the release that seeded them last, by version. */
  readQuestionBanks(): QuestionBank[] {
    return this.db
      .select({ version: t.questionBanks.instrumentVersion, kbRelease: t.questionBanks.kbRelease, questions: t.questionBanks.questions })
      .from(t.questionBanks)
      .orderBy(asc(t.questionBanks.instrumentVersion))
      .all()
      .map((bank) => ({ ...bank, questions: JSON.parse(bank.questions) as Question[] }));
  }

  private readReleaseRows(): KnowledgeBaseData {
    const db = this.db;
    const release = db
      .select({
        id: t.releases.id,
        contentHash: t.releases.contentHash,
        instrumentVersion: t.releases.instrumentVersion,
        seededAt: t.releases.seededAt,
      })
      .from(t.releases)
      .where(eq(t.releases.current, true))
      .get();
    if (!release) throw new Error('The knowledge base has not been seeded');

    const sources = db.select().from(t.sources).orderBy(asc(t.sources.id)).all();
    const roles = db
      .select({ slug: t.roles.slug, name: t.roles.name, summary: t.roles.summary, typicalDay: t.roles.typicalDay })
      .from(t.roles)
      .orderBy(asc(t.roles.position))
      .all();
    const competencies = db
      .select({
        slug: t.competencies.slug,
        name: t.competencies.name,
        category: t.competencies.category,
        description: t.competencies.description,
      })
      .from(t.competencies)
      .orderBy(asc(t.competencies.position))
      .all();
    const companySizes = db
      .select({
        slug: t.companySizes.slug,
        name: t.companySizes.name,
        headcountMin: t.companySizes.headcountMin,
        headcountMax: t.companySizes.headcountMax,
        order: t.companySizes.position,
        description: t.companySizes.description,
      })
      .from(t.companySizes)
      .orderBy(asc(t.companySizes.position))
      .all()
      .map((size) => ({ ...size, order: size.order + 1 }));

    const citationRows = db.select().from(t.citations).orderBy(asc(t.citations.id)).all();
    const citationsOf = (key: 'expectationId' | 'variantId') => {
      const byOwner = new Map<number, Citation[]>();
      for (const row of citationRows) {
        const owner = row[key];
        if (owner === null) continue;
        const list = byOwner.get(owner) ?? [];
        list.push({ source: row.sourceId, claim: row.claim });
        byOwner.set(owner, list);
      }
      return byOwner;
    };
    const expectationCitations = citationsOf('expectationId');
    const variantCitations = citationsOf('variantId');

    const variantRows = db
      .select({
        id: t.variants.id,
        expectationId: t.variants.expectationId,
        companySize: t.companySizes.slug,
        level: t.variants.level,
        rationale: t.variants.rationale,
        editorial: t.variants.editorial,
      })
      .from(t.variants)
      .innerJoin(t.companySizes, eq(t.variants.companySizeId, t.companySizes.id))
      .orderBy(asc(t.companySizes.position))
      .all();
    const variantsByExpectation = new Map<number, Variant[]>();
    for (const { id, expectationId, ...variant } of variantRows) {
      const list = variantsByExpectation.get(expectationId) ?? [];
      list.push({ ...variant, citations: variantCitations.get(id) ?? [] });
      variantsByExpectation.set(expectationId, list);
    }

    const expectations = db
      .select({
        id: t.expectations.id,
        role: t.roles.slug,
        competency: t.competencies.slug,
        level: t.expectations.level,
        rationale: t.expectations.rationale,
        editorial: t.expectations.editorial,
      })
      .from(t.expectations)
      .innerJoin(t.roles, eq(t.expectations.roleId, t.roles.id))
      .innerJoin(t.competencies, eq(t.expectations.competencyId, t.competencies.id))
      .orderBy(asc(t.roles.position), asc(t.competencies.position))
      .all()
      .map(({ id, ...e }) => ({
        ...e,
        citations: expectationCitations.get(id) ?? [],
        variants: variantsByExpectation.get(id) ?? [],
      }));

    const questions = db
      .select({
        id: t.questions.id,
        prompt: t.questions.prompt,
        competency: t.competencies.slug,
        keyed: t.questions.keyed,
        order: t.questions.position,
      })
      .from(t.questions)
      .innerJoin(t.competencies, eq(t.questions.competencyId, t.competencies.id))
      .orderBy(asc(t.questions.position))
      .all()
      .map((q) => ({ ...q, order: q.order + 1 }));

    return { release, sources, roles, competencies, companySizes, expectations, questions };
  }

  /** Looks at the database file now, as a write would: one found moved is seen to at once (see emptyLogOfMovedFile). */
  lookAtFile(): void {
    try {
      this.fileInPlace();
    } catch {
      // A path that cannot be looked at: the next write says so.
    }
  }

  /** The database file as opened, by its device and inode; undefined for a database in memory. */
  openedFile(): { dev: number; ino: number } | undefined {
    return this.file === undefined ? undefined : { dev: this.file.opened.dev, ino: this.file.opened.ino };
  }

  isOpen(): boolean {
    return this.sqlite.open;
  }

  /**
   * Closes the database. Returns a warning when its file was moved away and its log could not be
   * emptied (a reader in another process held it back): the log left at the path must then be moved
   * aside before a server opens the path again.
   */
  close(): string | undefined {
    if (!this.sqlite.open) return undefined;
    let warning: string | undefined;
    try {
      // A file moved away had its -wal and -shm removed from the path by this process (see
      // emptyLogOfMovedFile), and SQLite does not checkpoint a moved file as it closes.
      const replaced = this.sameFileAtRealPath() ? this.replacedLog() : undefined;
      if (replaced !== undefined) {
        // As the last connection in its -shm, this one would checkpoint the log as it closes, by an
        // index that no longer tells what a server started since wrote (under another -shm, or into
        // another -wal), and then delete the log: its pages would be copied wrong and its commits
        // lost. Left open, the connection goes with the process: the server ends with process.exit,
        // which closes no database (a process left to end by itself would close it, through the
        // driver's clean-up, and do just that).
        return `the ${replaced} of the database file ${this.file?.path} was ${replaced === '-shm' ? 'deleted or replaced' : 'replaced'} while open: the database is left to the end of the process unclosed, so that the log another server may be writing is neither copied into the file nor deleted`;
      }
      if (!this.fileInPlace() && !this.sameFileAtRealPath() && !this.emptyLogOfMovedFile(CLOSE_CHECKPOINT_WAIT_MS)) {
        warning = `the database file ${this.file?.path} was moved away while open, and its log could not be emptied (another process reads it): move ${this.file?.realPath}-wal and its -shm aside before a server opens that path again`;
      }
    } catch {
      // A path that cannot be looked at: it cannot be reopened by a restart either.
    }
    this.sqlite.close();
    return warning;
  }

  /**
   * Which of the -shm and -wal beside the file is no longer this process's: a -shm deleted or another
   * made since, or another -wal (one deleted with none made since still is: closing copies its frames
   * into the file).
   */
  private replacedLog(): '-shm' | '-wal' | undefined {
    if (this.file === undefined) return undefined;
    if (this.shm !== undefined && !sameFile(statSync(`${this.file.realPath}-shm`, { throwIfNoEntry: false }), this.shm)) return '-shm';
    const wal = statSync(`${this.file.realPath}-wal`, { throwIfNoEntry: false });
    if (this.wal !== undefined && wal !== undefined && !sameFile(wal, this.wal)) return '-wal';
    return undefined;
  }

  /** Whether the file SQLite keeps its log beside (the real path, a link followed) is still the one opened. */
  private sameFileAtRealPath(): boolean {
    if (this.file === undefined) return true;
    return sameFile(statSync(this.file.realPath, { throwIfNoEntry: false }), this.file.opened);
  }
}
