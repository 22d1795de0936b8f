import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** A stored assessment's path with its id cut to its first 8 characters (enough to tell reads apart). */
export const maskAssessmentId = (url: string) => url.replace(/^(\/v1\/assessments\/)(?!batch\b|preview\b)([^/?#]{0,8})[^/?#]*/, '$1$2…');

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
        url: maskAssessmentId(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      ...('serializers' in options ? options.serializers : {}),
    },
  };
}
