import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { operations } from './support/openapi.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// .ci/run installs Debian's chromium; without it this suite cannot run at all, so it fails loudly.
describe('/docs in a real browser', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (see .ci/run)`);
    app = await buildTestApp();
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('lists every operation of the document, with no page errors', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:')) external.push(request.url());
    });

    await page.goto(`${baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 15_000 });
    const shown = await page.$$eval('.opblock', (blocks) =>
      blocks.map((block) => ({
        method: block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '',
        path: block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '',
      })),
    );
    const listed = new Set(shown.map((op) => `${op.method} ${op.path}`));
    const expected = operations().map((op) => `${op.method} ${op.path}`);
    expect(expected.length).toBeGreaterThan(5);
    for (const op of expected) expect(listed.has(op), `${op} is listed`).toBe(true);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.screenshot({ path: 'test/.artifacts/docs.png', fullPage: false }).catch(() => undefined);
    await page.close();
  });
});
