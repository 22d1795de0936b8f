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

/** The Access-Control-Allow-Origin for a request's Origin: `*`, the origin itself, or none. */
export function allowedOrigin(origins: CorsOptions['origins'], origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (origins === '*') return '*';
  return origins.includes(origin) ? origin : undefined;
}

/**
 * Cross-origin reads, with every header value computed once. Only requests that carry an Origin
 * (browsers send one on every cross-origin request) get Access-Control-* headers, so every response
 * varies on Origin: a shared cache never hands a response without them to a page that needs them.
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered with 204 here,
 * before any route work; an allowed origin is told the methods, the headers it asked for and how
 * long to remember the answer, any other origin only gets the 204.
 */
export default fp<CorsOptions>(
  async (app, options) => {
    const exposedHeaders = options.exposedHeaders.join(', ');
    const methods = options.methods.join(', ');
    const maxAge = String(options.maxAgeSeconds);

    app.addHook('onRequest', (request, reply, done) => {
      varyOn(reply, 'Origin');
      const origin = allowedOrigin(options.origins, request.headers.origin);
      const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
      if (origin !== undefined) {
        reply.header('access-control-allow-origin', origin);
        if (!preflight) reply.header('access-control-expose-headers', exposedHeaders);
      }
      if (!preflight || request.headers.origin === undefined) return done();
      if (origin !== undefined) {
        reply.header('access-control-allow-methods', methods).header('access-control-max-age', maxAge);
        const requested = request.headers['access-control-request-headers'];
        if (requested !== undefined) reply.header('access-control-allow-headers', requested);
      }
      // The allowed request headers echo the request's own, so the answer varies on them too.
      varyOn(reply, 'Access-Control-Request-Headers').code(204).header('content-length', '0').send();
    });

    // Preflights are answered by the hook; this route gives every path an OPTIONS for the hook to
    // run on, and answers a plain OPTIONS with the methods the API has.
    app.options('*', { schema: { hide: true } }, (_request, reply) => {
      reply.code(204).header('allow', methods).header('content-length', '0').send();
    });
  },
  { name: 'cors' },
);
