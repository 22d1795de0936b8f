import type { AssessmentGroup, Repository } from '../db/repository.js';

type Queued = { group: AssessmentGroup; settle: (error?: Error) => void };

/**
 * Commits the assessments of every request that reaches the store in one turn of the event loop
 * in one SQLite transaction. A request is still answered only after the commit that holds its
 * rows, so a 201 is as durable as with a transaction per request, but the write-ahead log is
 * written once per turn instead of once per request. A group that fails (a duplicate
 * Idempotency-Key stored by another process) is rolled back alone.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly repository: Repository) {}

  /** Resolves once the group is committed; rejects with the reason it was not. */
  save(group: AssessmentGroup): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, settle: (error) => (error ? reject(error) : resolve()) });
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
    let outcomes: (Error | undefined)[];
    try {
      outcomes = this.repository.saveAssessmentGroups(queued.map((q) => q.group));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const q of queued) q.settle(failure);
      return;
    }
    for (const [i, q] of queued.entries()) q.settle(outcomes[i]);
  }
}
