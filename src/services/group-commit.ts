import type { AssessmentGroup, Repository } from '../db/repository.js';
import { lockedElsewhere } from '../db/storage-faults.js';
import { ShuttingDownError } from '../errors.js';

/** A request's group, and since when its commit has found the database locked by another connection. */
type Queued = { group: AssessmentGroup; settle: (error?: Error) => void; lockedSince?: number };

/** How long a group waits, in all, for a lock another connection holds, before its request is refused (503). */
export const LOCK_WAIT_MS = 5000;
/** The pause between two tries while another connection holds the lock. */
export const LOCK_RETRY_MS = 10;

/** What a submission the server closed its database before storing is told (503 shutting-down). */
export const SHUT_DOWN_BEFORE_STORED = 'The server shut down before this submission could be stored: nothing of it was stored.';

/**
 * Commits the assessments of every request that reaches the store in one turn of the event loop
 * in one SQLite transaction. A request is still answered only after the commit that holds its
 * rows, so a 201 is as durable as with a transaction per request, but the write-ahead log is
 * written once per turn instead of once per request. A group that fails (a duplicate
 * Idempotency-Key stored by another process) is rolled back alone.
 *
 * While another connection (another process, db:seed) holds the write lock, the commit fails at
 * once, before writing anything, and is tried again every LOCK_RETRY_MS with the groups queued
 * since, for up to LOCK_WAIT_MS per group: the request thread serves other requests meanwhile
 * instead of waiting inside SQLite.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly repository: Repository,
    private readonly lockWaitMs = LOCK_WAIT_MS,
  ) {}

  /**
   * Resolves once the group is committed; rejects with the reason it was not. `lockedSince`: when
   * its request began to wait for the lock already (for its row numbers), so that it waits
   * LOCK_WAIT_MS in all.
   */
  save(group: AssessmentGroup, lockedSince?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, settle: (error) => (error ? reject(error) : resolve()), lockedSince });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued so far. */
  flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    if (queued.length === 0) return;
    this.queue = [];
    // The server closed the database while these groups waited for a lock held elsewhere (its
    // shutdown grace ran out): nothing of them was stored, and a retry elsewhere may store them.
    if (!this.repository.isOpen()) {
      const closed = new ShuttingDownError(SHUT_DOWN_BEFORE_STORED);
      for (const q of queued) q.settle(closed);
      return;
    }
    let outcomes: (Error | undefined)[];
    try {
      outcomes = this.repository.saveAssessmentGroups(queued.map((q) => q.group));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (!lockedElsewhere(error)) {
        for (const q of queued) q.settle(failure);
        return;
      }
      const waiting = this.stillWaiting(queued, failure);
      if (waiting.length === 0) return;
      // Ahead of the groups queued since, in the order they came.
      this.queue = [...waiting, ...this.queue];
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.flush(), LOCK_RETRY_MS);
      }
      return;
    }
    for (const [i, q] of queued.entries()) q.settle(outcomes[i]);
  }

  /** Settles the groups that have waited LOCK_WAIT_MS with the failure; returns the others. */
  private stillWaiting(queued: Queued[], failure: Error): Queued[] {
    const now = Date.now();
    return queued.filter((q) => {
      q.lockedSince ??= now;
      if (now - q.lockedSince < this.lockWaitMs) return true;
      q.settle(failure);
      return false;
    });
  }
}
