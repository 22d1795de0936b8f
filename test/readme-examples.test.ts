// Every curl example in the README's Endpoints section is sent to the real app, as curl would send it:
// an example that rots (a renamed parameter, a question id the bank no longer holds, a body the check
// refuses, a header the example reads that is no longer sent) fails here, not for the reader who
// pastes it. The examples are read with a small shell reader that knows only what they use; an
// example it cannot read fails too, so that a new one is either runnable or made so.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { projectRoot } from '../src/paths.js';
import { buildTestApp } from './helpers.js';

/** One command of a shell block: its line in the README and the comment lines just above it. */
type Example = { line: number; comment: string; command: string };

const README = readFileSync(join(projectRoot, 'README.md'), 'utf8').split('\n');

/** The commands of the `sh` blocks between `## Endpoints` and the next `## ` heading, continuation lines joined. */
function endpointExamples(): Example[] {
  const start = README.indexOf('## Endpoints');
  const end = README.findIndex((line, i) => i > start && line.startsWith('## '));
  const examples: Example[] = [];
  let inBlock = false;
  let comment: string[] = [];
  let pending: { line: number; text: string } | undefined;
  for (let i = start; i < end; i++) {
    const line = README[i] as string;
    if (line.startsWith('```')) {
      inBlock = !inBlock && line === '```sh';
      comment = [];
      continue;
    }
    if (!inBlock) continue;
    if (pending !== undefined) pending.text += `\n${line}`;
    else if (line.trim() === '') comment = [];
    else if (line.trimStart().startsWith('#')) comment.push(line.trim());
    else pending = { line: i + 1, text: line };
    if (pending !== undefined && !pending.text.endsWith('\\') && !inQuotes(pending.text)) {
      examples.push({ line: pending.line, comment: comment.join(' '), command: pending.text });
      pending = undefined;
    }
  }
  return examples;
}

/** Whether a command's text ends inside quotes, so that the shell reads its next line as part of it. */
function inQuotes(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === undefined) {
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\') i++;
      // A comment runs to the end of its line, whatever quotes it holds (`# the role's levels`).
      else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) {
        const end = text.indexOf('\n', i);
        if (end < 0) return false;
        i = end;
      }
    } else if (c === quote) quote = undefined;
    else if (quote === '"' && c === '\\') i++;
  }
  return quote !== undefined;
}

/** What `$(…)` and `@file` stand for, and the variables set so far. */
type Shell = { vars: Map<string, string>; file: (name: string) => string; substitute: (inner: string) => string };

/**
 * The words of a command as the shell would pass them: quotes removed, `$NAME` and `$(…)` replaced
 * (inside double quotes too), a backslash-newline dropped, a `#` at the start of a word ending the
 * command. A `|` is a word of its own.
 */
