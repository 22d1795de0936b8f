// kill -9 while 8 keep-alive connections keep writing: the real server process, built from src/,
// with DATABASE_SYNCHRONOUS=normal and =full. Nothing acknowledged may be lost; the file stays sound.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assessmentRows,
  exitWithin,
  idOf,
  integrityCheck,
  questions,
  readBack,
  serverBuiltForFile,
  sleep,
  startLoad,
  startServer,
  stopServer,
  storedAmong,
  tally,
} from './support/process.js';

const CONNECTIONS = 8;
const LOAD_MS = 1_500;

const { temp, script } = serverBuiltForFile();

describe('a crash (SIGKILL) under write load', () => {
  it.each(['normal', 'full'] as const)(
    'synchronous=%s: every acknowledged assessment survives and the file passes integrity_check',
    async (synchronous) => {
      const databasePath = join(temp.make(`rc-api-crash-${synchronous}-`), 'kb.sqlite');
      const env = { DATABASE_SYNCHRONOUS: synchronous };
      const server = await startServer(script(), databasePath, env);
      const qs = await questions(server.url);
      const load = startLoad({
        baseUrl: server.url,
        questions: qs,
        connections: CONNECTIONS,
        maxRequests: 100_000,
        maxMs: 15_000,
        stopAfterFailure: true,
      });
      await sleep(LOAD_MS);

      const killAt = performance.now();
      server.child.kill('SIGKILL');
      const exit = await exitWithin(server, 5_000);
      await load.stop();

      const attempts = load.attempts;
      const acked = load.acked();
      const inFlight = attempts.filter((a) => a.startedAt < killAt && a.endedAt > killAt);
      const failed = attempts.filter((a) => a.outcome.kind !== 'ack');

      expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
      // The file as the crash left it (with its WAL), before anything recovers it.
      const integrityAfterCrash = integrityCheck(databasePath);
      expect(integrityAfterCrash).toBe('ok');
      expect(acked.length).toBeGreaterThan(100);
      expect(inFlight.length).toBeGreaterThan(0);
      // No response was garbled: each one that came back whole is a 201 with the stored assessment.
      expect(attempts.filter((a) => a.outcome.kind === 'unexpected' || a.outcome.kind === 'refused').map((a) => a.outcome)).toEqual([]);

      // Restart on the same file (SQLite recovers the WAL): every acknowledged assessment is readable.
      const restarted = await startServer(script(), databasePath, env);
      const read = await readBack(restarted.url, acked);
      // Informational: requests cut off by the kill that had been committed all the same.
      const storedUnacknowledged = await storedAmong(restarted.url, failed);
      const stopped = await stopServer(restarted);
      expect(read.missing).toEqual([]);
      expect(read.wrong).toEqual([]);
      expect(read.found).toBe(acked.length);
      expect(new Set(acked.map(idOf)).size).toBe(acked.length);
      expect(stopped.code).toBe(0);

      const integrity = integrityCheck(databasePath);
      expect(integrity).toBe('ok');
      // The acknowledged ones, the committed-but-unacknowledged ones and their retries, nothing else.
      const rows = assessmentRows(databasePath);
      expect(rows).toBe(acked.length + failed.length);

      console.log(
        `[reliability] kill -9 (synchronous=${synchronous}): ${JSON.stringify({
          acknowledged: acked.length,
          foundAfterRestart: read.found,
          inFlightAtKill: inFlight.length,
          outcomesOfInFlight: tally(inFlight),
          failedRequests: failed.length,
          storedButNotAcknowledged: storedUnacknowledged.length,
          exitSignal: exit.signal,
          restartExitCode: stopped.code,
          integrityAfterCrash,
          integrityAfterRestart: integrity,
        })}`,
      );
    },
    30_000,
  );
});
