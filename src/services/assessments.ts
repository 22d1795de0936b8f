import { createHash } from 'node:crypto';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import {
  type AssessmentRecord,
  ERASED_REQUEST,
  type Erasure,
  type IdempotencyRecord,
  type NewAssessmentId,
  type Repository,
} from '../db/repository.js';
import { lockedElsewhere, storageFaultCode } from '../db/storage-faults.js';
import { assess } from '../domain/assessment.js';
import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { SCORING_VERSION } from '../domain/scoring.js';
import {
  ApiError,
  BadRequestError,
  ErasedError,
  type FieldProblem,
  InsufficientStorageError,
  ShuttingDownError,
  SUBMISSION_STATUS,
  SubmissionError,
  type SubmissionFault,
  UnprocessableError,
} from '../errors.js';
import { MAX_BATCH_ITEMS, type SubmissionInput } from '../schemas/assessment.js';
import { type AssessmentParts, answersJson, assessmentJson, resultJson } from './assessment-json.js';
import { GroupCommit, LOCK_RETRY_MS, LOCK_WAIT_MS, SHUT_DOWN_BEFORE_STORED } from './group-commit.js';
import type { RecentAssessments } from './recent-assessments.js';
import { ROW_OVERHEAD_BYTES, SHORTAGE_DETAIL, type StorageRoom } from './storage-room.js';
import { batchItems, checkSubmission, type SubmissionCheck } from './submission-check.js';

/** A response ready to send: status and JSON text, replayable byte for byte. */
export type StoredResponse = { status: number; body: string; assessmentId?: string; replayed: boolean };

/**
 * A stored assessment ready to send: its JSON (the stored text, or rebuilt for rows stored before
 * documents), or the gzip of its JSON for rows stored when documents were kept compressed.
 */
export type FoundAssessment = { json: string | Buffer; gzip?: undefined } | { gzip: Buffer; json?: undefined };

/** A gzip member starts with these two bytes; a JSON document starts with `{`. */
const isGzip = (document: Buffer) => document[0] === 0x1f && document[1] === 0x8b;

export type Scope = 'assessment' | 'batch';

/**
 * JSON with object keys sorted, so that two equal bodies hash alike whatever their key order. A
 * number too large for a double (1e999) parses to ±Infinity, which JSON.stringify would write as
 * null: it is written as the word instead, which no JSON text holds, so the two stay apart.
 */
function canonical(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** How a submission is read for its hash: whether null fields count as left out, and the label trimmed. */
type Reading = { dropNulls: boolean; trimLabel: boolean };

/**
 * A submission as it is stored: its optional fields given as null mean the same as left out, and its
 * label the same with or without the whitespace around it (it is stored trimmed), so a retry may send
 * either.
 */
const AS_STORED: Reading = { dropNulls: true, trimLabel: true };

/**
 * How earlier versions read a body for the hash they kept with its key, and a database may still hold
 * for 48 hours after an upgrade: as sent (until 2026-12-03), then with its nulls dropped but its label
 * as sent (until 2026-12-04).
 */
const EARLIER_READINGS: readonly Reading[] = [
  { dropNulls: false, trimLabel: false },
  { dropNulls: true, trimLabel: false },
];

function readSubmission(submission: unknown, reading: Reading): unknown {
  if (submission === null || typeof submission !== 'object' || Array.isArray(submission)) return submission;
  const { companySize, respondent, ...rest } = submission as Record<string, unknown>;
  const left = (value: unknown) => value === undefined || (reading.dropNulls && value === null);
  return {
    ...rest,
    ...(left(companySize) ? {} : { companySize }),
    ...(left(respondent) ? {} : { respondent: reading.trimLabel && typeof respondent === 'string' ? respondent.trim() : respondent }),
  };
}

/** What a retry must repeat: the body as scored, each submission as `reading` has it. */
function asScored(scope: Scope, body: unknown, reading: Reading): unknown {
  if (scope === 'assessment') return readSubmission(body, reading);
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? { ...(body as object), items: items.map((item) => readSubmission(item, reading)) } : body;
}

const hashOf = (scope: Scope, body: unknown, reading: Reading = AS_STORED) =>
  createHash('sha256')
    .update(scope)
    .update('\n')
    .update(canonical(asScored(scope, body, reading)))
    .digest('hex');

/** Whether the body holds a number too large for a double, which earlier versions hashed as null. */
function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value as Record<string, unknown>).some(holdsNonFinite);
}