function words(command: string, shell: Shell): string[] {
  const out: string[] = [];
  let word: string | undefined;
  const add = (text: string) => {
    word = (word ?? '') + text;
  };
  const variable = (at: number): [string, number] => {
    if (command[at + 1] === '(') {
      let depth = 1;
      let quote: string | undefined;
      let i = at + 2;
      for (; i < command.length && depth > 0; i++) {
        const c = command[i];
        if (quote !== undefined) {
          if (c === quote) quote = undefined;
        } else if (c === "'" || c === '"') quote = c;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
      }
      return [shell.substitute(command.slice(at + 2, i - 1)), i];
    }
    const name = /^[A-Za-z_]\w*/.exec(command.slice(at + 1))?.[0];
    if (name === undefined) return ['$', at + 1];
    const value = shell.vars.get(name);
    if (value === undefined) throw new Error(`README example uses $${name}, which no example before it sets`);
    return [value, at + 1 + name.length];
  };
  for (let i = 0; i < command.length; ) {
    const c = command[i] as string;
    if (c === '\\' && command[i + 1] === '\n') i += 2;
    else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
      i++;
    } else if (c === '#' && word === undefined) break;
    else if (c === '|' && word === undefined) {
      out.push('|');
      i++;
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) throw new Error(`README example has an unclosed single quote: ${command}`);
      add(command.slice(i + 1, close));
      i = close + 1;
    } else if (c === '"') {
      i++;
      let text = '';
      while (command[i] !== '"') {
        if (i >= command.length) throw new Error(`README example has an unclosed double quote: ${command}`);
        if (command[i] === '\\' && '"\\$'.includes(command[i + 1] as string)) {
          text += command[i + 1];
          i += 2;
        } else if (command[i] === '$') {
          const [value, next] = variable(i);
          text += value;
          i = next;
        } else text += command[i++];
      }
      add(text);
      i++;
    } else if (c === '$') {
      const [value, next] = variable(i);
      add(value);
      i = next;
    } else {
      add(c);
      i++;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** The commands of a pipeline: its words split at each `|`. */
function pipeline(words: string[]): string[][] {
  const commands: string[][] = [[]];
  for (const word of words) {
    if (word === '|') commands.push([]);
    else commands.at(-1)?.push(word);
  }
  return commands;
}

/** A curl command as the request it sends, and what it does with the answer. */
type Curl = {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** `-O`/`-OJ`: the body is saved under the name the answer gives. */
  saves: boolean;
  /** `-w '%{http_code}'`: the command prints the status. */
  printsStatus: boolean;
};

function curl(args: string[], shell: Shell): Curl {
  if (args[0] !== 'curl') throw new Error(`README example is not a curl command: ${args.join(' ')}`);
  const request: Curl = { method: 'GET', url: new URL('http://localhost'), headers: {}, saves: false, printsStatus: false };
  let explicitMethod = false;
  let url: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i] as string;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`curl ${arg} without a value`);
      return next;
    };
    if (arg === '-X') {
      request.method = value();
      explicitMethod = true;
    } else if (arg === '-H') {
      const header = value();
      const colon = header.indexOf(':');
      request.headers[header.slice(0, colon).toLowerCase()] = header.slice(colon + 1).trim();
    } else if (arg === '-d' || arg === '--data-binary') {
      const data = value();
      // curl reads `@name` from the file: `-d` leaves out its line breaks, `--data-binary` sends it as it is.
      const file = (name: string) => (arg === '-d' ? shell.file(name).replace(/[\r\n]/g, '') : shell.file(name));
      request.body = data.startsWith('@') ? file(data.slice(1)) : data;
      if (!explicitMethod) request.method = 'POST';
    } else if (arg === '-o') value();
    else if (arg === '-w') request.printsStatus = value().includes('%{http_code}');
    else if (/^-[sIOJ]+$/.test(arg)) {
      if (arg.includes('I')) request.method = 'HEAD';
      if (arg.includes('O')) request.saves = true;
    } else if (arg.startsWith('-')) throw new Error(`README example uses curl ${arg}, which this test does not read`);
    else if (url === undefined) url = arg;
    else throw new Error(`README example gives curl two URLs: ${url} and ${arg}`);
  }
  if (url === undefined) throw new Error(`README example gives curl no URL: ${args.join(' ')}`);
  request.url = new URL(/^https?:\/\//.test(url) ? url : `http://${url}`);
  if (request.body !== undefined && request.headers['content-type'] === undefined) {
    request.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return request;
}

describe('README curl examples', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(() => app.close());

  const send = (request: Curl): Promise<LightMyRequestResponse> =>
    app.inject({
      method: request.method as 'GET',
      url: `${request.url.pathname}${request.url.search}`,
      headers: request.headers,
      ...(request.body === undefined ? {} : { payload: request.body }),
    });

  it('each answers as the README says, in order, with the values the examples before it set', async () => {
    const examples = endpointExamples();
    const vars = new Map<string, string>();
    let submission: string | undefined;
    let storedPath: string | undefined;
    let firstStored: Record<string, unknown> | undefined;
    const shell: Shell = {
      vars,
      // "submission.json: a file holding a submission like the one above"
      file: (name) => {
        if (name !== 'submission.json' || submission === undefined) throw new Error(`README example reads ${name}, which no example wrote`);
        return submission;
      },
      substitute: (inner) => {
        if (inner === 'cat /proc/sys/kernel/random/uuid') return randomUUID();
        if (inner === 'cat submission.json') return shell.file('submission.json');
        throw new Error(`README example runs $(${inner}), which this test does not know`);
      },
    };
    const ran: string[] = [];

    for (const example of examples) {
      const where = `README.md:${example.line}: ${example.command}`;
      const assignment = /^([A-Za-z_]\w*)=\$\(([\s\S]*)\)(\s+#.*)?$/.exec(example.command.trim());
      if (assignment?.[2]?.startsWith('curl ')) {
        // name=$(curl -sI … | awk -F': ' 'tolower($1)=="header"{print $2}' | tr -d '\r'): one header of the answer.
        const [command = [], ...filters] = pipeline(words(assignment[2], shell));
        const header = /tolower\(\$1\)=="([a-z-]+)"/.exec(filters.flat().join(' '))?.[1];
        expect(header, `${where}: which header it keeps`).toBeDefined();
        const request = curl(command, shell);
        const response = await send(request);
        expect(response.statusCode, where).toBeLessThan(300);
        const value = response.headers[header as string];
        expect(value, `${where}: the ${header} header`).toEqual(expect.any(String));
        vars.set(assignment[1] as string, value as string);
        ran.push(`${request.method} ${header}`);
        continue;
      }
      if (assignment !== null) {
        vars.set(assignment[1] as string, shell.substitute(assignment[2] as string));
        continue;
      }

      // `<id>` is the assessment the POST before it stored.
      const command = example.command.includes('<id>')
        ? example.command.replace('localhost:3000/v1/assessments/<id>', `localhost:3000${storedPath ?? '/no-post-before-it'}`)
        : example.command;
      const request = curl(words(command, shell), shell);
      const response = await send(request);
      ran.push(`${request.method} ${request.url.pathname}`);

      if (/\b304\b/.test(example.comment)) {
        expect(request.printsStatus, `${where}: prints the status it promises`).toBe(true);
        expect(response.statusCode, where).toBe(304);
        continue;
      }
      expect(response.statusCode, `${where}\n${response.body.slice(0, 500)}`).toBeLessThan(300);
      expect(response.statusCode, where).toBeGreaterThanOrEqual(200);

      if (request.saves) {
        const saved = / saves (\S+)/.exec(example.command)?.[1];
        const disposition = String(response.headers['content-disposition']);
        expect(disposition, `${where}: names the file it saves`).toMatch(/filename="[^"]+"/);
        if (saved !== undefined) {
          const pattern = new RegExp(
            `^${saved
              .split(/<[a-z]+>/)
              .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
              .join('[^"/]+')}$`,
          );
          expect(/filename="([^"]+)"/.exec(disposition)?.[1], where).toMatch(pattern);
        }
      }

      if (request.method === 'POST' && request.url.pathname === '/v1/assessments') {
        expect(response.statusCode, where).toBe(201);
        submission = request.body;
        const location = response.headers.location as string;
        expect(location, `${where}: Location`).toMatch(/^\/v1\/assessments\/[0-9a-f-]{36}$/);
        storedPath = location;
        firstStored ??= response.json() as Record<string, unknown>;
        const { result } = response.json() as { result: { flags: string[]; recommendation: { confidence: string } } };
        const answered = (JSON.parse(request.body as string) as { answers: unknown[] }).answers.length;
        // "These 8 of the 44 questions are scored but flagged `incomplete`, so the result is at most `lean`."
        const claim = /These (\d+) of the (\d+) questions are scored but flagged `incomplete`/.exec(example.comment);
        if (claim !== null) {
          const instrument = (await app.inject('/v1/assessment/questions')).json() as { questions: unknown[] };
          expect(answered, `${where}: the answers the comment counts`).toBe(Number(claim[1]));
          expect(instrument.questions, `${where}: the questions the comment counts`).toHaveLength(Number(claim[2]));
          expect(result.flags, where).toContain('incomplete');
          expect(result.recommendation.confidence, where).not.toBe('clear');
        }
      }
      if (example.command.includes('<id>')) {
        expect(storedPath, `${where}: a POST before it stored one`).toBeDefined();
        if (request.method === 'DELETE') {
          // "Erase it: 204, and from then on a read of it is 410 Gone"
          expect(response.statusCode, where).toBe(204);
          expect((await app.inject(storedPath as string)).statusCode, `${where}: read after it`).toBe(410);
          ran.push('DELETE /v1/assessments/{id}');
        } else {
          expect(response.json(), where).toEqual(expect.objectContaining({ id: (storedPath as string).slice('/v1/assessments/'.length) }));
        }
      }
      if (request.url.pathname === '/v1/assessments/batch') {
        const items = (response.json() as { items: { status: number }[] }).items;
        expect(
          items.map((item) => item.status),
          where,
        ).toEqual([201, 201]);
      }
    }

    // The reader above saw the examples: the routes a reader of the README is shown, each at least once.
    expect(ran).toEqual(
      expect.arrayContaining([
        'GET /v1/roles',
        'GET /v1/roles/tech-lead',
        'GET /v1/competencies',
        'GET /v1/comparisons',
        'GET /v1/assessment/questions',
        'POST /v1/assessments',
        'POST /v1/assessments/preview',
        'POST /v1/assessments/batch',
        'DELETE /v1/assessments/{id}',
        'HEAD etag',
      ]),
    );
    expect(ran.length).toBeGreaterThanOrEqual(20);

    // The README shows the first POST's 201, its lists cut to their first items, and names each field of its result.
    expect(firstStored, 'a POST example stored an assessment').toBeDefined();
    const shown = storedExample();
    const { result, answers } = firstStored as { result: Record<string, unknown[]>; answers: unknown[] };
    const cut = (list: unknown) => (list as unknown[]).slice(0, 1);
    expect(shown, 'README.md: the 201 of the first POST').toEqual({
      ...firstStored,
      // The submission's own: a new id, time and key each time the example runs.
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      idempotencyKey: expect.stringMatching(/^[0-9a-f-]{36}$/),
      answers: cut(answers),
      result: { ...result, breakdown: cut(result.breakdown), highlights: cut(result.highlights) },
    });
    expect(resultFieldsListed(), 'README.md: the fields of a result, in order').toEqual(Object.keys(result));
  });
});

