import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { varyOn } from '../vary.js';

export type CorsOptions = {
  /** Origins whose pages may read responses: any (`*`) or these exactly. */
  origins: '*' | readonly string[];
  /** Methods a preflight allows. */
  methods: readonly string[];
  /** Response headers a page may read besides the CORS-safelisted ones. */
  exposedHeaders: readonly string[];
  /** How long a browser may keep a preflight answer. */
  maxAgeSeconds: number;
};

/**
 * The CORS headers every response shares, values computed once: an allowed Origin gets
 * Access-Control-Allow-Origin, and -Expose-Headers unless the response answers a preflight (which
 * exposes nothing); a request without an Origin or from another origin gets none. Either way the
 * response varies on Origin. Returns the allowed origin, if any.
 */
function corsHeaders(options: Pick<CorsOptions, 'origins' | 'exposedHeaders'>) {
  const exposedHeaders = options.exposedHeaders.join(', ');
  return (request: FastifyRequest, reply: FastifyReply, preflight = false): string | undefined => {
    varyOn(reply, 'Origin');
    const { origin } = request.headers;
    if (origin === undefined) return undefined;
    const allowed = options.origins === '*' ? '*' : options.origins.includes(origin) ? origin : undefined;
    if (allowed === undefined) return undefined;
    reply.header('access-control-allow-origin', allowed);
    if (!preflight) reply.header('access-control-expose-headers', exposedHeaders);
    return allowed;
  };
}

/**
 * The CORS headers of an answer given before the request's headers were read (its Origin unknown):
 * only those that are the same for every origin, so none unless CORS_ORIGINS is `*`.
 */
export function corsHeadersForAnyOrigin(options: Pick<CorsOptions, 'origins' | 'exposedHeaders'>): Record<string, string> {
  if (options.origins !== '*') return {};
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': options.exposedHeaders.join(', ') };
}

/**
 * Answers a preflight (OPTIONS with Origin and Access-Control-Request-Method) with 204: an allowed
 * origin is told the methods, the headers it asked for and how long to remember the answer, any
 * other origin only gets the 204. Any other request only gets its CORS headers. Returns whether the
 * request was a preflight, now answered.
 */
export function corsPreflight(options: CorsOptions) {
  const addCorsHeaders = corsHeaders(options);
  const methods = options.methods.join(', ');
  const maxAge = String(options.maxAgeSeconds);
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const preflight =
      request.method === 'OPTIONS' &&
      request.headers.origin !== undefined &&
      request.headers['access-control-request-method'] !== undefined;
    const allowed = addCorsHeaders(request, reply, preflight);
    if (!preflight) return false;
    if (allowed !== undefined) {
      reply.header('access-control-allow-methods', methods).header('access-control-max-age', maxAge);
      const requested = request.headers['access-control-request-headers'];
      if (requested !== undefined) reply.header('access-control-allow-headers', requested);
    }
    varyOn(varyOn(reply, 'Access-Control-Request-Method'), 'Access-Control-Request-Headers').code(204).send();
    return true;
  };
}

/**
 * Cross-origin reads. Only requests that carry an Origin (browsers send one on every cross-origin
 * request) get Access-Control-* headers, so every response varies on Origin: a shared cache never
 * hands a response without them to a page that needs them. A preflight is answered with 204 here
 * (corsPreflight), before any route work, on any path. Any other OPTIONS goes to the not-found
 * handler, which answers 204 with Allow on a path some route takes, and 404 on any other.
 */
export default fp<CorsOptions>(
  async (app, options) => {
    const answerCors = corsPreflight(options);
    app.addHook('onRequest', (request, reply, done) => {
      if (!answerCors(request, reply)) done();
    });

    // Gives every path an OPTIONS route for the hook above to run on; reached only by an OPTIONS
    // that is not a preflight, which the not-found handler answers before any body is read.
    const notFound = (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
    app.options('*', { schema: { hide: true }, preParsing: notFound }, notFound);
  },
  { name: 'cors' },
);