/** A keyed request: its route's scope, its Idempotency-Key, its body and the body's hash. */
type Keyed = { scope: Scope; key: string; body: unknown; hash: string };

/**
 * Whether a key's stored hash is that of this request: as this version reads it or, for a key kept
 * before an upgrade, as an earlier version did. A body with a number too large for a double only
 * matches this version's hash: earlier versions hashed it as null, and would take it for a body
 * holding null there.
 */
function sameRequest(stored: string, request: Keyed): boolean {
  if (stored === request.hash) return true;
  if (holdsNonFinite(request.body)) return false;
  return EARLIER_READINGS.some((reading) => stored === hashOf(request.scope, request.body, reading));
}

/** A new assessment: the record to store, whose document is the JSON text of its 201 and of every read. */
export type NewAssessment = { record: AssessmentRecord };

/** Builds the record of a scored assessment; the document is the JSON a read will send. */
export function newAssessment(parts: AssessmentParts & Omit<AssessmentRecord, keyof AssessmentParts | 'document'>): NewAssessment {
  const { answers, result, ...columns } = parts;
  return { record: { ...columns, document: assessmentJson(parts, parts.idempotencyKey) } };
}

/**
 * A checked submission scored against the knowledge base, as the record to store under a new id
 * from `ids` (taken once the submission is scored).
 */
export function scoredAssessment(
  kb: KnowledgeBase,
  submission: SubmissionInput,
  ids: { newAssessmentId(): NewAssessmentId },
  idempotencyKey: string | null,
): NewAssessment {
  const result = assess(kb, submission);
  // Named one by one: spreading the new id into this literal made V8 keep these records far longer
  // (the old generation grew about 5 MB a second under a POST load, and peak RSS by 40-60 MB).
  const { id, row, tag } = ids.newAssessmentId();
  return newAssessment({
    id,
    row,
    tag,
    createdAt: new Date().toISOString(),
    companySize: submission.companySize ?? null,
    respondent: submission.respondent ?? null,
    answers: answersJson(submission.answers),
    result: resultJson(result),
    instrumentVersion: result.versions.instrument,
    scoringVersion: SCORING_VERSION,
    kbRelease: result.versions.kbRelease,
    idempotencyKey,
  });
}

/**
 * What a write prepared: the records to store and the answer to send once they are committed. The
 * answer is `around` with each record's document put between two of its texts (one more text than
 * records), so that an Idempotency-Key can keep those texts and the records' ids instead of a second
 * copy of every document.
 */
type Prepared = {
  records: AssessmentRecord[];
  status: number;
  around: readonly string[];
  /** When the work began to wait for the write lock (for row numbers), if it did. */
  lockedSince?: number;
};

/** The texts of `around` with each document between two of them, in order. */
function interleave(around: readonly string[], documents: readonly string[]): string {
  let text = around[0] ?? '';
  for (let i = 0; i < documents.length; i++) text += (documents[i] as string) + (around[i + 1] ?? '');
  return text;
}

/** The answer to any request under a key whose assessment (a batch's: one of whose) was erased. */
const keyErased = (scope: Scope) =>
  scope === 'assessment'
    ? 'The assessment this Idempotency-Key stored was erased, so its answer is no longer replayed: send a new submission with a new key.'
    : "An assessment this Idempotency-Key stored was erased, so the batch's answer is no longer replayed. Its other " +
      'assessments are still at the ids first answered; send a new batch with a new key.';

/** The assessment a single submission's answer is: the one it stored. */
const assessmentIdOf = (scope: Scope, ids: readonly string[]) => (scope === 'assessment' ? ids[0] : undefined);

/** Batch items scored between two turns of the event loop (about 10 ms of scoring). */
const BATCH_SLICE = 25;

