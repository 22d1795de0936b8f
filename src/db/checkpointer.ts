import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type Synchronous, synchronousPragma } from './client.js';

/** How often the background connection copies the write-ahead log into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;
/** How long stop() waits for the last checkpoint before ending the worker. */
const STOP_TIMEOUT_MS = 5_000;

// Plain CommonJS, so that it runs from the sources (tests) as from the build. The worker has its own
// connection; a passive checkpoint never blocks the connection that writes. A failure is reported
// once, and again only after a checkpoint has succeeded in between.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
let failing = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (error) {
    if (!failing) parentPort.postMessage({ error: String(error) });
    failing = true;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export type CheckpointerEvents = {
  /** A checkpoint failed (reported once until one succeeds again). */
  onError: (message: string) => void;
  /** The worker ended without being asked to: the writing connection must checkpoint again. */
  onExit: () => void;
};

/**
 * Checkpoints the write-ahead log from a worker thread, so that the request thread never copies
 * pages into the database file or waits for its fsync. It runs with the same `synchronous` level as
 * the writing connection, so a checkpoint syncs exactly as it would there: durability is unchanged.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;

  constructor(path: string, synchronous: Synchronous, events: CheckpointerEvents, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, path, synchronous: synchronousPragma(synchronous), intervalMs },
    });
    this.worker.on('message', (message: { error?: string }) => {
      if (message.error) events.onError(message.error);
    });
    this.worker.on('error', (error) => events.onError(String(error)));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        if (!this.stopping) events.onExit();
        resolve();
      }),
    );
    // While it runs, the worker never keeps the process alive on its own.
    this.worker.unref();
  }

  /** Runs a last checkpoint and closes the worker's connection; ends the worker if that hangs. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Referenced again, so that the process waits for the worker's exit rather than leaving first.
    this.worker.ref();
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
