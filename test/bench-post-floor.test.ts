// The floor npm run bench:post-floor measures must do a POST's real work, or its figure would say
// nothing about the API's: the same checks, the same scored document, and (stored) the document
// committed by the time its 201 arrives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Started, startProcess } from '../bench/lib.js';
import { projectRoot } from '../src/paths.js';
import { SERVER_NODE_FLAGS } from '../src/server-flags.js';
import { buildTestApp } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-post-floor-test-'));
const databasePath = join(dir, 'floor.sqlite');
let floor: Started;
let storedFloor: Started;
let app: FastifyInstance;
let questionIds: string[];

const floorServer = (env: NodeJS.ProcessEnv) =>
  startProcess([join(projectRoot, 'bench', 'post-floor-server.ts')], env, { nodeFlags: [...SERVER_NODE_FLAGS, '--import', 'tsx'] });

beforeAll(async () => {
  [floor, storedFloor, app] = await Promise.all([
    floorServer({ FLOOR_STORE: '0' }),
    floorServer({ FLOOR_STORE: '1', FLOOR_DATABASE: databasePath }),
    buildTestApp(),
  ]);
  const instrument = (await app.inject({ method: 'GET', url: '/v1/assessment/questions' })).json() as { questions: { id: string }[] };
  questionIds = instrument.questions.map((q) => q.id);
}, 60_000);

afterAll(async () => {
  await Promise.all([floor?.stop(), storedFloor?.stop(), app?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const post = (server: Started, body: unknown) =>
  fetch(`${server.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A document with its id and time blanked: what two servers storing the same submission share. */
const blanked = (text: string) => text.replace(/^\{"id":"[^"]+","createdAt":"[^"]+",/, '{"id":"","createdAt":"",');

const submission = (n: number) => ({
  companySize: [undefined, 'startup', 'scale-up', 'big-tech'][n % 4],
  ...(n % 3 === 0 ? { respondent: `floor ${n}` } : {}),
  // Some questions left out in every other submission, so that flags and the scale move too.
  answers: questionIds
    .filter((_, i) => n % 2 === 0 || i % 5 !== 0)
    .map((questionId, i) => ({ questionId, value: ((i * 7 + n * 3) % 5) + 1 })),
});

describe('the POST floor', { timeout: 45_000 }, () => {
  it('answers 201 with the very document the API stores for the same submission, but for its id and time', async () => {
    for (let n = 0; n < 8; n++) {
      const api = await app.inject({ method: 'POST', url: '/v1/assessments', payload: submission(n) });
      expect(api.statusCode).toBe(201);
      for (const server of [floor, storedFloor]) {
        const response = await post(server, submission(n));
        expect(response.status).toBe(201);
        expect(blanked(await response.text())).toBe(blanked(api.body));
      }
    }
  });

  it('refuses what the API refuses, with the same checks', async () => {
    const bad = [
      { answers: [{ questionId: questionIds[0], value: 9 }] },
      { answers: [{ questionId: 'no-such-question', value: 3 }] },
      { ...submission(1), companySize: 'enormous' },
      { answers: [] },
    ];
    for (const body of bad) {
      const api = await app.inject({ method: 'POST', url: '/v1/assessments', payload: body });
      expect(api.statusCode).toBeGreaterThanOrEqual(400);
      expect(api.statusCode).toBeLessThan(500);
      expect((await post(floor, body)).status).toBe(422);
      expect((await post(storedFloor, body)).status).toBe(422);
    }
  });

  it('stored: the document a 201 carries is committed in the database when the answer arrives', async () => {
    const reader = new Database(databasePath, { readonly: true });
    try {
      const count = () => (reader.prepare('SELECT count(*) AS n FROM assessments').get() as { n: number }).n;
      const before = count();
      for (let n = 0; n < 5; n++) {
        const response = await post(storedFloor, submission(n));
        expect(response.status).toBe(201);
        const text = await response.text();
        expect(count()).toBe(before + n + 1);
        const last = reader.prepare('SELECT document FROM assessments ORDER BY row DESC LIMIT 1').get() as { document: string };
        expect(last.document).toBe(text);
      }
    } finally {
      reader.close();
    }
  });
});