export type ItemOutcome = ({ status: 201 } & NewAssessment) | { status: 400 | 422; fault: SubmissionFault; errors: FieldProblem[] };

/** A batch item its checks refuse, answered with its problems. */
const refusal = ({ fault, errors }: Extract<SubmissionCheck, { ok: false }>): ItemOutcome => ({
  status: SUBMISSION_STATUS[fault],
  fault,
  errors,
});

/**
 * Scores, stores and replays assessments. Nothing awaits between looking up an Idempotency-Key
 * and registering its work (scoring and saving) as in flight, and a request with a key in flight
 * waits for that work, so two requests with one key cannot both score and store.
 */
export class AssessmentService {
  /** Work under way per Idempotency-Key (scoring, then saving): a retry that arrives meanwhile waits for it. */
  private readonly inFlight = new Map<string, { work: Promise<unknown>; hash: string }>();

  private readonly writer: GroupCommit;

  /**
   * `recent`: assessments kept in memory once committed, read back without the database; `room`:
   * whether new ones have room (none checked without it).
   */
  constructor(
    private readonly kb: KnowledgeBase,
    private readonly repository: Repository,
    private readonly recent: RecentAssessments,
    private readonly room?: StorageRoom,
  ) {
    this.writer = new GroupCommit(repository);
    // Erased by another process sharing the database: no longer answered from memory here either.
    // Once erasures can no longer be told (the checkpoint thread stopped), nothing is: every read
    // goes to the database.
    repository.onErasures(
      (ids) => {
        for (const id of ids) recent.delete(id);
      },
      () => recent.close(),
    );
  }

  /**
   * Waits until `count` row numbers are at hand, reserving a block while another process holds the
   * write lock: a try every LOCK_RETRY_MS, off the request thread, one try at a time however many
   * submissions wait, up to LOCK_WAIT_MS (then the lock's 503). Returns when the wait began, which
   * the commit's wait counts from.
   */
  private async rowsFor(count: number): Promise<number> {
    const since = Date.now();
    while (this.repository.idsAtHand() < count) {
      if (!this.repository.isOpen()) throw new ShuttingDownError(SHUT_DOWN_BEFORE_STORED);
      this.reserving ??= this.reserveRows().finally(() => {
        this.reserving = undefined;
      });
      const locked = await this.reserving;
      if (locked !== undefined && Date.now() - since >= LOCK_WAIT_MS) throw locked;
    }
    return since;
  }

  /** The reservation under way for the submissions waiting in rowsFor. */
  private reserving: Promise<unknown> | undefined;

  /** One try to reserve row numbers: nothing once it did, or the lock's error after LOCK_RETRY_MS. */
  private async reserveRows(): Promise<unknown> {
    if (!this.repository.isOpen()) return undefined;
    const locked = this.repository.reserveNextBlock();
    if (locked !== undefined) await sleep(LOCK_RETRY_MS);
    return locked;
  }

  preview(raw: unknown) {
    const check = checkSubmission(this.kb, raw);
    if (!check.ok) throw new SubmissionError(check.fault, check.errors);
    const { submission } = check;
    return {
      companySize: submission.companySize ?? null,
      respondent: submission.respondent ?? null,
      answers: submission.answers,
      result: assess(this.kb, submission),
    };
  }

  create(raw: unknown, idempotencyKey: string | undefined): Promise<StoredResponse> {
    return this.idempotent('assessment', raw, idempotencyKey, () => {
      const check = checkSubmission(this.kb, raw);
      if (!check.ok) throw new SubmissionError(check.fault, check.errors);
      const stored = (lockedSince?: number): Prepared => ({
        records: [this.score(check.submission, idempotencyKey ?? null).record],
        status: 201,
        around: ['', ''],
        lockedSince,
      });
      // Prepared at once while row numbers are at hand, as they nearly always are.
      return this.repository.idsAtHand() > 0 ? stored() : this.rowsFor(1).then(stored);
    });
  }

