import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it, vi } from 'vitest';
import { buildTestApp } from './helpers.js';
import { readRawSeed, TempDirs } from './support/fixtures.js';

// The checkpoint thread of the next app built ends on its own, as after a crash (what
// CheckpointerEvents.onExit is for): in a file of its own, since the mock holds for the whole file.
const control = vi.hoisted(() => ({ endNext: false }));
vi.mock('../src/db/checkpointer.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/db/checkpointer.js')>();
  class Checkpointer extends original.Checkpointer {
    constructor(...args: ConstructorParameters<typeof original.Checkpointer>) {
      super(...args);
      if (control.endNext) {
        control.endNext = false;
        const { worker } = this as unknown as { worker: { terminate(): Promise<number> } };
        setTimeout(() => void worker.terminate(), 200);
      }
    }
  }
  return { ...original, Checkpointer };
});

const QUESTIONS = readRawSeed().questions.questions;
const temp = new TempDirs();
afterAll(() => temp.cleanup());

it('a server that can no longer hear of erasures keeps no assessment in memory: one erased elsewhere is a 410 there', async () => {
  const databasePath = join(temp.make('rc-api-unheard-'), 'api.sqlite');
  const one = await buildTestApp({ databasePath });
  control.endNext = true;
  const other = await buildTestApp({ databasePath });
  try {
    await sleep(500);
    const created = await other.inject({
      method: 'POST',
      url: '/v1/assessments',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ respondent: 'unheard', answers: QUESTIONS.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 })) }),
    });
    expect(created.statusCode).toBe(201);
    const location = created.headers.location as string;
    expect((await other.inject(location)).statusCode).toBe(200);
    expect((await one.inject({ method: 'DELETE', url: location })).statusCode).toBe(204);
    expect((await other.inject(location)).statusCode).toBe(410);
  } finally {
    await other.close();
    await one.close();
  }
});
