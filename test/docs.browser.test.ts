import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { launchChromium } from './support/browser.js';
import { listenLocally } from './support/http.js';
import { operations } from './support/openapi.js';

// .ci/run installs Debian's chromium; without it this suite cannot run at all, so it fails loudly.
describe('/docs in a real browser', () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    browser = await launchChromium();
    app = await buildTestApp();
    ({ base: baseUrl } = await listenLocally(app));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** Opens the docs page with one operation (`tag-operationId`) expanded and its "Try it out" pressed. */
  async function tryOut(page: Page, operationId: string) {
    await page.goto(`${baseUrl}/docs`);
    const operation = page.locator(`#operations-${operationId}`);
    await operation.waitFor({ timeout: 15_000 });
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    return operation;
  }

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

  it('sends a search the q pattern lets through and holds back one it refuses, reading the pattern as the page does', async () => {
    // Guards against: a q pattern only a Unicode-aware validator reads (`[\p{L}\p{N}]`), which the page, reading
    // it without the u flag, took to refuse q=feedback; and against a pattern that let q=--- through to a 400.
    const page = await browser.newPage();
    try {
      const operation = await tryOut(page, 'competencies-listCompetencies');
      const q = operation.locator('tr[data-param-name="q"] input');
      const sent: string[] = [];
      page.on('request', (request) => {
        if (request.url().startsWith(`${baseUrl}/v1/competencies`)) sent.push(new URL(request.url()).searchParams.get('q') ?? '');
      });

      await q.fill('---');
      await operation.locator('.execute').click();
      await expect
        .poll(() => operation.locator('tr[data-param-name="q"] .invalid, tr[data-param-name="q"] input.invalid').count())
        .toBeGreaterThan(0);

      await q.fill('feedback');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${baseUrl}/v1/competencies?`), { timeout: 10_000 }),
        operation.locator('.execute').click(),
      ]);
      expect(response.status()).toBe(200);
      expect(sent).toEqual(['feedback']);
    } finally {
      await page.close();
    }
  });

  it('scores the example body that the page fills in for POST /v1/assessments/preview (200, not 422)', async () => {
    // Guards against: without an example in the document the page filled the body in from the
    // schema alone ({"answers":[{"questionId":"string","value":1}],"companySize":"string",...}), and
    // executing it as offered gave 422 (unknown question, unknown company size, fewer than 8 answers).
    const page = await browser.newPage();
    try {
      const operation = await tryOut(page, 'assessments-previewAssessment');
      const offered = await operation.locator('textarea.body-param__text').inputValue();
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${baseUrl}/v1/assessments/preview` && r.request().method() === 'POST', {
          timeout: 10_000,
        }),
        operation.locator('.execute').click(),
      ]);
      expect(response.status(), `the page's example body ${offered} -> ${(await response.text()).slice(0, 300)}`).toBe(200);
    } finally {
      await page.close();
    }
  });
});