  /**
   * Each item is checked, scored and stored on its own; bad items are answered with their problem.
   * Items are scored a slice at a time, letting other requests run between slices: 500 items in one
   * go held every other request up for about 200 ms.
   */
  async createBatch(raw: unknown, idempotencyKey: string | undefined, problemOf: (error: ApiError) => unknown): Promise<StoredResponse> {
    return this.idempotent('batch', raw, idempotencyKey, async () => {
      // Checked once the key is, as a single submission is: a key reused with another body or erased
      // is told so whatever the body, and a bad envelope throws before anything is stored under it.
      const batch = batchItems(raw, MAX_BATCH_ITEMS);
      if (!batch.ok) {
        const count = batch.errors.length;
        throw new BadRequestError(
          `The batch has ${count} problem${count === 1 ? '' : 's'}: its body must be { "items": [...] } with 1 to ${MAX_BATCH_ITEMS} submissions.`,
          batch.errors,
        );
      }
      const checks: SubmissionCheck[] = [];
      for (const [i, item] of batch.items.entries()) {
        if (i > 0 && i % BATCH_SLICE === 0) await setImmediate();
        checks.push(checkSubmission(this.kb, item, `body.items[${i}]`));
      }
      const scorable = checks.filter((check) => check.ok).length;
      const lockedSince = this.repository.idsAtHand() < scorable ? await this.rowsFor(scorable) : undefined;
      const outcomes: ItemOutcome[] = [];
      for (const [i, check] of checks.entries()) {
        if (i > 0 && i % BATCH_SLICE === 0) await setImmediate();
        // Each stored item keeps the key its batch came with.
        outcomes.push(check.ok ? { status: 201, ...this.score(check.submission, idempotencyKey ?? null) } : refusal(check));
      }
      const records: AssessmentRecord[] = [];
      const around: string[] = [];
      let text = '{"items":[';
      for (const [i, o] of outcomes.entries()) {
        if (i > 0) text += ',';
        if (o.status === 201) {
          records.push(o.record);
          // The path a single POST's Location gives (an id is hex digits and hyphens: no escaping).
          around.push(`${text}{"status":201,"location":"/v1/assessments/${o.record.id}","assessment":`);
          text = '}';
        } else {
          text += JSON.stringify({ status: o.status, problem: problemOf(new SubmissionError(o.fault, o.errors)) });
        }
      }
      around.push(`${text}]}`);
      return { records, status: 200, around, lockedSince };
    });
  }

  find(id: string): FoundAssessment | undefined {
    const kept = this.recent.get(id);
    return kept === undefined ? this.findStored(id) : { json: kept };
  }

  /**
   * find() without a copy of one kept in memory: its body is valid in this turn of the event loop
   * only, unless held (see RecentAssessments.view).
   */
  peek(id: string): FoundAssessment | undefined {
    const kept = this.recent.view(id);
    return kept === undefined ? this.findStored(id) : { json: kept };
  }

  /** Holds a body peek() gave until the function returned is called (see RecentAssessments.hold). */
  hold(body: Buffer): () => void {
    return this.recent.hold(body);
  }

  /** An assessment as the database holds it. */
  private findStored(id: string): FoundAssessment | undefined {
    const stored = this.repository.findAssessment(id);
    if (!stored) return undefined;
    const { document } = stored;
    if (document === null) return { json: assessmentJson(stored) };
    if (typeof document === 'string') return { json: document };
    return isGzip(document) ? { gzip: document } : { json: document };
  }

  private score(submission: SubmissionInput, idempotencyKey: string | null): NewAssessment {
    return scoredAssessment(this.kb, submission, this.repository, idempotencyKey);
  }

