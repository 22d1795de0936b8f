import { createHash, randomUUID } from 'node:crypto';
import type { AssessmentRecord, IdempotencyRecord, Repository } from '../db/repository.js';
import { assess, checkSubmission } from '../domain/assessment.js';
import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { SCORING_VERSION } from '../domain/scoring.js';
import { type FieldProblem, SubmissionError, UnprocessableError } from '../errors.js';
import type { SubmissionInput } from '../schemas/assessment.js';

/** A response ready to send: status and JSON text, replayable byte for byte. */
export type StoredResponse = { status: number; body: string; assessmentId?: string; replayed: boolean };

export type Scope = 'assessment' | 'batch';

/** JSON with object keys sorted, so that two equal bodies hash alike whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const hashOf = (scope: Scope, body: unknown) => createHash('sha256').update(scope).update('\n').update(canonical(body)).digest('hex');

/** The JSON text of a stored assessment, spliced from its stored JSON columns without reparsing. */
export function assessmentJson(record: AssessmentRecord): string {
  return (
    `{"id":${JSON.stringify(record.id)},"createdAt":${JSON.stringify(record.createdAt)},` +
    `"companySize":${JSON.stringify(record.companySize)},"respondent":${JSON.stringify(record.respondent)},` +
    `"answers":${record.answers},"result":${record.result}}`
  );
}

export type ItemOutcome = { status: 201; record: AssessmentRecord } | { status: 400 | 422; errors: FieldProblem[] };

/**
 * Scores, stores and replays assessments. Everything between looking up an Idempotency-Key and
 * storing its response runs synchronously, so two requests with one key cannot both store.
 */
export class AssessmentService {
  constructor(
    private readonly kb: KnowledgeBase,
    private readonly repository: Repository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Checks and scores one submission into a record, or lists its problems. */
  prepare(raw: unknown, idempotencyKey: string | null, prefix = 'body'): ItemOutcome {
    const check = checkSubmission(this.kb, raw, prefix);
    if (!check.ok) return { status: check.status, errors: check.errors };
    return { status: 201, record: this.toRecord(check.submission, idempotencyKey) };
  }

  preview(raw: unknown) {
    const check = checkSubmission(this.kb, raw);
    if (!check.ok) throw new SubmissionError(check.status, check.errors);
    const { submission } = check;
    return {
      companySize: submission.companySize ?? null,
      respondent: submission.respondent ?? null,
      answers: submission.answers,
      result: assess(this.kb, submission),
    };
  }

  create(raw: unknown, idempotencyKey: string | undefined): StoredResponse {
    return this.idempotent('assessment', raw, idempotencyKey, () => {
      const outcome = this.prepare(raw, idempotencyKey ?? null);
      if (outcome.status !== 201) throw new SubmissionError(outcome.status, outcome.errors);
      return { records: [outcome.record], status: 201, body: assessmentJson(outcome.record), assessmentId: outcome.record.id };
    });
  }

  /** Each item is checked, scored and stored on its own; bad items are answered with their problem. */
  createBatch(
    raw: { items: unknown[] },
    idempotencyKey: string | undefined,
    problemOf: (outcome: ItemOutcome & { status: 400 | 422 }) => unknown,
  ) {
    return this.idempotent('batch', raw, idempotencyKey, () => {
      const outcomes = raw.items.map((item, i) => this.prepare(item, null, `body.items[${i}]`));
      const records = outcomes.flatMap((o) => (o.status === 201 ? [o.record] : []));
      const items = outcomes.map((o) =>
        o.status === 201
          ? `{"status":201,"assessment":${assessmentJson(o.record)}}`
          : JSON.stringify({ status: o.status, problem: problemOf(o) }),
      );
      return { records, status: 200, body: `{"items":[${items.join(',')}]}` };
    });
  }

  find(id: string): string | undefined {
    const record = this.repository.findAssessment(id);
    return record && assessmentJson(record);
  }

  private toRecord(submission: SubmissionInput, idempotencyKey: string | null): AssessmentRecord {
    const result = assess(this.kb, submission);
    return {
      id: randomUUID(),
      createdAt: this.now().toISOString(),
      companySize: submission.companySize ?? null,
      respondent: submission.respondent ?? null,
      answers: JSON.stringify(submission.answers),
      result: JSON.stringify(result),
      instrumentVersion: result.versions.instrument,
      scoringVersion: SCORING_VERSION,
      kbRelease: result.versions.kbRelease,
      idempotencyKey,
    };
  }

  private idempotent(
    scope: Scope,
    raw: unknown,
    key: string | undefined,
    run: () => { records: AssessmentRecord[]; status: number; body: string; assessmentId?: string },
  ): StoredResponse {
    const requestHash = key === undefined ? '' : hashOf(scope, raw);
    if (key !== undefined) {
      const replay = this.replay(scope, key, requestHash);
      if (replay) return replay;
    }
    const { records, status, body, assessmentId } = run();
    const idempotency: IdempotencyRecord | undefined =
      key === undefined ? undefined : { scope, key, requestHash, statusCode: status, response: body };
    try {
      this.repository.saveAssessments(records, idempotency);
    } catch (error) {
      // Another process stored this key first: answer as it did.
      const replay = key === undefined ? undefined : this.replay(scope, key, requestHash);
      if (replay) return replay;
      throw error;
    }
    return { status, body, assessmentId, replayed: false };
  }

  private replay(scope: Scope, key: string, requestHash: string): StoredResponse | undefined {
    const stored = this.repository.findIdempotency(scope, key);
    if (!stored) return undefined;
    if (stored.requestHash !== requestHash) {
      throw new UnprocessableError(
        'This Idempotency-Key was already used with a different body. Use a new key for a new submission.',
        [{ field: 'headers.idempotency-key', message: 'reused with a different body' }],
        'idempotency-key-reused',
      );
    }
    const assessmentId = scope === 'assessment' ? (JSON.parse(stored.response) as { id?: string }).id : undefined;
    return { status: stored.statusCode, body: stored.response, assessmentId, replayed: true };
  }
}
