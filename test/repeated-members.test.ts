import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { memberNamesIn, repeatedMembers } from '../src/json-syntax.js';
import { buildTestApp } from './helpers.js';
import { responseProblems } from './support/openapi.js';

describe('memberNamesIn', () => {
  it('counts the names of every object, and no colon inside a string', () => {
    expect(memberNamesIn('{}')).toBe(0);
    expect(memberNamesIn('[1,"a:b",{"c":{"d":"e:f"}}]')).toBe(2);
    expect(memberNamesIn('{"a\\":b":1,"c":"\\\\:"}')).toBe(2);
    expect(memberNamesIn('{"a":1,"a":2}')).toBe(2);
  });
});

describe('repeatedMembers', () => {
  it('gives the path of each name that comes again in its object, in the order they come', () => {
    expect(repeatedMembers('{"a":1,"b":2}')).toEqual([]);
    expect(repeatedMembers('{"a":1,"a":2,"a":3}')).toEqual([['a'], ['a']]);
    expect(repeatedMembers('{"items":[{"v":1},{"w":[0,{"v":1,"v":2}],"w":3}]}')).toEqual([
      ['items', 1, 'w', 1, 'v'],
      ['items', 1, 'w'],
    ]);
  });

  it('stops at the first `most` repeats', () => {
    expect(repeatedMembers('{"a":1,"a":2,"a":3,"b":{"c":1,"c":2}}', 2)).toEqual([['a'], ['a']]);
  });

  it('compares names as JSON reads them, escapes and all, and keeps objects apart', () => {
    expect(repeatedMembers('{"a":1,"\\u0061":2}')).toEqual([['a']]);
    expect(repeatedMembers('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toEqual([]);
    expect(repeatedMembers('{"x:y":1,"x":{"y":2}," x:y":3}')).toEqual([]);
    expect(repeatedMembers('{"":1,"":2}')).toEqual([['']]);
  });
});

describe('a body that gives a member twice', () => {
  let app: App;
  let answers: { questionId: string; value: number }[];
  beforeAll(async () => {
    app = await buildTestApp();
    answers = app.kb.data.questions.map((q, i) => ({ questionId: q.id, value: (i % 5) + 1 }));
  });
  afterAll(() => app.close());

  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

  /** The submission's JSON with `"respondent":"sam"` twice over, the second time as `name`. */
  const twice = (name: string) => JSON.stringify({ respondent: 'sam', answers }).replace('{', `{"respondent":${JSON.stringify(name)},`);

  it('is a 400 naming each repeated member, and stores nothing', async () => {
    const before = app.repository.countAssessments();
    const answer = await post('/v1/assessments', twice('bob').replace('"value":1}', '"value":1,"value":5}'));
    expect(answer.statusCode).toBe(400);
    expect(responseProblems('POST', '/v1/assessments', 400, answer.headers['content-type'] as string, answer.body)).toEqual([]);
    expect(answer.json()).toMatchObject({
      code: 'validation-error',
      detail: 'The body repeats 2 member names within an object: give each member once.',
      errors: [
        { field: 'body.respondent', message: 'is given more than once: give it once' },
        { field: 'body.answers[0].value', message: 'is given more than once: give it once' },
      ],
    });
    expect(app.repository.countAssessments()).toBe(before);
  });

  it('is a 400 whatever the two values, and on every route that reads a body', async () => {
    for (const url of ['/v1/assessments', '/v1/assessments/preview']) {
      const answer = await post(url, twice('sam'));
      expect(answer.statusCode).toBe(400);
      expect(answer.json().errors).toEqual([{ field: 'body.respondent', message: 'is given more than once: give it once' }]);
    }
    const batch = await post('/v1/assessments/batch', `{"items":[${JSON.stringify({ answers })},${twice('bob')}]}`);
    expect(batch.statusCode).toBe(400);
    expect(batch.json().errors).toEqual([{ field: 'body.items[1].respondent', message: 'is given more than once: give it once' }]);
  });

  it('lists the first 50 repeats of a body that has more, without looking for the rest', async () => {
    const items = Array.from({ length: 300 }, () => '{"v":1,"v":2}').join(',');
    const answer = await post('/v1/assessments/batch', `{"items":[${items}]}`);
    expect(answer.statusCode).toBe(400);
    expect(answer.json().detail).toBe('The body repeats more than 50 member names within an object: give each member once.');
    expect(answer.json().errors).toHaveLength(50);
    expect(answer.json().errors[49]).toEqual({ field: 'body.items[49].v', message: 'is given more than once: give it once' });
  });

  it('takes colons inside strings, and the same name in different objects', async () => {
    const created = await post('/v1/assessments', JSON.stringify({ respondent: 'team: platform "a:b"', answers }));
    expect(created.statusCode).toBe(201);
    expect(created.json().respondent).toBe('team: platform "a:b"');
  });
});
