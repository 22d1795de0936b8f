import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** A UUID, with or without its hyphens (Python's `uuid.hex` writes it without): 32 hex digits either way. */
const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/gi;

/**
 * A request's URL as the log shows it: percent-escapes decoded, as the router reads a path, and every
 * UUID in it cut to its first 8 characters (enough to tell reads apart), however the path is spelled.
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
  return decoded.replace(UUID, (id) => `${id.slice(0, 8)}…`);
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
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      ...('serializers' in options ? options.serializers : {}),
    },
  };
}
