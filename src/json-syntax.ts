// Where a text stops being JSON: the parser says only for some errors, and a client fixing a body by
// hand wants the line and column of every one. And which member names a JSON text repeats, which the
// parser drops without a word.

enum Expect {
  /** A value: the whole text's, an array element's, or a member's after its colon. */
  Value,
  /** A value or `]`, just after `[`. */
  ValueOrEnd,
  /** A member name or `}`, just after `{`. */
  NameOrEnd,
  /** A member name, after a comma. */
  Name,
  /** `,` or the closing bracket of the innermost container, or the end of the text outside one. */
  Next,
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** What a string needs at the index where it went wrong (`endOfString`'s negated index). */
function stringNeeds(text: string, at: number): string {
  if (at >= text.length) return 'a closing double quote';
  if (text.charCodeAt(at) < 0x20) return 'no line break or control character inside a string: write it escaped, as \\n for a line break';
  return 'an escape from \\" \\\\ \\/ \\b \\f \\n \\r \\t, or \\u and four hexadecimal digits';
}

/** The index just past a JSON string that opens at `i`, or the index where it goes wrong, negated less one. */
function endOfString(text: string, i: number): number {
  let at = i + 1;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === 0x22) return at + 1;
    if (c < 0x20) return -at - 1;
    if (c === 0x5c) {
      const escaped = text.charCodeAt(at + 1);
      if (escaped === 0x75) {
        for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(at + k))) return -Math.min(at + k, text.length) - 1;
        at += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(text[at + 1] ?? 'x')) return -Math.min(at + 1, text.length) - 1;
      at += 2;
      continue;
    }
    at++;
  }
  return -text.length - 1;
}

/** The index just past a JSON number that starts at `i`, or the index where it goes wrong, negated less one. */
function endOfNumber(text: string, i: number): number {
  let at = i;
  if (text.charCodeAt(at) === 0x2d) at++;
  if (text.charCodeAt(at) === 0x30) at++;
  else if (isDigit(text.charCodeAt(at))) while (isDigit(text.charCodeAt(at))) at++;
  else return -at - 1;
  if (text.charCodeAt(at) === 0x2e) {
    at++;
    if (!isDigit(text.charCodeAt(at))) return -at - 1;
    while (isDigit(text.charCodeAt(at))) at++;
  }
  if (text.charCodeAt(at) === 0x65 || text.charCodeAt(at) === 0x45) {
    at++;
    if (text.charCodeAt(at) === 0x2b || text.charCodeAt(at) === 0x2d) at++;
    if (!isDigit(text.charCodeAt(at))) return -at - 1;
    while (isDigit(text.charCodeAt(at))) at++;
  }
  return at;
}

/** The index just past the literal `word` at `i`, or the index where it goes wrong, negated less one. */
function endOfLiteral(text: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) return -(i + k) - 1;
  return i + word.length;
}

/** Where a text stops being JSON, and what JSON needs there. */
export type JsonError = { at: number; needs: string };

const A_VALUE = 'a value: a string in double quotes, a number, an object, an array, true, false or null';

/** What JSON needs next in state `expect`, inside the container `innermost` opened (undefined at the top). */
function needs(expect: Expect, innermost: number | undefined): string {
  const closer = innermost === 0x7b ? '`}`' : '`]`';
  switch (expect) {
    case Expect.Value:
      return A_VALUE;
    case Expect.ValueOrEnd:
      return `${A_VALUE}, or \`]\``;
    case Expect.NameOrEnd:
      return 'a member name in double quotes, or `}`';
    case Expect.Name:
      return 'a member name in double quotes: a comma must be followed by another member';
    case Expect.Next:
      return innermost === undefined ? 'nothing more: a body holds one JSON value' : `a comma or ${closer}`;
  }
}

/**
 * Where `text` stops being JSON (RFC 8259): the index of the first character at which it goes wrong,
 * or the text's length when it ends too soon, with what JSON needs there; undefined when it is JSON.
 * Containers are tracked on a list, not by recursion, so that any depth is read.
 */
