import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Synchronous } from './client.js';

/** How often the background connection copies the write-ahead log into the database file. */
export const CHECKPOINT_INTERVAL_MS = 100;

// Plain CommonJS, so that it runs from the sources (tests) as from the build. The worker has its own
// connection; a passive checkpoint never blocks the connection that writes.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
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

/**
 * Checkpoints the write-ahead log from a worker thread, so that the request thread never copies
 * pages into the database file or waits for its fsync. It runs with the same `synchronous` level as
 * the writing connection, so a checkpoint syncs exactly as it would there: durability is unchanged.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;

  constructor(path: string, synchronous: Synchronous, onError: (message: string) => void, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, path, synchronous: synchronous === 'full' ? 'FULL' : 'NORMAL', intervalMs },
    });
    this.worker.on('message', (message: { error?: string }) => {
      if (message.error) onError(message.error);
    });
    this.worker.on('error', (error) => onError(String(error)));
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    // The worker never keeps the process alive on its own.
    this.worker.unref();
  }

  /** Runs a last checkpoint and closes the worker's connection. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
  }
}
