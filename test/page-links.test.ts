// Links between the pages of a list (RFC 8288): a client pages through any list by following `next`
// from the first page, and back by `prev`, without computing an offset.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageLinks } from '../src/page-links.js';
import { buildTestApp } from './helpers.js';

describe('pageLinks', () => {
  const links = (offset: number, limit = 5, total = 22, filters = {}) => pageLinks('/v1/x', filters, { total, limit, offset });

  it('gives none for a page that holds the whole list', () => {
    expect(links(0, 50)).toBeUndefined();
    expect(links(0, 22)).toBeUndefined();
    expect(links(0, 5, 0)).toBeUndefined();
  });

  it('gives the first page next and last, a middle page all four, the last page first and prev', () => {
    expect(links(0)).toBe('</v1/x?limit=5&offset=5>; rel="next", </v1/x?limit=5&offset=20>; rel="last"');
    expect(links(10)).toBe(
      '</v1/x?limit=5&offset=0>; rel="first", </v1/x?limit=5&offset=5>; rel="prev", ' +
        '</v1/x?limit=5&offset=15>; rel="next", </v1/x?limit=5&offset=20>; rel="last"',
    );
    expect(links(20)).toBe('</v1/x?limit=5&offset=0>; rel="first", </v1/x?limit=5&offset=15>; rel="prev"');
    // 21 items: the last page starts at 20 and holds one.
    expect(links(15, 5, 21)).toContain('</v1/x?limit=5&offset=20>; rel="last"');
    expect(links(15, 5, 20)).not.toContain('rel="next"');
  });

  it("keeps the page's own steps forward, and never leads back past the start or the end", () => {
    expect(links(3)).toBe(
      '</v1/x?limit=5&offset=0>; rel="first", </v1/x?limit=5&offset=0>; rel="prev", ' +
        '</v1/x?limit=5&offset=8>; rel="next", </v1/x?limit=5&offset=18>; rel="last"',
    );
    // Past the end, prev is the last full page, where items are.
    expect(links(100)).toBe('</v1/x?limit=5&offset=0>; rel="first", </v1/x?limit=5&offset=17>; rel="prev"');
    expect(links(100, 50)).toBe('</v1/x?limit=50&offset=0>; rel="first", </v1/x?limit=50&offset=0>; rel="prev"');
  });

  it('keeps the other parameters given, encoded, and leaves the absent ones out', () => {
    expect(links(0, 5, 22, { category: 'people', q: 'a&b c', role: undefined, minLevel: 2, companySize: null })).toBe(
      '</v1/x?category=people&q=a%26b%20c&minLevel=2&limit=5&offset=5>; rel="next", ' +
        '</v1/x?category=people&q=a%26b%20c&minLevel=2&limit=5&offset=20>; rel="last"',
    );
  });
});

/** The target of each link of a Link header, by its rel. */
function parsedLinks(header: string | string[] | number | undefined): Record<string, string> {
  if (header === undefined) return {};
  return Object.fromEntries(
    String(header)
      .split(', ')
      .map((link) => {
        const match = /^<([^>]+)>; rel="(\w+)"$/.exec(link);
        if (match === null) throw new Error(`not a link: ${link}`);
        return [match[2], match[1]];
      }),
  );
}

describe('the lists, paged', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  type Page = { items: unknown[]; total: number; limit: number; offset: number };
  const page = async (url: string) => {
    const response = await app.inject(url);
    expect(response.statusCode, url).toBe(200);
    return { body: response.json() as Page, links: parsedLinks(response.headers.link) };
  };

  // Guards against: a client paging a list had to compute each offset from total, limit and offset.
  it.each([
    '/v1/roles',
    '/v1/competencies',
    '/v1/competencies?category=people',
    '/v1/competencies?role=engineering-manager&minLevel=2&companySize=big-tech',
    '/v1/competencies?q=team%20work',
    '/v1/company-sizes',
    '/v1/sources',
    '/problems',
  ])('%s: following next from the first page gives the whole list once, and prev leads back', async (list) => {
    const whole = (await page(`${list}${list.includes('?') ? '&' : '?'}limit=200`)).body;
    expect(whole.total).toBeGreaterThan(0);
    for (const limit of [1, 2, 3]) {
      let url: string | undefined = `${list}${list.includes('?') ? '&' : '?'}limit=${limit}`;
      const items: unknown[] = [];
      const visited: string[] = [];
      let last: string | undefined;
      while (url !== undefined) {
        const { body, links } = await page(url);
        items.push(...body.items);
        visited.push(url);
        last ??= links.last;
        url = links.next;
        if (url === undefined) expect(links.last, 'the last page has no last link').toBeUndefined();
        expect(visited.length).toBeLessThanOrEqual(whole.total);
      }
      expect(items, `limit ${limit}`).toEqual(whole.items);
      // The first page's `last` is the page that ended the walk, unless the list is one page long.
      if (visited.length > 1) expect(last).toBe(visited.at(-1));
      // Back by prev from the last page visits the same pages.
      let back: string | undefined = visited.at(-1);
      const pagesBack: unknown[][] = [];
      while (back !== undefined) {
        const { body, links } = await page(back);
        pagesBack.unshift(body.items);
        back = links.prev;
      }
      expect(pagesBack.flat()).toEqual(whole.items);
    }
  });

  // Guards against (from a review): a list's 412 kept the Link its page would have had.
  it('sends no Link with a problem answered in place of a page', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const refused = await app.inject({ method, url: '/v1/competencies?limit=2', headers: { 'if-match': '"nope"' } });
      expect(refused.statusCode).toBe(412);
      expect(refused.headers.link).toBeUndefined();
      expect(refused.headers.etag).toBeUndefined();
    }
    expect((await app.inject('/v1/competencies?limit=2&offset=x')).headers.link).toBeUndefined();
  });

  it('sends no Link when one page holds the list', async () => {
    const response = await app.inject('/v1/roles');
    expect(response.statusCode).toBe(200);
    expect(response.headers.link).toBeUndefined();
  });

  it('sends the same Link on a 304, and lets a page in another origin read it', async () => {
    const first = await app.inject('/v1/competencies?limit=5&offset=5');
    expect(parsedLinks(first.headers.link)).toEqual({
      first: '/v1/competencies?limit=5&offset=0',
      prev: '/v1/competencies?limit=5&offset=0',
      next: '/v1/competencies?limit=5&offset=10',
      last: expect.stringMatching(/^\/v1\/competencies\?limit=5&offset=\d+$/),
    });
    const again = await app.inject({
      url: '/v1/competencies?limit=5&offset=5',
      headers: { 'if-none-match': String(first.headers.etag), origin: 'https://hr.example' },
    });
    expect(again.statusCode).toBe(304);
    expect(again.headers.link).toBe(first.headers.link);
    expect(String(again.headers['access-control-expose-headers']).split(', ')).toContain('Link');
  });
});
