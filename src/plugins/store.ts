import { resolve } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import fp from 'fastify-plugin';
import { type Content, loadContent } from '../content/load.js';
import { Checkpointer } from '../db/checkpointer.js';
import { databaseError, isInMemoryPath, openDatabase, type Synchronous, sqliteCodeOf } from '../db/client.js';
import { Repository } from '../db/repository.js';
import { reusedInstrumentWarning, reusedReleaseWarning, seedDatabase } from '../db/seed.js';
import { isDamageCode } from '../db/storage-faults.js';
import { KnowledgeBase, type QuestionBank } from '../domain/knowledge-base.js';

declare module 'fastify' {
  interface FastifyInstance {
    repository: Repository;
    kb: KnowledgeBase;
    /** The questions of every instrument version seeded, by version, read with the knowledge base. */
    questionBanks: ReadonlyMap<string, QuestionBank>;
  }
}

/** Idempotency-Keys replay for at least 48 hours, as the README says. */
export const IDEMPOTENCY_RETENTION_MS = 48 * 60 * 60 * 1000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
const PURGE_STEP_ROWS = 1000;

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
    const { sqlite, db, migrationsApplied } = openDatabase(options.databasePath, {
      synchronous: options.synchronous,
      cacheMb: options.cacheMb,
      backgroundCheckpoints: !inMemory,
    });
    let repository: Repository;
    try {
      repository = new Repository(sqlite, db);
    } catch (error) {
      sqlite.close();
      // It reads the key of assessment ids and prepares its statements: SQLite's errors name no file.
      throw sqliteCodeOf(error) === undefined ? error : databaseError(options.databasePath, 'read', error);
    }
    let checkpointer: Checkpointer | undefined;
    // The checkpointer's connection closes first, so the last connection's close checkpoints all.
    const close = async () => {
      await checkpointer?.stop();
      const warning = repository.close();
      if (warning !== undefined) app.log.error(warning);
    };
    try {
      const file = repository.openedFile();
      if (file !== undefined) {
        checkpointer = new Checkpointer(
          options.databasePath,
          file,
          options.synchronous ?? 'normal',
          {
            onError: (message, code) => {
              app.log.error({ message, code }, 'background checkpoint failed');
              if (isDamageCode(code)) repository.markDamaged();
            },
            onExit: () => {
              app.log.error('background checkpoints stopped: the request thread checkpoints again');
              repository.checkpointOnCommits();
              repository.erasuresLost();
              // It also ends when it finds another file at the path as it opens: seen to here, at once.
              repository.lookAtFile();
            },
            onBacklog: (backlog) => repository.holdBackstop(backlog),
            onErased: (ids) => repository.erasuresFound(ids),
            onErasuresLost: () => {
              app.log.error(
                'erasures made by other servers on the database can no longer be looked for: stored assessments are no longer kept in memory',
              );
              repository.erasuresLost();
            },
            onMoved: () => {
              app.log.error(
                { database: resolve(options.databasePath) },
                'the database file was moved away or replaced while open: writes are refused until a restart',
              );
              repository.lookAtFile();
            },
            onLogReplaced: (file) => {
              app.log.error(
                { database: resolve(options.databasePath), file },
                `the database file's ${file} was ${file === '-shm' ? 'deleted or replaced' : 'replaced'} while open: no checkpoint runs, and stored assessments are neither written nor read until a restart`,
              );
              repository.erasuresLost();
              repository.lookAtFile();
            },
          },
          { erasedUpTo: repository.lastErasure() },
        );
      }
      app.addHook('onClose', close);
      const outcome = seedDatabase(db, options.content ?? loadContent());
      // Where the data is (a relative DATABASE_PATH is taken from the working folder) and what the start changed in it.
      app.log.info(
        {
          database: inMemory ? options.databasePath : resolve(options.databasePath),
          migrationsApplied,
          release: outcome.release,
          changed: outcome.changed,
        },
        'knowledge base ready',
      );
      const reused = reusedReleaseWarning(outcome);
      if (reused !== undefined) {
        app.log.warn(
          { release: outcome.release, contentHash: outcome.contentHash, replacedContentHash: outcome.replacedContentHash },
          `the seed content changed without a new release: ${reused}`,
        );
      }
      const reusedInstrument = reusedInstrumentWarning(outcome);
      if (reusedInstrument !== undefined) {
        app.log.warn(
          { instrumentVersion: outcome.instrumentVersion, replacedInstrumentHash: outcome.replacedInstrumentHash },
          `the questions changed without a new instrument version: ${reusedInstrument}`,
        );
      }
      app.decorate('repository', repository);
      // In one transaction, so that a seed from another process between two reads cannot give the
      // banks a version the knowledge base served here does not know yet.
      const [data, banks] = repository.sqlite.transaction(
        () => [repository.readKnowledgeBase(), repository.readQuestionBanks()] as const,
      )();
      app.decorate('kb', new KnowledgeBase(data));
      app.decorate('questionBanks', new Map(banks.map((bank) => [bank.version, bank])));
      // Idempotency-Keys are kept at least IDEMPOTENCY_RETENTION_MS; older ones are purged at start-up
      // and then hourly, while serving, in steps of PURGE_STEP_ROWS with other work between them: an
      // hour of keyed writes (100,000 keys took 235 ms to delete at once) would otherwise hold every
      // request up. The start-up purge is the last write of the start, so it still waits for a lock
      // as long as the migration and the seed did.
      const cutoff = () => new Date(Date.now() - IDEMPOTENCY_RETENTION_MS);
      repository.purgeIdempotencyKeys(cutoff());
      // Migrated, seeded and purged: from here on, requests must not wait inside SQLite for another process.
      repository.waitForLocksBriefly();
      let closing = false;
      const purgeInSteps = async () => {
        const before = cutoff();
        while (!closing && repository.purgeIdempotencyKeys(before, PURGE_STEP_ROWS) === PURGE_STEP_ROWS) await setImmediate();
      };
      // A purge that fails later (a locked or full database) is logged and tried again next hour: thrown
      // from a timer, it would end the process and every request in flight.
      const timer = setInterval(() => {
        purgeInSteps().catch((error: unknown) => app.log.error({ err: error }, 'purging old Idempotency-Keys failed'));
      }, PURGE_INTERVAL_MS);
      timer.unref();
      // Before onClose closes the database: a purge between two steps stops there.
      app.addHook('preClose', async () => {
        closing = true;
        clearInterval(timer);
      });
    } catch (error) {
      await close();
      // SQLite's errors name no file; others (seed content that does not load) say what they are about.
      throw sqliteCodeOf(error) === undefined ? error : databaseError(options.databasePath, 'seed or read', error);
    }
  },
  { name: 'store' },
);
