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

/**
 * The index of the first character at which `text` is not JSON (RFC 8259), the text's length when
 * it ends too soon, or undefined when it is JSON. Containers are tracked on a list, not by recursion,
 * so that any depth is read.
 */
export function jsonErrorAt(text: string): number | undefined {
  const open: number[] = [];
  let expect = Expect.Value;
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) return expect === Expect.Next && open.length === 0 ? undefined : text.length;
    const c = text.charCodeAt(i);
    if (expect === Expect.Next) {
      const innermost = open.at(-1);
      if (innermost === undefined) return i;
      if (c === 0x2c) {
        expect = innermost === 0x7b ? Expect.Name : Expect.Value;
        i++;
      } else if (c === (innermost === 0x7b ? 0x7d : 0x5d)) {
        open.pop();
        i++;
      } else return i;
      continue;
    }
    if (expect === Expect.Name || expect === Expect.NameOrEnd) {
      if (c === 0x7d && expect === Expect.NameOrEnd) {
        open.pop();
        expect = Expect.Next;
        i++;
        continue;
      }
      if (c !== 0x22) return i;
      const end = endOfString(text, i);
      if (end < 0) return -end - 1;
      i = end;
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      if (i >= text.length) return text.length;
      if (text.charCodeAt(i) !== 0x3a) return i;
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
    const end =
      c === 0x22
        ? endOfString(text, i)
        : c === 0x2d || isDigit(c)
          ? endOfNumber(text, i)
          : c === 0x74
            ? endOfLiteral(text, i, 'true')
            : c === 0x66
              ? endOfLiteral(text, i, 'false')
              : c === 0x6e
                ? endOfLiteral(text, i, 'null')
                : -i - 1;
    if (end < 0) return -end - 1;
    i = end;
    expect = Expect.Next;
  }
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
