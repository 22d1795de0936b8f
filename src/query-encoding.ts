import type { onRequestHookHandler } from 'fastify';
import { ApiError, fieldPath } from './errors.js';

/** A parameter's name as a problem names it: decoded where it can be, as sent where it cannot. */
function nameOf(pair: string): string {
  const raw = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

/**
 * Refuses a query string whose percent-encoding is broken (a `%` without two hex digits after it,
 * or escapes that are not UTF-8) with the 400 `bad-url` a broken path gets. The query parser would
 * keep such a value as it was sent, so `?q=%FF` searched for the three characters and found nothing.
 */
export const refuseMalformedQuery: onRequestHookHandler = (request, _reply, done) => {
  const { url } = request.raw;
  const start = url === undefined ? -1 : url.indexOf('?');
  if (url === undefined || start < 0 || !url.includes('%', start)) return done();
  const broken: string[] = [];
  for (const pair of url.slice(start + 1).split('&')) {
    try {
      decodeURIComponent(pair);
    } catch {
      broken.push(nameOf(pair));
    }
  }
  if (broken.length === 0) return done();
  done(
    new ApiError(
      'bad-url',
      'The query string is not valid: check its percent-encoding (a % takes two hex digits, and the bytes they give must be UTF-8).',
      broken.map((name) => ({ field: fieldPath('querystring', [name]), message: 'has broken percent-encoding' })),
    ),
  );
};
