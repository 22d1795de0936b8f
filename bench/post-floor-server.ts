// The floor under POST /v1/assessments, for `npm run bench:post-floor`: a bare fastify server that
// does what the performance issue asks of a POST (validated, scored, stored durably) with the API's
// own code, and nothing else the API does around it: no Idempotency-Keys, no ids of the API's kind
// (a random UUID instead), no security, caching or CORS headers, no hooks, no request log, no memory
// of recent documents, no storage-room checks.
//
// FLOOR_STORE=0: the body is checked (checkSubmission), scored and written as the document the API
// stores and sends (scoredAssessment), answered 201. FLOOR_STORE=1: the same, then the document
// is inserted into a WAL database of the API's page size at its durability (synchronous = NORMAL: a
// 201 survives a crash of the process), in one transaction per turn of the event loop, each request
// answered after the commit that holds its row; a worker thread checkpoints, as the API's does.
// FLOOR_DATABASE: the database file (FLOOR_STORE=1 only). GET /ready answers once it listens.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import Fastify, { type FastifyReply } from 'fastify';
import { loadContent } from '../src/content/load.js';
import { openDatabase, PAGE_SIZE } from '../src/db/client.js';
import { Repository } from '../src/db/repository.js';
import { seedDatabase } from '../src/db/seed.js';
import { KnowledgeBase } from '../src/domain/knowledge-base.js';
import { scoredAssessment } from '../src/services/assessments.js';
import { checkSubmission } from '../src/services/submission-check.js';

const store = process.env.FLOOR_STORE === '1';

/** The knowledge base the API serves, seeded from the same files into a database of its own. */
function knowledgeBase(): KnowledgeBase {
  const { sqlite, db } = openDatabase(':memory:');
  try {
    seedDatabase(db, loadContent());
    return new KnowledgeBase(new Repository(sqlite, db).readKnowledgeBase());
  } finally {
    sqlite.close();
  }
}

const kb = knowledgeBase();
/** Ids for the documents: random UUIDs, in place of the API's (see src/db/assessment-ids.ts). */
const uuids = { newAssessmentId: () => ({ id: randomUUID(), row: 0, tag: 0 }) };

/** Requests whose documents wait for this turn's commit. */
let pending: { document: string; reply: FastifyReply }[] = [];
let row = 0;
let commitTurn: (() => void) | undefined;

if (store) {
  const path = process.env.FLOOR_DATABASE;
  if (!path) throw new Error('FLOOR_DATABASE must name the database file when FLOOR_STORE=1');
  const sqlite = new Database(path);
  sqlite.pragma(`page_size = ${PAGE_SIZE}`);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Checkpoints are the worker's, off the request thread.
  sqlite.pragma('wal_autocheckpoint = 0');
  sqlite.exec('CREATE TABLE IF NOT EXISTS assessments (row INTEGER PRIMARY KEY, document TEXT NOT NULL)');
  const insert = sqlite.prepare('INSERT INTO assessments (row, document) VALUES (?, ?)');
  const saveAll = sqlite.transaction((documents: readonly string[]) => {
    for (const document of documents) insert.run(++row, document);
  });
  commitTurn = () => {
    const turn = pending;
    pending = [];
    saveAll(turn.map((p) => p.document));
    for (const p of turn) p.reply.code(201).type('application/json; charset=utf-8').send(p.document);
  };
  const checkpoints = new Worker(
    [
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});`,
      `const db = new Database(${JSON.stringify(path)});`,
      "db.pragma('synchronous = NORMAL');",
      "setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 100);",
    ].join('\n'),
    { eval: true },
  );
  checkpoints.unref();
}

const app = Fastify({ logger: false });
app.get('/ready', async () => ({ status: 'ready' }));
app.post('/v1/assessments', (request, reply) => {
  const check = checkSubmission(kb, request.body);
  if (!check.ok) return reply.code(422).send({ errors: check.errors });
  const { document } = scoredAssessment(kb, check.submission, uuids, null).record;
  if (commitTurn === undefined) return reply.code(201).type('application/json; charset=utf-8').send(document);
  if (pending.length === 0) setImmediate(commitTurn);
  pending.push({ document, reply });
  return reply;
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
