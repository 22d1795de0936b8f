import { type core, z } from 'zod';
import { didYouMean, meantName } from '../names.js';

/**
 * One wording for every validation message the API, the configuration and the content loader give,
 * in the project's words ("must be a whole number", "must have at most 200 characters") instead of
 * zod's ("Invalid input: expected int, received number"). A message a schema sets itself wins over
 * these; an issue not listed keeps zod's own. Importing this module sets it, once per process.
 */
const KIND: Readonly<Record<string, string>> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

const FORMAT: Readonly<Record<string, string>> = {
  uuid: 'a UUID',
  email: 'an email address',
  url: 'a URL',
  datetime: 'an ISO 8601 date and time',
  date: 'an ISO 8601 date',
  time: 'an ISO 8601 time',
};

/** A value as a message shows it: strings quoted, anything else as written. */
const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

const UNIT: Readonly<Record<string, string>> = { string: 'character', array: 'item', set: 'item' };

function bound(issue: core.$ZodRawIssue<core.$ZodIssueTooBig | core.$ZodIssueTooSmall>): string | undefined {
  const small = issue.code === 'too_small';
  const limit = small ? (issue as core.$ZodIssueTooSmall).minimum : (issue as core.$ZodIssueTooBig).maximum;
  const unit = UNIT[issue.origin];
  if (unit) {
    // A string or list whose minimum is 1 can fail it only by being empty: say so (a slug or label given
    // as "", an empty list).
    if (small && !issue.exact && Number(limit) === 1) return 'must not be empty';
    const count = `${limit} ${unit}${Number(limit) === 1 ? '' : 's'}`;
    return issue.exact ? `must have exactly ${count}` : `must have ${small ? 'at least' : 'at most'} ${count}`;
  }
  if (issue.origin === 'number' || issue.origin === 'int') {
    if (issue.inclusive === false) return `must be ${small ? 'more' : 'less'} than ${limit}`;
    return `must be ${small ? 'at least' : 'at most'} ${limit}`;
  }
  return undefined;
}

/** The hint for a string likely meant as one of the choices (`People`, `peple`: people), or nothing. */
function choiceHint(input: unknown, values: readonly unknown[]): string {
  if (typeof input !== 'string') return '';
  return didYouMean(
    meantName(
      input,
      values.filter((value): value is string => typeof value === 'string'),
    ),
  );
}

/** What a number beyond a double's range, which JSON.parse reads as ±Infinity, is told. */
const TOO_LARGE_TO_READ = 'is a number too large to read (beyond ±1.8e308)';

/** The kinds zod checks a number against. */
const NUMBER_KINDS: ReadonlySet<string> = new Set(['number', 'int']);

/** What a missing field is told, by the schemas and by the checks written by hand. */
export const REQUIRED = 'is required';

function validationMessage(issue: core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return REQUIRED;
      // JSON reads a number past a double's range (1e999) as ±Infinity, which no field takes: the
      // client wrote a number, so it is told why that number is refused rather than to send one.
      if (NUMBER_KINDS.has(issue.expected) && typeof issue.input === 'number' && !Number.isFinite(issue.input)) return TOO_LARGE_TO_READ;
      // A number sent as text ("5", as a CSV or a shell script often sends it) is told to drop the quotes.
      if (
        NUMBER_KINDS.has(issue.expected) &&
        typeof issue.input === 'string' &&
        issue.input.trim() !== '' &&
        Number.isFinite(Number(issue.input))
      )
        return `must be ${KIND[issue.expected]}, not a string: send it without quotes`;
      return KIND[issue.expected] ? `must be ${KIND[issue.expected]}` : undefined;
    case 'too_small':
    case 'too_big':
      return bound(issue);
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${shown(issue.values[0])}`
        : `must be one of: ${issue.values.map((value) => String(value)).join(', ')}${choiceHint(issue.input, issue.values)}`;
    case 'invalid_format':
      return FORMAT[issue.format] ? `must be ${FORMAT[issue.format]}` : undefined;
    default:
      return undefined;
  }
}

z.config({ customError: validationMessage });
