import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** A UUID, with or without its hyphens (Python's `uuid.hex` writes it without): 32 hex digits either way. */
const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/gi;

/**
 * Characters that break a line or hide text where a log is read: controls (the JSON escaping of the
 * log covers only those below U+0020; NEL U+0085 and the C1 controls pass it), format characters
 * (a right-to-left override U+202E) and the line and paragraph separators U+2028 and U+2029, which
 * `str.splitlines()` and many viewers take for line ends.
 */
const UNSAFE_IN_LOGS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** Text a client sent, as a log line may carry it: each unsafe character percent-escaped again. */
const loggable = (text: string) => text.replace(UNSAFE_IN_LOGS, (c) => encodeURIComponent(c));

/**
 * A request's URL as the log shows it: percent-escapes decoded, as the router reads a path (but for
 * those of characters unsafe in a log), and every UUID in it cut to its first 8 characters (enough to
 * tell reads apart), however the path is spelled.
 */
function loggedUrl(url: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    // A malformed escape somewhere (the request is refused): the ASCII escapes, which can spell an
    // id (`%2D` for `-`), are still decoded one by one.
    decoded = url.replace(/%([0-7][0-9a-f])/gi, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
  return loggable(decoded.replace(UUID, (id) => `${id.slice(0, 8)}…`));
}

/**
 * The logger with request lines that leave out stored-assessment ids: an id is all it takes to read
 * an assessment back, so whoever reads the logs must not find them there. The rest of each request
 * line is what Fastify logs.
 */
export function withoutAssessmentIds(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const options = logger === true ? {} : logger;
  return {
    ...options,
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: loggedUrl(request.url),
        // Both are the client's words under TRUST_PROXY (X-Forwarded-Host and -For).
        host: loggable(request.host),
        remoteAddress: loggable(request.ip),
        remotePort: request.socket?.remotePort,
      }),
      ...('serializers' in options ? options.serializers : {}),
    },
  };
}
