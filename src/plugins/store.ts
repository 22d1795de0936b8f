import fp from 'fastify-plugin';
import { type Content, loadContent } from '../content/load.js';
import { Checkpointer } from '../db/checkpointer.js';
import { isInMemoryPath, openDatabase, type Synchronous } from '../db/client.js';
import { Repository } from '../db/repository.js';
import { seedDatabase } from '../db/seed.js';
import { KnowledgeBase } from '../domain/knowledge-base.js';

declare module 'fastify' {
  interface FastifyInstance {
    repository: Repository;
    kb: KnowledgeBase;
  }
}

/** Idempotency-Keys replay for at least 48 hours, as the README says. */
export const IDEMPOTENCY_RETENTION_MS = 48 * 60 * 60 * 1000;

export type StoreOptions = {
  databasePath: string;
  synchronous?: Synchronous;
  /** SQLite page cache in MiB. */
  cacheMb?: number;
  /** Content to seed instead of the files under seed/ (tests use it to simulate a new release). */
  content?: Content;
};

/**
 * Opens the database (migrating and seeding it), reads the current knowledge-base release into
 * memory once, and closes the database when the app closes.
 */
export default fp<StoreOptions>(
  async (app, options) => {
    const inMemory = isInMemoryPath(options.databasePath);
    const { sqlite, db } = openDatabase(options.databasePath, {
      synchronous: options.synchronous,
      cacheMb: options.cacheMb,
      backgroundCheckpoints: !inMemory,
    });
    let repository: Repository;
    try {
      repository = new Repository(sqlite, db);
    } catch (error) {
      sqlite.close();
      throw error;
    }
    let checkpointer: Checkpointer | undefined;
    // The checkpointer's connection closes first, so the last connection's close checkpoints all.
    const close = async () => {
      await checkpointer?.stop();
      repository.close();
    };
    try {
      if (!inMemory) {
        checkpointer = new Checkpointer(options.databasePath, options.synchronous ?? 'normal', {
          onError: (message) => app.log.error({ message }, 'background checkpoint failed'),
          onExit: () => {
            app.log.error('background checkpoints stopped: the request thread checkpoints again');
            repository.checkpointOnCommits();
          },
        });
      }
      app.addHook('onClose', close);
      const outcome = seedDatabase(db, options.content ?? loadContent());
      app.log.info({ release: outcome.release, changed: outcome.changed }, 'knowledge base ready');
      app.decorate('repository', repository);
      app.decorate('kb', new KnowledgeBase(repository.readKnowledgeBase()));
      // Idempotency-Keys are kept at least IDEMPOTENCY_RETENTION_MS; older ones are purged hourly.
      const purge = () => repository.purgeIdempotencyKeys(new Date(Date.now() - IDEMPOTENCY_RETENTION_MS));
      purge();
      // A purge that fails later (a locked or full database) is logged and tried again next hour: thrown
      // from a timer, it would end the process and every request in flight.
      const timer = setInterval(
        () => {
          try {
            purge();
          } catch (error) {
            app.log.error({ err: error }, 'purging old Idempotency-Keys failed');
          }
        },
        60 * 60 * 1000,
      );
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    } catch (error) {
      await close();
      throw error;
    }
  },
  { name: 'store' },
);
