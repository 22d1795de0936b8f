import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { sendBatch } from '../src/routes/assessments/replies.js';

/** A server whose one route sends `body` as a batch's answer. */
function answering(body: string) {
  const app = Fastify();
  app.post('/batch', (request, reply) => sendBatch(request, reply, { status: 200, body, replayed: false }));
  return app;
}

const apps: ReturnType<typeof answering>[] = [];
afterAll(() => Promise.all(apps.map((app) => app.close())));

async function sent(body: string) {
  const app = answering(body);
  apps.push(app);
  const response = await app.inject({ method: 'POST', url: '/batch', headers: { 'accept-encoding': 'gzip' } });
  const text = response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.rawPayload).toString() : response.body;
  return { coding: response.headers['content-encoding'], text };
}

describe('a batch answer’s compression threshold', () => {
  // Guards against: the 16 KiB threshold compared UTF-16 characters, so an answer of 16 KiB or more
  // whose labels are outside ASCII went out uncompressed.
  it('counts bytes: an answer of fewer characters than 16 KiB but more bytes is sent in gzip', async () => {
    const body = JSON.stringify({ items: ['é'.repeat(9_000)] });
    expect(body.length).toBeLessThan(16 * 1024);
    expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(16 * 1024);
    expect(await sent(body)).toEqual({ coding: 'gzip', text: body });
  });

  it('sends an answer under 16 KiB plain and one of 16 KiB in gzip', async () => {
    const wrapped = (length: number) => JSON.stringify({ items: ['x'.repeat(length - 14)] });
    expect(wrapped(16 * 1024)).toHaveLength(16 * 1024);
    expect(await sent(wrapped(16 * 1024 - 1))).toEqual({ coding: undefined, text: wrapped(16 * 1024 - 1) });
    expect(await sent(wrapped(16 * 1024))).toEqual({ coding: 'gzip', text: wrapped(16 * 1024) });
  });
});
