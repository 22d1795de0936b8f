// npm run bench:scale: fills a database with 1,000,000 stored assessments through the data-access
// layer, then measures POST /v1/assessments and GET /v1/assessments/{id} against the same measures
// on a small database (the 20,000 assessments its GETs rotate through, filled the same way), in one
// run, the two servers measured in turns. 20,000 assessments are more pages than the server's page
// cache holds; on the full database they are spread over the whole table, and a reference row reads
// its 20,000 newest, which sit next to one another in the file. Targets: both routes within 15% of
// the small database, the fill under 3 minutes (the final checkpoint included) and the server's
// peak RSS under 200 MB. Options: SCALE_ASSESSMENTS (default 1000000),
// SCALE_ROUNDS (default 4), BENCH_DURATION, BENCH_WARMUP.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { type AssessmentRecord, Repository } from '../src/db/repository.js';
import { seedDatabase } from '../src/db/seed.js';
import { assess } from '../src/domain/assessment.js';
import { KnowledgeBase } from '../src/domain/knowledge-base.js';
import { SCORING_VERSION } from '../src/domain/scoring.js';
import { projectRoot } from '../src/paths.js';
import { newAssessment } from '../src/services/assessments.js';
import {
  checkAnswers,
  coldStartSec,
  environment,
  type Load,
  type Measure,
  meanOf,
  measure,
  requireLoadGeneratorFlags,
  roundSettings,
  type Started,
  saveReport,
  startProcess,
  table,
  wholeNumberSetting,
} from './lib.js';

const total = wholeNumberSetting('SCALE_ASSESSMENTS', 1_000_000);
const { duration, warmup } = roundSettings();
// Four rounds, not two: a single row of one server can move by a quarter from one round to the next
// on this shared machine, and the mean of more alternating rounds moves less.
const rounds = wholeNumberSetting('SCALE_ROUNDS', 4);
const CHUNK = 20_000;
/** Stored assessments each GET rotates through: their pages are far more than the 16 MiB page cache. */
const SAMPLE = 20_000;
const FILL_TARGET_SEC = 180;
const RSS_TARGET_MB = 200;

function fill(path: string, total: number) {
  const { sqlite, db } = openDatabase(path);
  seedDatabase(db, loadContent());
  const repository = new Repository(sqlite, db);
  const kb = new KnowledgeBase(repository.readKnowledgeBase());
  const sizes = [null, ...kb.data.companySizes.map((s) => s.slug)];
  // A pool of really scored results, reused with fresh ids: the rows are what the API stores.
  const pool = Array.from({ length: 400 }, (_, n) => {
    const submission = {
      companySize: sizes[n % sizes.length] ?? undefined,
      answers: kb.data.questions.map((q, i) => ({ questionId: q.id, value: ((i * 7 + n * 13) % 5) + 1 })),
    };
    const result = assess(kb, submission);
    return { submission, answers: JSON.stringify(submission.answers), result: JSON.stringify(result), versions: result.versions };
  });
  const started = performance.now();
  const sample: string[] = [];
  const newest: string[] = [];
  const base = Date.now() - total;
  for (let done = 0; done < total; done += CHUNK) {
    const records: AssessmentRecord[] = [];
    for (let i = done; i < Math.min(total, done + CHUNK); i++) {
      const p = pool[i % pool.length] as (typeof pool)[number];
      const { id, row, tag } = repository.newAssessmentId();
      if (i % Math.ceil(total / SAMPLE) === 0) sample.push(id);
      if (i >= total - SAMPLE) newest.push(id);
      records.push(
        newAssessment({
          id,
          row,
          tag,
          createdAt: new Date(base + i).toISOString(),
          companySize: p.submission.companySize ?? null,
          respondent: null,
          answers: p.answers,
          result: p.result,
          instrumentVersion: p.versions.instrument,
          scoringVersion: SCORING_VERSION,
          kbRelease: p.versions.kbRelease,
          idempotencyKey: null,
        }).record,
      );
    }
    repository.saveAssessments(records);
  }
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const fillSec = (performance.now() - started) / 1000;
  const count = repository.countAssessments();
  repository.close();
  const bytes = statSync(path).size;
  return { fillSec, count, bytes, sample, newest };
}

function peakRssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // To a tenth of a MB: rounded to whole MB, 199.6 would read as 200.
  return Math.round(kb / 102.4) / 10;
}

/** A server on one database, with the stored ids its GETs rotate through and the bodies its POSTs send. */
async function startServer(path: string, ids: string[]) {
  const server = await startProcess(['dist/server.js'], {
    DATABASE_PATH: path,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    RATE_LIMIT_ENABLED: 'false',
  });
  try {
    const instrument = (await (await fetch(`${server.url}/v1/assessment/questions`)).json()) as { questions: { id: string }[] };
    const bodies = Array.from({ length: 64 }, (_, n) =>
      JSON.stringify({ answers: instrument.questions.map((q, i) => ({ questionId: q.id, value: ((i * 3 + n) % 5) + 1 })) }),
    );
    if (ids.length === 0) throw new Error(`${path}: no stored assessment to read`);
    // Sent as in npm run bench: autocannon's default request.
    const loads: Load[] = [
      {
        name: 'GET /v1/assessments/{id}',
        url: server.url,
        paths: ids.map((id) => `/v1/assessments/${id}`),
        check: ({ body, path }) =>
          typeof body === 'object' && body !== null && path.endsWith(`/${(body as { id?: unknown }).id}`)
            ? undefined
            : 'not the assessment asked for',
      },
      {
        name: 'POST /v1/assessments',
        url: server.url,
        method: 'POST',
        paths: ['/v1/assessments'],
        bodies,
        check: ({ status }) => (status === 201 ? undefined : 'not stored'),
      },
    ];
    return { server, loads };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** The servers a route is measured on: the small database, the full one, the full one's newest rows. */
type Turn = 'small' | 'full' | 'newest';

async function main() {
  requireLoadGeneratorFlags();
  execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rc-scale-'));
  const servers: Started[] = [];
  try {
    // The small database is filled as the full one, through the data-access layer, with as many
    // assessments as the GETs rotate through: both servers start on files no request has written.
    const small = fill(join(dir, 'small.sqlite'), SAMPLE);
    console.log(`filling ${total.toLocaleString('en')} assessments…`);
    const filled = fill(join(dir, 'full.sqlite'), total);
    console.log(
      `filled in ${filled.fillSec.toFixed(1)} s: ${filled.count.toLocaleString('en')} rows, ${(filled.bytes / 1e9).toFixed(2)} GB`,
    );
    // Whatever the fills left unwritten in the kernel's cache is written out before the first round,
    // so that no writeback of it runs during a round (the report gives the time it took).
    const syncStarted = performance.now();
    execFileSync('sync');
    const syncSec = (performance.now() - syncStarted) / 1000;
    console.log(`written out in ${syncSec.toFixed(1)} s`);
    const smallServer = await startServer(join(dir, 'small.sqlite'), small.sample);
    servers.push(smallServer.server);
    const full = await startServer(join(dir, 'full.sqlite'), filled.sample);
    servers.push(full.server);
    const [fullGet, fullPost] = full.loads as [Load, Load];
    const [smallGet, smallPost] = smallServer.loads as [Load, Load];
    const newestGet: Load = {
      ...fullGet,
      name: `${fullGet.name}, the ${SAMPLE.toLocaleString('en')} newest`,
      paths: filled.newest.map((id) => `/v1/assessments/${id}`),
    };
    // The servers are measured in turns, in one order in odd rounds and in the reverse order in even
    // ones, so that a change in the machine's load during the run weighs on both databases alike
    // instead of showing up as a difference between them. Every GET round comes before the first
    // POST round, so the small database holds only its 20,000 while its reads are measured.
    const routes: { name: string; turns: Partial<Record<Turn, Load>> }[] = [
      { name: fullGet.name, turns: { small: smallGet, full: fullGet, newest: newestGet } },
      { name: fullPost.name, turns: { small: smallPost, full: fullPost } },
    ];
    const measured = routes.map((): Record<Turn, Measure[]> => ({ small: [], full: [], newest: [] }));
    // Both servers, and the load generator, are warmed up first with the GET, discarded: the database
    // measured first, the small one, would otherwise bear the cold start alone, and its figure, read
    // low, would make the full one look closer to it.
    for (const load of [smallGet, fullGet]) await measure({ ...load, name: `${load.name}, warming up` }, coldStartSec(duration), 0);
    for (const [i, route] of routes.entries()) {
      const turns = Object.entries(route.turns) as [Turn, Load][];
      for (let round = 0; round < rounds; round++) {
        for (const [which, load] of round % 2 === 0 ? turns : [...turns].reverse()) {
          if (round === 0) await checkAnswers(load);
          const result = await measure(load, duration, warmup);
          measured[i]?.[which].push(result);
          console.log(`round ${round + 1}, ${which}: ${route.name} ${result.reqPerSec} req/s`);
        }
      }
    }
    const peakRss = { small: peakRssMb(smallServer.server.child.pid), full: peakRssMb(full.server.child.pid) };
    const fullLabel = `${total >= 1e6 ? `${(total / 1e6).toFixed(1)}M` : total.toLocaleString('en')} req/s`;
    const row = (endpoint: string, e: Measure[], f: Measure[], target: boolean) => {
      const smallRate = meanOf(e.map((m) => m.reqPerSec));
      const fullRate = meanOf(f.map((m) => m.reqPerSec));
      return {
        endpoint,
        [`${SAMPLE.toLocaleString('en')} req/s`]: smallRate,
        [fullLabel]: fullRate,
        change: `${(((fullRate - smallRate) / smallRate) * 100).toFixed(1)}%`,
        'p99 small/full ms': `${Math.max(...e.map((m) => m.p99))}/${Math.max(...f.map((m) => m.p99))}`,
        'within 15%': target ? (fullRate >= smallRate * 0.85 ? 'yes' : 'no') : 'reference',
        rounds: `${e.map((m) => m.reqPerSec).join(', ')} / ${f.map((m) => m.reqPerSec).join(', ')}`,
      };
    };
    const [getMeasures, postMeasures] = measured as [Record<Turn, Measure[]>, Record<Turn, Measure[]>];
    const rows = [
      row(fullGet.name, getMeasures.small, getMeasures.full, true),
      row(newestGet.name, getMeasures.small, getMeasures.newest, false),
      row(fullPost.name, postMeasures.small, postMeasures.full, true),
    ];
    const all = measured.flatMap((m) => [...m.small, ...m.full, ...m.newest]);
    const report = {
      date: new Date().toISOString(),
      ...environment(),
      assessments: filled.count,
      fillSeconds: Number(filled.fillSec.toFixed(1)),
      syncSeconds: Number(syncSec.toFixed(1)),
      databaseBytes: filled.bytes,
      bytesPerAssessment: Math.round(filled.bytes / filled.count),
      rounds,
      coldStartSec: coldStartSec(duration),
      peakRssMb: peakRss,
      targets: {
        [`fill under ${FILL_TARGET_SEC} s`]: filled.fillSec < FILL_TARGET_SEC ? 'yes' : 'no',
        [`peak RSS under ${RSS_TARGET_MB} MB`]: Math.max(peakRss.small, peakRss.full) < RSS_TARGET_MB ? 'yes' : 'no',
      },
      rows,
      failures: [...new Set(all.filter((r) => r.failures > 0).map((r) => r.name))],
    };
    console.log(`\n${table(rows)}\n`);
    console.log(
      `database: ${report.bytesPerAssessment} bytes per assessment; server peak RSS ${peakRss.full} MB (on the small database ${peakRss.small} MB)`,
    );
    for (const [target, met] of Object.entries(report.targets)) console.log(`${target}: ${met}`);
    saveReport(['scale-latest.json'], report, report.failures.length === 0);
    if (report.failures.length > 0) throw new Error(`non-2xx responses in ${report.failures.join(', ')}`);
  } finally {
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