/** The JSON block after the paragraph that introduces the first POST's 201. */
function storedExample(): unknown {
  const intro = README.findIndex((line) => line.startsWith('The 201 of the first POST above'));
  const open = README.indexOf('```json', intro);
  const close = README.indexOf('```', open + 1);
  expect(intro, 'README.md: the paragraph before the 201').toBeGreaterThan(0);
  return JSON.parse(README.slice(open + 1, close).join('\n'));
}

/** The field names of the list that follows "The `result`, field by field". */
function resultFieldsListed(): string[] {
  const start = README.findIndex((line) => line.startsWith('The `result`, field by field'));
  const names: string[] = [];
  for (let i = start + 1; i < README.length && README[i] !== ''; i++) {
    const name = /^- `(\w+)`:/.exec(README[i] as string)?.[1];
    if (name !== undefined) names.push(name);
  }
  return names;
}

describe('the README example reader', () => {
  const shell: Shell = {
    vars: new Map([['KEY', 'k-1']]),
    file: () => '{"a":\n1}',
    substitute: (inner) => `<${inner}>`,
  };

  it('takes a quote inside a trailing comment for part of the comment, not the start of a quoted word', () => {
    expect(inQuotes(`curl -s localhost:3000/v1/roles   # the role's levels`)).toBe(false);
    expect(inQuotes(`curl -d '{"a":`)).toBe(true);
    expect(inQuotes(`curl -d '{"a":#1}'`)).toBe(false);
  });

  it('reads quotes, variables, substitutions and continuation lines as the shell does', () => {
    expect(words(`curl -s -X POST 'a b' \\\n  -H "Idempotency-Key: $KEY" -d "{\\"x\\":[$(cat f)]}" # note`, shell)).toEqual([
      'curl',
      '-s',
      '-X',
      'POST',
      'a b',
      '-H',
      'Idempotency-Key: k-1',
      '-d',
      '{"x":[<cat f>]}',
    ]);
    expect(() => words('curl "$UNSET"', shell)).toThrow(/\$UNSET/);
  });

  it('turns curl options into the request curl sends', () => {
    const post = curl(words(`curl -s localhost:3000/v1/x?y=1 -H 'content-type: application/json' -d @f.json`, shell), shell);
    expect(post).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(post.url.pathname + post.url.search).toBe('/v1/x?y=1');
    expect(curl(words('curl -s localhost:3000/v1/x --data-binary @f.json', shell), shell)).toMatchObject({
      method: 'POST',
      body: '{"a":\n1}',
    });
    expect(curl(['curl', '-sI', 'localhost:3000/v1/roles'], shell).method).toBe('HEAD');
    expect(() => curl(['curl', '--fail', 'localhost:3000/'], shell)).toThrow(/--fail/);
  });
});
