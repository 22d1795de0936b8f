import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import '../src/schemas/messages.js';

const messageOf = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues[0]?.message;

describe('validation messages', () => {
  it('words the issues it knows in the project’s voice', () => {
    expect(messageOf(z.object({ a: z.string() }), {})).toBe('is required');
    expect(messageOf(z.int(), 1.5)).toBe('must be a whole number');
    expect(messageOf(z.string().max(3), 'abcd')).toBe('must have at most 3 characters');
    expect(messageOf(z.array(z.int()).min(2), [1])).toBe('must have at least 2 items');
    // Guards against (from a review): "" was told "must have at least 1 character" in a body's question
    // id and "must not be empty" in its company size and in every query.
    expect(messageOf(z.array(z.int()).min(1), [])).toBe('must not be empty');
    expect(messageOf(z.string().min(1), '')).toBe('must not be empty');
    expect(messageOf(z.string().length(2), 'abc')).toBe('must have exactly 2 characters');
    expect(messageOf(z.number().gt(0), 0)).toBe('must be more than 0');
    expect(messageOf(z.enum(['a', 'b']), 'c')).toBe('must be one of: a, b');
    // Guards against (from a review): a choice written with capitals or a letter off was given the
    // list alone, where slugs and field names are told the one they were likely meant as.
    const categories = z.enum(['technical', 'people', 'delivery']);
    expect(messageOf(categories, 'People')).toBe('must be one of: technical, people, delivery; did you mean people?');
    expect(messageOf(categories, 'peple')).toBe('must be one of: technical, people, delivery; did you mean people?');
    expect(messageOf(categories, 'finance')).toBe('must be one of: technical, people, delivery');
    expect(messageOf(z.literal('a'), 'b')).toBe('must be "a"');
    expect(messageOf(z.uuid(), 'x')).toBe('must be a UUID');
  });

  // Guards against: 1e999 in a body (read as Infinity) told "must be a number", which it was as sent.
  it('tells a number beyond a double’s range that it is too large to read, either sign', () => {
    for (const value of [JSON.parse('1e999'), JSON.parse('-1e999')]) {
      expect(messageOf(z.int().min(1).max(5), value)).toBe('is a number too large to read (beyond ±1.8e308)');
      expect(messageOf(z.number(), value)).toBe('is a number too large to read (beyond ±1.8e308)');
    }
    expect(messageOf(z.string(), JSON.parse('1e999'))).toBe('must be a string');
  });

  // Guards against (from a walk through the README as a script author): "5" told only "must be a
  // number", where the mistake is the quotes.
  it('tells a number sent as a string to drop the quotes, and other strings only what is wanted', () => {
    expect(messageOf(z.number(), '5')).toBe('must be a number, not a string: send it without quotes');
    // zod checks the type before the integer, so a whole number's field says "a number" here too.
    expect(messageOf(z.int().min(1).max(5), ' 3 ')).toBe('must be a number, not a string: send it without quotes');
    expect(messageOf(z.number(), '-2.5e3')).toBe('must be a number, not a string: send it without quotes');
    for (const text of ['five', '', '  ', 'Infinity', '1e999', 'NaN']) expect(messageOf(z.number(), text), text).toBe('must be a number');
  });

  it('keeps a schema’s own message', () => {
    expect(messageOf(z.string().min(1, { error: 'must not be empty' }), '')).toBe('must not be empty');
  });

  // Guards against: unknown kinds and formats worded as "must be a valid starts_with" or "must be record",
  // and a bigint literal that made the message itself throw.
  it('leaves zod’s wording for what it does not know, and never throws while wording', () => {
    expect(messageOf(z.string().startsWith('ab'), 'x')).toContain('"ab"');
    expect(messageOf(z.record(z.string(), z.string()), 5)).toContain('record');
    expect(messageOf(z.string().regex(/^a$/), 'b')).toContain('/^a$/');
    expect(messageOf(z.literal(5n), 3n)).toBe('must be 5');
  });
});
