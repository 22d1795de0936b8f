// Where a body stops being JSON, for the 400 that tells a client the line and column to fix.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foundAt, jsonError, lineAndColumn } from '../src/json-syntax.js';

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('jsonError', () => {
  it.each([
    ['{"answers":[],}', 14],
    ["{'answers':[]}", 1],
    ['{"answers":[1,2', 15],
    ['{"a":1}x', 7],
    ['{"a":tru}', 8],
    ['{"a":"x\ny"}', 7],
    ['[1,]', 3],
    ['[1,,2]', 3],
    ['{"a" 1}', 5],
    ['{"a":}', 5],
    ['{,}', 1],
    ['01', 1],
    ['-', 1],
    ['1.', 2],
    ['1e+', 3],
    ['"\\x"', 2],
    ['"\\u12G4"', 5],
    ['"open', 5],
    ['', 0],
    ['   ', 3],
    ['[}', 1],
    ['{]', 1],
  ])('finds where %j goes wrong: at %i', (text, at) => {
    expect(parses(text)).toBe(false);
    expect(jsonError(text)?.at).toBe(at);
  });

  const VALUE = 'a value: a string in double quotes, a number, an object, an array, true, false or null';
  // What a client fixing the body by hand is told JSON needs at that place, for the usual mistakes.
  it.each([
    ['{"answers":[],}', 'a member name in double quotes: a comma must be followed by another member'],
    ["{'answers':[]}", 'a member name in double quotes, or `}`'],
    ['{answers:[]}', 'a member name in double quotes, or `}`'],
    ['{"a":1 "b":2}', 'a comma or `}`'],
    ['[1 2]', 'a comma or `]`'],
    ['{"answers":[1,2', 'a comma or `]`'],
    ['{"a":1}x', 'nothing more: a body holds one JSON value'],
    ['{"a":tru}', '`true`'],
    ['{"a":True}', VALUE],
    ['{"a":\'x\'}', VALUE],
    ['[1,]', VALUE],
    ['[', `${VALUE}, or \`]\``],
    ['{"a" 1}', 'a colon after the member name'],
    ['{"a"', 'a colon after the member name'],
    ['{"a":"x\ny"}', 'no line break or control character inside a string: write it escaped, as \\n for a line break'],
    ['"\\x"', 'an escape from \\" \\\\ \\/ \\b \\f \\n \\r \\t, or \\u and four hexadecimal digits'],
    ['{"a":"open', 'a closing double quote'],
    ['{"op', 'a closing double quote'],
    ['1.', 'a digit'],
    ['-', 'a digit'],
    ['', VALUE],
  ])('tells what JSON needs where %j goes wrong: %s', (text, needs) => {
    expect(parses(text)).toBe(false);
    expect(jsonError(text)?.needs).toBe(needs);
  });

  it('finds nothing wrong in JSON, whitespace around it included', () => {
    for (const text of ['{}', '[]', ' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]} ', '"x"', '0', '-0.0E-0']) {
      expect(jsonError(text), text).toBeUndefined();
    }
  });

  it('agrees with JSON.parse on which texts are JSON', () => {
    const mutated = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', ']', '}', '"', ':', '\\', '\n', 'x', '0', ' ', '[', '{', '-', '.', 'e'),
        fc.boolean(),
      )
      .map(([json, at, insert, cut]) => {
        const i = at % (json.length + 1);
        return json.slice(0, i) + insert + json.slice(cut ? i + 1 : i);
      });
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), mutated), (text) => {
        expect(jsonError(text) === undefined).toBe(parses(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads any depth without recursion: a text that ends inside 100,000 brackets goes wrong at its end', () => {
    const deep = '['.repeat(100_000);
    expect(jsonError(deep)?.at).toBe(deep.length);
    expect(jsonError(`${deep}${']'.repeat(100_000)}`)).toBeUndefined();
  });
});

describe('foundAt', () => {
  it('names what a text has at an index: a visible character in backticks, others by name or code point', () => {
    expect(foundAt('{]', 1)).toBe('it has `]`');
    expect(foundAt('ab', 2)).toBe('the body ends');
    expect(foundAt('"a\nb"', 2)).toBe('it has a line break');
    expect(foundAt('"a\rb"', 2)).toBe('it has a line break');
    expect(foundAt('"a\tb"', 2)).toBe('it has a tab');
    expect(foundAt('`', 0)).toBe('it has a backtick');
    expect(foundAt('\u00a0', 0)).toBe('it has U+00A0');
    expect(foundAt('\u0001', 0)).toBe('it has U+0001');
    expect(foundAt('😀', 0)).toBe('it has U+1F600');
  });
});

describe('lineAndColumn', () => {
  it('counts lines and columns from 1', () => {
    expect(lineAndColumn('abc', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd\r\nef', 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn('ab\ncd\r\nef', 9)).toEqual({ line: 3, column: 3 });
    expect(lineAndColumn('\n', 1)).toEqual({ line: 2, column: 1 });
  });

  // Guards against: a body whose lines end in a lone CR (JSON whitespace, and a line break to editors)
  // was told line 1 and a column counted from the start of the text.
  it('counts a lone CR as a line break, and a CRLF as one', () => {
    expect(lineAndColumn('{\r  "a": 1,\r  x', 14)).toEqual({ line: 3, column: 3 });
    expect(lineAndColumn('a\r\n\rb', 4)).toEqual({ line: 3, column: 1 });
    expect(lineAndColumn('a\r\nb', 2)).toEqual({ line: 1, column: 3 });
    expect(lineAndColumn('a\n\n', 3)).toEqual({ line: 3, column: 1 });
  });
});
