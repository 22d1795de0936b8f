// npm run bench:peers: the API against the tools a user might pick instead, on the same knowledge
// base, in one run: Platformatic DB (auto REST over a SQLite copy) and json-server (over a JSON
// export). The peers are installed under bench/peers/, apart from the API's dependencies. Options:
// PEERS_ROUNDS (default 2), BENCH_DURATION, BENCH_WARMUP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadContent } from '../src/content/load.js';
import { openDatabase } from '../src/db/client.js';
import { seedDatabase } from '../src/db/seed.js';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';
import {
  CONNECTIONS,
  checkAnswers,
  coldStartSec,
  environment,
  freePort,
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

const { duration, warmup } = roundSettings();
const rounds = wholeNumberSetting('PEERS_ROUNDS', 2);
const peers = join(projectRoot, 'bench', 'peers', 'node_modules');
type Peer = 'api' | 'platformatic' | 'jsonServer';
const LABELS: Record<Peer, string> = { api: 'API', platformatic: 'Platformatic DB', jsonServer: 'json-server' };
/**
 * The peers run without the API's two young- and old-generation flags (SERVER_NODE_FLAGS), which
 * trade some of the API's speed for a lower peak RSS and would make a peer that allocates more per
 * request collect its garbage more often. They keep `--no-memory-reducer`: each server idles while
 * the others are measured, and V8's memory reducer would shrink an idle peer's heap and slow it for
 * the rest of the run, which a peer serving steady traffic never sees.
 */
const PEER_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];
const TABLES = ['roles', 'competencies', 'company_sizes', 'expectations', 'variants'] as const;

