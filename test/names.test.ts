// The names an unknown field or query parameter was likely meant as, and where a schema's names are found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { editDistance, knownNames, meantName, unknownNameMessage } from '../src/names.js';

describe('meantName', () => {
  const query = ['category', 'q', 'role', 'minLevel', 'companySize', 'limit', 'offset'];

  it.each([
    ['categry', 'category'],
    ['Category', 'category'],
    ['companysize', 'companySize'],
    ['company_size', 'companySize'],
    ['minlevel', 'minLevel'],
    ['rol', 'role'],
    ['limt', 'limit'],
    ['ofset', 'offset'],
    ['Q', 'q'],
    ['categories', 'category'],
    ['Categories', 'category'],
    ['roles', 'role'],
    ['limits', 'limit'],
    ['offsets', 'offset'],
  ])('takes %s for %s', (typed, meant) => {
    expect(meantName(typed, query)).toBe(meant);
  });

  it.each([
    ['x', 'a name of up to three characters is matched exactly, case aside'],
    ['page', 'too far from every name'],
    ['colour', 'too far from every name'],
    ['categoriez', 'three edits from category, and not its plural'],
    ['qs', 'the plural of a name of up to three characters is not taken for it'],
  ])('suggests nothing for %s (%s)', (typed) => {
    expect(meantName(typed, query)).toBeUndefined();
  });

  it('suggests neither of two names equally close', () => {
    expect(meantName('rate', ['race', 'rave'])).toBeUndefined();
    expect(meantName('rate', ['race', 'rates', 'ratio'])).toBeUndefined();
    expect(meantName('ratee', ['race', 'rates'])).toBe('rates');
  });

  it('takes a plural or a singular for one edit, and lets it tie with another name one edit away', () => {
    expect(meantName('batches', ['batch', 'preview'])).toBe('batch');
    expect(meantName('batch', ['batches'])).toBe('batches');
    expect(meantName('indexes', ['index', 'role'])).toBe('index');
    expect(meantName('boxes', ['box'])).toBeUndefined();
    expect(meantName('classes', ['class'])).toBe('class');
    expect(meantName('sizes', ['size'])).toBe('size');
    expect(meantName('category', ['categories'])).toBe('categories');
    expect(meantName('batches', ['batch', 'batched'])).toBeUndefined();
  });

  it('answers a name thousands of characters long at once, without comparing it edit by edit', () => {
    const long = 'k'.repeat(100_000);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) expect(meantName(long, query)).toBeUndefined();
    // 100 full comparisons against seven names would take seconds; length checks take microseconds.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('counts two neighbours swapped as one edit', () => {
    expect(editDistance('PROT', 'PORT')).toBe(1);
    expect(editDistance('LOGLEVLE', 'LOGLEVEL')).toBe(1);
    expect(editDistance('abcd', 'badc')).toBe(2);
    expect(editDistance('PROT', 'PORT', 1)).toBe(1);
    expect(editDistance('PROT', 'PORT', 0)).toBe(1);
  });

  it('with a most, gives the count up to it and one more past it', () => {
    expect(editDistance('kitten', 'sitting', 3)).toBe(3);
    expect(editDistance('kitten', 'sitting', 2)).toBe(3);
    expect(editDistance('kitten', 'sitting', 0)).toBe(1);
    expect(editDistance('abc', 'abcdefgh', 1)).toBe(2);
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.nat(4), (a, b, max) => {
        expect(editDistance(a, b, max)).toBe(Math.min(editDistance(a, b), max + 1));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('unknownNameMessage', () => {
  it('adds the meant name only where there is one', () => {
    expect(unknownNameMessage('parameter', 'categry', ['category'])).toBe('unknown parameter; did you mean category?');
    expect(unknownNameMessage('field', 'mood', ['answers', 'respondent', 'companySize'])).toBe('unknown field');
    // A list sent as some HTTP libraries send one (roles[]=a&roles[]=b) is told the name it stands for.
    expect(unknownNameMessage('parameter', 'roles[]', ['roles', 'companySize', 'category'])).toBe('unknown parameter; did you mean roles?');
    expect(unknownNameMessage('parameter', 'colour[]', ['roles', 'companySize', 'category'])).toBe('unknown parameter');
  });

  it('tells a name the schema lists as belonging elsewhere where it goes, and only that name', () => {
    const hints = { size: 'sizes are at GET /sizes' };
    expect(unknownNameMessage('parameter', 'size', ['roles'], hints)).toBe('unknown parameter; sizes are at GET /sizes');
    expect(unknownNameMessage('parameter', 'rols', ['roles'], hints)).toBe('unknown parameter; did you mean roles?');
    // Names on Object.prototype are not hints.
    expect(unknownNameMessage('parameter', 'toString', ['roles'], hints)).toBe('unknown parameter');
  });
});

describe('knownNames', () => {
  const Answer = z.strictObject({ questionId: z.string(), value: z.number() });
  const Body = z.strictObject({
    answers: z.array(Answer),
    respondent: z.string().nullable().optional(),
    nested: z.strictObject({ inner: z.string() }).default({ inner: '' }),
  });

  it('reads the names at a path, through lists, optional and defaulted values', () => {
    expect(knownNames(Body, [])).toEqual(['answers', 'respondent', 'nested']);
    expect(knownNames(Body, ['answers', 3])).toEqual(['questionId', 'value']);
    expect(knownNames(Body, ['nested'])).toEqual(['inner']);
  });

  it('gives none where the path leads to no object or out of the schema', () => {
    expect(knownNames(Body, ['respondent'])).toEqual([]);
    expect(knownNames(Body, ['answers'])).toEqual([]);
    expect(knownNames(Body, ['missing', 'x'])).toEqual([]);
    expect(knownNames(undefined, [])).toEqual([]);
    expect(knownNames({ not: 'a schema' }, [])).toEqual([]);
  });
});