  private async idempotent(
    scope: Scope,
    raw: unknown,
    key: string | undefined,
    run: () => Prepared | Promise<Prepared>,
  ): Promise<StoredResponse> {
    if (key === undefined) return this.store(scope, undefined, run);
    const request: Keyed = { scope, key, body: raw, hash: hashOf(scope, raw) };
    const slot = `${scope}\n${key}`;
    for (let pending = this.inFlight.get(slot); pending; pending = this.inFlight.get(slot)) {
      const failed = await pending.work.then(
        () => undefined,
        (error: unknown) => error,
      );
      // The server is shutting down: nothing more is stored, whatever the body.
      if (failed instanceof ShuttingDownError) throw failed;
      // The same body met a storage fault (a lock held elsewhere for 5 s, a full disk): a retry of it
      // gets that answer at once, rather than 5 s more of its own behind each one before it. Another
      // body under the key (a corrected submission) is still tried on its own.
      if (storageFaultCode(failed) !== undefined && pending.hash === request.hash) throw failed;
    }
    // The database is closed (the shutdown grace ran out, or ran out while this request waited): no
    // key can be looked up, so the request is refused as the shutdown refuses it.
    if (!this.repository.isOpen()) {
      throw new ShuttingDownError(
        'The server shut down before this request could be answered. Send it again with the same Idempotency-Key.',
      );
    }
    // From here to registering the work below nothing awaits, so one key is stored once: a retry
    // that arrives while the work is scored or saved waits for it, then replays it.
    const replay = this.replay(request);
    if (replay) return replay;
    const work = this.store(scope, request, run);
    this.inFlight.set(slot, { work, hash: request.hash });
    work
      .finally(() => {
        if (this.inFlight.get(slot)?.work === work) this.inFlight.delete(slot);
      })
      .catch(() => undefined);
    return work;
  }

  /** Runs the work and stores what it prepared with its key, answering once that has committed. */
  private async store(scope: Scope, request: Keyed | undefined, run: () => Prepared | Promise<Prepared>) {
    const prepared = run();
    // A single submission is prepared at once: only a batch's work is awaited.
    const { records, status, around, lockedSince } = prepared instanceof Promise ? await prepared : prepared;
    const body = interleave(
      around,
      records.map((record) => record.document),
    );
    const ids = records.map((record) => record.id);
    const assessmentId = assessmentIdOf(scope, ids);
    // Nothing to store and no key to keep (a batch of refused items): no commit to wait for.
    if (records.length === 0 && request === undefined) return { status, body, assessmentId, replayed: false };
    // A replay puts the stored documents back between the texts around them.
    const idempotency: IdempotencyRecord | undefined =
      request === undefined
        ? undefined
        : {
            scope,
            key: request.key,
            requestHash: request.hash,
            statusCode: status,
            ...(ids.length === 0
              ? { response: body, assessmentIds: null }
              : { response: JSON.stringify(around), assessmentIds: ids.join(',') }),
          };
    // Checked once the submissions are, so that one that stores nothing is told what is wrong with
    // it; the key's record counts too (a keyed batch of refused items keeps their problems).
    let claimed = idempotency === undefined ? 0 : idempotency.key.length + idempotency.response.length + ROW_OVERHEAD_BYTES;
    for (const record of records) claimed += record.document.length + ROW_OVERHEAD_BYTES;
    const shortage = this.room?.claim(claimed);
    if (shortage !== undefined) throw new InsufficientStorageError(SHORTAGE_DETAIL[shortage]);
    try {
      await this.writer.save({ records, idempotency }, lockedSince);
      this.room?.settle(claimed, true);
    } catch (error) {
      this.room?.settle(claimed, false);
      // Another process stored this key first: answer as it did. A save this server refused itself
      // (shutting down, the database closed) has nothing to look up.
      const replay = request === undefined || error instanceof ApiError ? undefined : this.replay(request);
      if (replay) return replay;
      throw error;
    }
    // Committed, so kept for reads.
    for (const record of records) this.recent.add(record.id, record.document);
    return { status, body, assessmentId, replayed: false };
  }