/** The version of a peer as installed under bench/peers/. */
function peerVersion(name: string): string {
  return (JSON.parse(readFileSync(join(peers, name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The knowledge-base rows as the API stores them, read from a freshly seeded database. */
function exportRows(dir: string) {
  const path = join(dir, 'api-source.sqlite');
  const { sqlite, db } = openDatabase(path);
  seedDatabase(db, loadContent());
  const rows = Object.fromEntries(TABLES.map((t) => [t, sqlite.prepare(`select * from ${t} order by id`).all()])) as Record<
    (typeof TABLES)[number],
    Record<string, unknown>[]
  >;
  sqlite.close();
  return rows;
}

/** A SQLite copy with INTEGER primary keys and VARCHAR text, as Platformatic DB wants it. */
function sqliteCopy(path: string, rows: ReturnType<typeof exportRows>) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const t of TABLES) {
    const columns = Object.keys(rows[t][0] ?? {});
    const types = columns.map(
      (c) => `${c} ${c === 'id' ? 'INTEGER PRIMARY KEY' : typeof rows[t][0]?.[c] === 'number' ? 'INTEGER' : 'VARCHAR(2000)'}`,
    );
    db.exec(`create table ${t} (${types.join(', ')})`);
    const insert = db.prepare(`insert into ${t} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`);
    db.transaction(() => {
      for (const row of rows[t]) insert.run(row);
    })();
  }
  db.exec('create index competencies_category on competencies (category)');
  db.close();
}

async function main() {
  requireLoadGeneratorFlags();
  execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rc-peers-'));
  const started: Started[] = [];
  try {
    const rows = exportRows(dir);
    const competencies = rows.competencies as { id: number; slug: string; category: string }[];
    const people = competencies.filter((c) => c.category === 'people').length;

    sqliteCopy(join(dir, 'peer.sqlite'), rows);
    const pltPort = await freePort();
    writeFileSync(
      join(dir, 'platformatic.json'),
      JSON.stringify({
        $schema: 'https://schemas.platformatic.dev/@platformatic/db/2.61.0.json',
        server: { hostname: '127.0.0.1', port: pltPort, logger: { level: 'silent' } },
        db: { connectionString: `sqlite://${join(dir, 'peer.sqlite')}`, graphql: false, openapi: true, ignore: {} },
        watch: false,
      }),
    );
    writeFileSync(join(dir, 'db.json'), JSON.stringify(rows));

    const api = await startProcess(['dist/server.js'], {
      DATABASE_PATH: join(dir, 'api.sqlite'),
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      RATE_LIMIT_ENABLED: 'false',
    });
    started.push(api);
    const platformatic = await startProcess(
      [join(peers, '@platformatic', 'db', 'db.mjs'), 'start', '-c', join(dir, 'platformatic.json')],
      { NODE_ENV: 'production' },
      { readyPath: '/competencies/1', timeoutMs: 60_000, port: pltPort, nodeFlags: PEER_NODE_FLAGS },
    );
    started.push(platformatic);
    const jsonServer = await startProcess(
      [join(peers, 'json-server', 'lib', 'cli', 'bin.js'), join(dir, 'db.json'), '--host', '127.0.0.1', '--quiet', '--port'],
      { NODE_ENV: 'production' },
      { readyPath: '/competencies/1', portArgument: true, nodeFlags: PEER_NODE_FLAGS },
    );
    started.push(jsonServer);

    // Every server is sent the same rotation (each competency in turn, for the single read), and
    // every answer is checked once before it is measured: the right competency, the same rows.
    const slugOf = (body: unknown) => (typeof body === 'object' && body !== null ? (body as { slug?: unknown }).slug : undefined);
    const single = (path: (c: (typeof competencies)[number]) => string): Pick<Load, 'paths' | 'check'> => ({
      paths: competencies.map(path),
      check: ({ body, path: asked }) => {
        const expected = competencies[competencies.findIndex((c) => path(c) === asked)];
        return slugOf(body) === expected?.slug ? undefined : 'not the competency asked for';
      },
    });
    const listOf = (body: unknown) => (Array.isArray(body) ? body : ((body as { items?: unknown[] } | null)?.items ?? []));
    const list = (path: string): Pick<Load, 'paths' | 'check'> => ({
      paths: [path],
      check: ({ body }) => (listOf(body).length === people ? undefined : `${listOf(body).length} rows, not ${people}`),
    });
    const classes: ({ name: string } & Record<Peer, Pick<Load, 'paths' | 'check'>>)[] = [
      {
        name: 'single competency',
        api: single((c) => `/v1/competencies/${c.slug}`),
        platformatic: single((c) => `/competencies/${c.id}`),
        jsonServer: single((c) => `/competencies/${c.id}`),
      },
      {
        name: 'competencies list (category filter)',
        api: list('/v1/competencies?category=people'),
        platformatic: list('/competencies?where.category.eq=people'),
        jsonServer: list('/competencies?category=people'),
      },
    ];
    // Each read is measured on the three servers in turns, in one order in odd rounds and in the
    // reverse order in even ones, so that a change in the machine's load during the run weighs on
    // all three alike; a server's figure is the mean of its rounds.
    const servers: [Peer, Started][] = [
      ['api', api],
      ['platformatic', platformatic],
      ['jsonServer', jsonServer],
    ];
    // Each server, and the load generator, is warmed up first with the first read, discarded: the
    // server measured first would otherwise bear the cold start alone.
    const first = classes[0] as (typeof classes)[number];
    for (const [peer, server] of servers) {
      await measure({ name: `${first.name}: ${LABELS[peer]}, warming up`, url: server.url, ...first[peer] }, coldStartSec(duration), 0);
    }
    const results: ({ name: string } & Record<Peer, Measure[]>)[] = [];
    for (const c of classes) {
      const measured: Record<Peer, Measure[]> = { api: [], platformatic: [], jsonServer: [] };
      for (let round = 0; round < rounds; round++) {
        for (const [peer, server] of round % 2 === 0 ? servers : [...servers].reverse()) {
          const load: Load = { name: `${c.name}: ${LABELS[peer]}`, url: server.url, ...c[peer] };
          if (round === 0) await checkAnswers(load);
          const result = await measure(load, duration, warmup);
          measured[peer].push(result);
          console.log(`  round ${round + 1}, ${load.name}: ${result.reqPerSec} req/s`);
        }
      }
      results.push({ name: c.name, ...measured });
    }
    const rate = (measures: Measure[]) => meanOf(measures.map((m) => m.reqPerSec));
    const p99 = (measures: Measure[]) => Math.max(...measures.map((m) => m.p99));
    const p50 = (measures: Measure[]) => Math.max(...measures.map((m) => m.p50));
    const bytes = (measures: Measure[]) => meanOf(measures.map((m) => m.bytesPerResponse));
    const tableRows = results.map((r) => ({
      read: r.name,
      'API req/s': rate(r.api),
      'Platformatic DB req/s': rate(r.platformatic),
      'json-server req/s': rate(r.jsonServer),
      'API / Platformatic (≥ 4)': (rate(r.api) / rate(r.platformatic)).toFixed(2),
      'API / json-server (≥ 6)': (rate(r.api) / rate(r.jsonServer)).toFixed(2),
      'p50 ms API/Plt/json': `${p50(r.api)}/${p50(r.platformatic)}/${p50(r.jsonServer)}`,
      'p99 ms API/Plt/json': `${p99(r.api)}/${p99(r.platformatic)}/${p99(r.jsonServer)}`,
      'bytes API/Plt/json': `${bytes(r.api)}/${bytes(r.platformatic)}/${bytes(r.jsonServer)}`,
      rounds: [r.api, r.platformatic, r.jsonServer].map((ms) => ms.map((m) => m.reqPerSec).join(', ')).join(' / '),
    }));
    const failures = results.flatMap((r) => [...r.api, ...r.platformatic, ...r.jsonServer]).filter((m) => m.failures > 0);
    const report = {
      date: new Date().toISOString(),
      ...environment(),
      peers: Object.fromEntries(['@platformatic/db', 'json-server'].map((name) => [name, peerVersion(name)])),
      load: { connections: CONNECTIONS, pipelining: 1, durationSec: duration, warmupSec: warmup, coldStartSec: coldStartSec(duration) },
      nodeFlags: { api: SERVER_NODE_FLAGS, peers: PEER_NODE_FLAGS },
      rounds,
      rows: tableRows,
    };
    console.log(`\n${table(tableRows)}\n`);
    saveReport(['peers-latest.json'], report, failures.length === 0);
    if (failures.length > 0) throw new Error(`non-2xx responses or errors in: ${failures.map((f) => f.name).join(', ')}`);
  } finally {
    for (const server of started.reverse()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
