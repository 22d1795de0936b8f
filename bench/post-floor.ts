// npm run bench:post-floor: how far below E0 a POST of this API has to sit whatever the API does
// around its work. Five servers, each a process of its own under `npm start`'s V8 flags, are sent the
// same load in alternating rounds (one order in odd rounds, the reverse in even ones):
//   - E0, the bare fastify server answering a constant small JSON (bench/baseline-server.mjs);
//   - the bare POST reference: the same server parsing the bench's bodies and answering a constant
//     10 KB;
//   - the floor without storage, and the floor (bench/post-floor-server.ts): bare fastify running the
//     API's own check, scoring and document code, the second also storing each document durably,
//     one commit per turn of the event loop;
//   - the API (`dist/server.js`, as npm run bench starts it).
// Each figure is the mean of its rounds, and its ratio is to the mean of E0's. A reference for the
// POST target's note, not a target: the run fails only on a non-2xx answer or an error. Options:
// POST_FLOOR_ROUNDS (default 4), BENCH_DURATION (seconds per round, default 10), BENCH_WARMUP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';
import {
  barePostLoad,
  checkAnswers,
  coldStartSec,
  e0Load,
  environment,
  isRecord,
  type Load,
  type Measure,
  meanOf,
  measure,
  requireLoadGeneratorFlags,
  roundSettings,
  type Started,
  saveReport,
  startProcess,
  submissions,
  table,
  wholeNumberSetting,
} from './lib.js';

const { duration, warmup } = roundSettings();
const rounds = wholeNumberSetting('POST_FLOOR_ROUNDS', 4);

/** A stored assessment: 201 with the document, scored. */
const storedCheck: Load['check'] = ({ status, body }) =>
  status === 201 && isRecord(body) && typeof body.id === 'string' && isRecord(body.result) && Array.isArray(body.result.scores)
    ? undefined
    : 'not a scored assessment';

async function main() {
  requireLoadGeneratorFlags();
  execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rc-post-floor-'));
  const servers: Started[] = [];
  const started = async (...args: Parameters<typeof startProcess>) => {
    const server = await startProcess(...args);
    servers.push(server);
    return server;
  };
  try {
    const baseline = await started(['bench/baseline-server.mjs'], {}, { readyPath: '/' });
    const barePost = await started(['bench/baseline-server.mjs'], {}, { readyPath: '/' });
    // The floor imports the API's TypeScript sources, so it runs through tsx (its compiled code runs
    // as the API's bundle does; only loading takes longer).
    const floorFlags = [...SERVER_NODE_FLAGS, '--import', 'tsx'];
    const floor = await started(['bench/post-floor-server.ts'], { FLOOR_STORE: '0' }, { nodeFlags: floorFlags });
    const storedFloor = await started(
      ['bench/post-floor-server.ts'],
      { FLOOR_STORE: '1', FLOOR_DATABASE: join(dir, 'floor.sqlite') },
      { nodeFlags: floorFlags },
    );
    const api = await started(['dist/server.js'], {
      DATABASE_PATH: join(dir, 'kb.sqlite'),
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      RATE_LIMIT_ENABLED: 'false',
    });
    const bodies = await submissions(api.url, 64);
    const post = (name: string, server: Started): Load => ({
      name,
      url: server.url,
      method: 'POST',
      paths: ['/v1/assessments'],
      bodies,
      check: storedCheck,
    });
    const loads: Load[] = [
      e0Load(baseline.url),
      barePostLoad(barePost.url, bodies),
      post('floor: check, score and document, not stored', floor),
      post('floor: check, score, document, stored with a commit per turn', storedFloor),
      post('POST /v1/assessments (the API)', api),
    ];
    for (const load of loads) await checkAnswers(load);
    // Every server, and the load generator, warmed up first, discarded, so that none bears the cold start alone.
    for (const load of loads) await measure({ ...load, name: `${load.name}, warming up` }, coldStartSec(duration), 0);
    const measured = loads.map((): Measure[] => []);
    for (let round = 0; round < rounds; round++) {
      const order = loads.map((_, i) => i);
      for (const i of round % 2 === 0 ? order : order.reverse()) {
        const load = loads[i] as Load;
        const result = await measure(load, duration, warmup);
        measured[i]?.push(result);
        console.log(`round ${round + 1}: ${load.name} ${result.reqPerSec} req/s`);
      }
    }
    const e0 = meanOf((measured[0] as Measure[]).map((m) => m.reqPerSec));
    const rows = loads.map((load, i) => {
      const ms = measured[i] as Measure[];
      const rate = meanOf(ms.map((m) => m.reqPerSec));
      return {
        server: load.name,
        'req/s': rate,
        'p99 ms': Math.max(...ms.map((m) => m.p99)),
        'bytes/response': meanOf(ms.map((m) => m.bytesPerResponse)),
        'ratio to E0': (rate / e0).toFixed(3),
        rounds: ms.map((m) => m.reqPerSec).join(', '),
      };
    });
    const failed = loads.flatMap((load, i) => {
      const failures = (measured[i] as Measure[]).reduce((sum, m) => sum + m.failures, 0);
      return failures > 0 ? [`${load.name} (${failures})`] : [];
    });
    const report = { date: new Date().toISOString(), ...environment(), rounds, durationSec: duration, rows };
    console.log(`\n${table(rows)}\n`);
    const [file] = saveReport(['post-floor-latest.json'], report, failed.length === 0);
    console.log(`wrote ${file}`);
    if (failed.length > 0) throw new Error(`non-2xx responses or errors in: ${failed.join(', ')}`);
  } finally {
    for (const server of servers.reverse()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