  private replay(request: Keyed): StoredResponse | undefined {
    const { scope, key } = request;
    const stored = this.repository.findIdempotency(scope, key);
    if (!stored) return undefined;
    // A key one of whose assessments was erased keeps no hash of its body (see ERASED_REQUEST), so no
    // body can be told to be its own: none is answered with the rest of what it stored.
    if (stored.requestHash === ERASED_REQUEST) throw new ErasedError(keyErased(scope));
    if (!sameRequest(stored.requestHash, request)) {
      throw new UnprocessableError(
        'This Idempotency-Key was already used with a different body. Use a new key for a new submission.',
        [{ field: 'headers.idempotency-key', message: 'reused with a different body' }],
        'idempotency-key-reused',
      );
    }
    const { statusCode, response, assessmentIds } = stored;
    if (assessmentIds === null) {
      // The body itself: one that carries no stored assessment, or a key kept before replays referred to them.
      const assessmentId = scope === 'assessment' ? (JSON.parse(response) as { id?: string }).id : undefined;
      return { status: statusCode, body: response, assessmentId, replayed: true };
    }
    const ids = assessmentIds.split(',');
    const body = interleave(
      JSON.parse(response) as string[],
      ids.map((id) => this.storedJson(id, scope)),
    );
    return { status: statusCode, body, assessmentId: assessmentIdOf(scope, ids), replayed: true };
  }

  /** The JSON text of an assessment a replay carries, committed with its key and never changed since. */
  private storedJson(id: string, scope: Scope): string {
    const found = this.find(id);
    // A document stored compressed, by a version that did so, is sent as the text it holds.
    const json = found?.gzip === undefined ? found?.json : gunzipSync(found.gzip);
    // Erased while its key's record went unmarked (by a version before the mark): answered as a marked one.
    if (json === undefined && this.repository.isErased(id)) throw new ErasedError(keyErased(scope));
    // Not the id: ids are bearer capabilities, and this message may be logged.
    if (json === undefined) throw new Error('a kept answer names an assessment that is not stored as JSON');
    return typeof json === 'string' ? json : json.toString('utf8');
  }

  /**
   * Erases a stored assessment: from the database and from memory. One erased already is answered
   * without a write. While another process holds the write lock it is tried again every
   * LOCK_RETRY_MS, off the request thread, for LOCK_WAIT_MS at most, as a submission's commit is;
   * refused while the server shuts down, as a submission is.
   */
  async erase(id: string): Promise<Erasure> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    const known = this.withoutLock(id);
    if (known !== undefined) return known;
    const turn = this.erasing.then(() => this.eraseInTurn(id, deadline));
    this.erasing = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Erasures that need the write lock take it one at a time: while another process holds it, only
   * the first tries it (a try waits up to 5 ms on the request thread), not every waiting DELETE.
   */
  private erasing: Promise<unknown> = Promise.resolve();
  /** The lock failure of the last try, for erasures whose time ran out while they waited their turn. */
  private lockedOut: unknown;

  /**
   * What needs no write: an id erased before, or one never stored (undefined otherwise). A copy kept
   * here may outlive an erasure by another process until its checkpoint thread tells: forgotten now.
   */
  private withoutLock(id: string): Erasure | undefined {
    if (!this.repository.isOpen()) throw new ShuttingDownError('The server is shutting down: nothing was erased. Send the request again.');
    if (this.repository.isErased(id)) {
      this.recent.delete(id);
      return 'erased-before';
    }
    // peek: only whether it is stored counts here, so one kept in memory is not copied.
    if (this.peek(id) !== undefined) return undefined;
    // Erased between the two looks, by another process.
    return this.repository.isErased(id) ? 'erased-before' : 'not-found';
  }

  private async eraseInTurn(id: string, deadline: number): Promise<Erasure> {
    for (;;) {
      const known = this.withoutLock(id);
      if (known !== undefined) return known;
      // Its time ran out behind the others: refused as they were, without a try of its own.
      if (Date.now() >= deadline && this.lockedOut !== undefined) throw this.lockedOut;
      try {
        const erasure = this.repository.eraseAssessment(id);
        this.lockedOut = undefined;
        this.recent.delete(id);
        this.room?.freed();
        return erasure;
      } catch (error) {
        if (!lockedElsewhere(error)) throw error;
        this.lockedOut = error;
        if (Date.now() >= deadline) throw error;
      }
      await sleep(LOCK_RETRY_MS);
    }
  }

  /** Whether an assessment stored under this id was erased. */
  isErased(id: string): boolean {
    return this.repository.isErased(id);
  }
}