export function jsonError(text: string): JsonError | undefined {
  const open: number[] = [];
  let expect = Expect.Value;
  let i = 0;
  const wrong = (at: number, what = needs(expect, open.at(-1))): JsonError => ({ at, needs: what });
  for (;;) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) return expect === Expect.Next && open.length === 0 ? undefined : wrong(text.length);
    const c = text.charCodeAt(i);
    if (expect === Expect.Next) {
      const innermost = open.at(-1);
      if (innermost === undefined) return wrong(i);
      if (c === 0x2c) {
        expect = innermost === 0x7b ? Expect.Name : Expect.Value;
        i++;
      } else if (c === (innermost === 0x7b ? 0x7d : 0x5d)) {
        open.pop();
        i++;
      } else return wrong(i);
      continue;
    }
    if (expect === Expect.Name || expect === Expect.NameOrEnd) {
      if (c === 0x7d && expect === Expect.NameOrEnd) {
        open.pop();
        expect = Expect.Next;
        i++;
        continue;
      }
      if (c !== 0x22) return wrong(i);
      const end = endOfString(text, i);
      if (end < 0) return wrong(-end - 1, stringNeeds(text, -end - 1));
      i = end;
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      if (i >= text.length || text.charCodeAt(i) !== 0x3a) return wrong(i, 'a colon after the member name');
      i++;
      expect = Expect.Value;
      continue;
    }
    // A value, or (just after `[`) the end of an empty array.
    if (c === 0x5d && expect === Expect.ValueOrEnd) {
      open.pop();
      expect = Expect.Next;
      i++;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      open.push(c);
      expect = c === 0x7b ? Expect.NameOrEnd : Expect.ValueOrEnd;
      i++;
      continue;
    }
    const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
    const end =
      c === 0x22
        ? endOfString(text, i)
        : c === 0x2d || isDigit(c)
          ? endOfNumber(text, i)
          : literal !== undefined
            ? endOfLiteral(text, i, literal)
            : -i - 1;
    if (end < 0) {
      const at = -end - 1;
      if (at === i) return wrong(i);
      if (c === 0x22) return wrong(at, stringNeeds(text, at));
      return wrong(at, literal === undefined ? 'a digit' : `\`${literal}\``);
    }
    i = end;
    expect = Expect.Next;
  }
}

/** What `text` has at index `at`, for a reader: `it has` the character in backticks, its name or code point, or `the body ends`. */
export function foundAt(text: string, at: number): string {
  if (at >= text.length) return 'the body ends';
  const code = text.codePointAt(at) as number;
  if (code === 0x0a || code === 0x0d) return 'it has a line break';
  if (code === 0x09) return 'it has a tab';
  if (code === 0x60) return 'it has a backtick';
  if (code > 0x20 && code < 0x7f) return `it has \`${String.fromCodePoint(code)}\``;
  return `it has U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A line break as editors count one: CRLF, LF, or a CR on its own (JSON takes all three as whitespace). */
const LINE_BREAK = /\r\n|\r|\n/g;

/** The line and column (from 1, in UTF-16 code units as JavaScript counts them) of index `at` in `text`. */
export function lineAndColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  LINE_BREAK.lastIndex = 0;
  // A break counts once it ends at or before `at`: an index inside a CRLF stays on the line the CR ends.
  for (let match = LINE_BREAK.exec(text); match !== null && LINE_BREAK.lastIndex <= at; match = LINE_BREAK.exec(text)) {
    line++;
    lineStart = LINE_BREAK.lastIndex;
  }
  return { line, column: at - lineStart + 1 };
}

/**
 * How many member names `text` holds, one per colon outside strings: a count JSON.parse does not
 * keep, since a name given twice in one object leaves one key. `text` must be JSON.
 */
export function memberNamesIn(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) count++;
    // Past the string, to its closing quote: the loop steps over it.
    else if (c === 0x22) i = endOfString(text, i) - 1;
  }
  return count;
}

/** A step of the path to a value: a member's name, or an element's index. */
type Step = string | number;

/**
 * The path of each member whose name comes again in the same object (`answers[0].value` for the
 * second `value` of the first answer), in the order they come, the first `most` of them; names are
 * compared decoded, so `"\u0061"` repeats `"a"`. `text` must be JSON.
 */
export function repeatedMembers(text: string, most = Number.POSITIVE_INFINITY): Step[][] {
  const found: Step[][] = [];
  // One entry per open container: the names an object has had so far (undefined for an array), and
  // the step the value being read is at.
  const names: (Set<string> | undefined)[] = [];
  const path: Step[] = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      names.push(c === 0x7b ? new Set() : undefined);
      path.push(c === 0x7b ? '' : 0);
      nameNext = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      names.pop();
      path.pop();
      nameNext = false;
    } else if (c === 0x2c) {
      const depth = path.length - 1;
      if (names[depth] === undefined) path[depth] = (path[depth] as number) + 1;
      else nameNext = true;
    } else if (c === 0x22) {
      const start = i;
      i = endOfString(text, i) - 1;
      if (!nameNext) continue;
      nameNext = false;
      const raw = text.slice(start + 1, i);
      const name = raw.includes('\\') ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
      const depth = path.length - 1;
      const seen = names[depth] as Set<string>;
      path[depth] = name;
      if (!seen.has(name)) seen.add(name);
      else if (found.push([...path]) >= most) return found;
    }
  }
  return found;
}
