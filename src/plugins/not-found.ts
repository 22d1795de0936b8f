import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { problemInstance } from '../errors.js';
import { meantName } from '../names.js';
import { sendProblem } from './errors.js';

/** Route patterns (`/v1/roles/:role`) with their methods, matched against a request's path. */
class RouteMethods {
  private readonly byPattern = new Map<string, Set<string>>();
  private compiled: { path: RegExp; methods: Set<string> }[] | undefined;

  add(pattern: string, method: string | string[]): void {
    // The catch-all that answers CORS preflights takes OPTIONS on every path: it says nothing about one.
    if (pattern === '*') return;
    const methods = this.byPattern.get(pattern) ?? new Set<string>();
    for (const one of Array.isArray(method) ? method : [method]) methods.add(one);
    this.byPattern.set(pattern, methods);
    this.compiled = undefined;
  }

  /** Every method some route takes, in a fixed order: what the server as a whole supports. */
  all(): string[] {
    const methods = new Set<string>();
    for (const own of this.byPattern.values()) for (const method of own) methods.add(method);
    return [...methods].sort();
  }

  /**
   * The path a request that matched no route was likely meant as: the same path with one static
   * segment corrected (`/v1/role/tech-lead` for `/v1/roles/tech-lead`), with the `/v1` it lacks,
   * without its trailing slash, or with its doubled slashes made single (`//v1/roles`, where one
   * static segment may be corrected too), on a route that takes `method`. Undefined when no route,
   * or more than one, is that close. A path that another route of its own shadows for the method is not
   * suggested: `GET /v1/assessments/batch` fits `/v1/assessments/:id`, but is answered 405.
   */
  meantPath(path: string, method: string): string | undefined {
    const segments = path.split('/').slice(1);
    const tries: [string[], number][] = [[segments, 1]];
    if (segments[0] !== 'v1') tries.push([['v1', ...segments], 0]);
    if (segments.length > 1 && segments.at(-1) === '') tries.push([segments.slice(0, -1), 0]);
    // A base URL ending in `/` joined to a path starting with one (`//v1/roles`) doubles a slash.
    if (segments.slice(0, -1).includes('')) tries.push([segments.filter((segment) => segment !== ''), 1]);
    const found = new Set<string>();
    for (const [pattern, methods] of this.byPattern) {
      if (!methods.has(method) || pattern.includes('*')) continue;
      const parts = pattern.split('/').slice(1);
      for (const [tried, fixes] of tries) {
        const meant = correctedSegments(tried, parts, fixes);
        const candidate = meant === undefined ? undefined : `/${meant.join('/')}`;
        if (candidate !== undefined && this.allowedFor(routedPath(candidate)).includes(method)) found.add(candidate);
      }
    }
    return found.size === 1 ? [...found][0] : undefined;
  }

  /** Whether the path is a route of its own, with no parameter (`/v1/assessments/batch`). */
  isRoute(path: string): boolean {
    return !/[:*]/.test(path) && this.byPattern.has(path);
  }

  /**
   * The methods some route takes at this path, in a fixed order. A path that is a route of its own
   * is named by its own methods, not also by those of a parameter route it would match
   * (`/v1/assessments/:id`).
   */
  allowedFor(path: string): string[] {
    const own = this.byPattern.get(path);
    if (own !== undefined) return [...own].sort();
    this.compiled ??= [...this.byPattern].map(([pattern, methods]) => ({ path: patternRegExp(pattern), methods }));
    const allowed = new Set<string>();
    for (const route of this.compiled) if (route.path.test(path)) for (const method of route.methods) allowed.add(method);
    return [...allowed].sort();
  }
}

/**
 * `segments` matched against a pattern's `parts` with at most `fixes` static segments corrected to
 * a name a letter or two away (a parameter takes any non-empty segment): the corrected segments, or
 * undefined when they do not match.
 */
function correctedSegments(segments: readonly string[], parts: readonly string[], fixes: number): string[] | undefined {
  if (segments.length !== parts.length) return undefined;
  let left = fixes;
  const corrected: string[] = [];
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] as string;
    if (part.startsWith(':') ? segment !== '' : segment === part) corrected.push(segment);
    else if (left > 0 && !part.startsWith(':') && meantName(segment, [part]) === part) {
      left--;
      corrected.push(part);
    } else return undefined;
  }
  return corrected;
}

/** A route pattern as a regular expression: a parameter is one non-empty segment, `*` the rest of the path. */
function patternRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(:\w+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** A request's path as the router matches it: without query or fragment, percent-decoded but for `/`, `?` and `#`. */
function routedPath(url: string): string {
  const path = url.split(/[?#]/, 1)[0] as string;
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/**
 * Requests no route answers: a 404 naming the path, or, for a path some route takes with other
 * methods, a 405 whose Allow names them (`DELETE /v1/roles`). An OPTIONS that is not a CORS
 * preflight asks what a path takes: 204 with Allow; `OPTIONS *`, what the server takes on any path.
 */
export default fp(
  async (app) => {
    const routes = new RouteMethods();
    app.addHook('onRoute', (route) => {
      routes.add(route.url, route.method);
      // A plugin's `/` under a prefix is routed at `/docs` and `/docs/`; the hook hears only the first.
      if (route.routePath === '' && route.prefix !== '' && (route.prefixTrailingSlash ?? 'both') === 'both') {
        routes.add(`${route.url}/`, route.method);
      }
    });

    const answer = (request: FastifyRequest, reply: FastifyReply) => {
      // `OPTIONS *` asks about the server rather than a resource (RFC 9110, 9.3.7).
      const allowed = request.url === '*' && request.method === 'OPTIONS' ? routes.all() : routes.allowedFor(routedPath(request.url));
      // A route that takes the method and still finds nothing (a file missing under /docs) is a 404.
      // A HEAD is told what its GET would be, so that its Content-Length is the GET's (RFC 9110, 9.3.2).
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      // The path as sent, so that a corrected path keeps the client's own spelling of its values.
      const didYouMean = () => {
        const meant = routes.meantPath(request.url.split(/[?#]/, 1)[0] as string, method);
        return meant === undefined ? '' : ` Did you mean ${method} ${problemInstance(meant)}?`;
      };
      if (allowed.length === 0 || (request.method !== 'OPTIONS' && allowed.includes(request.method))) {
        return sendProblem(request, reply, {
          status: 404,
          code: 'not-found',
          detail: `No route matches ${method} ${problemInstance(request.url)}.${allowed.length === 0 ? didYouMean() : ''}`,
        });
      }
      const allow = [...allowed, 'OPTIONS'].join(', ');
      if (request.method === 'OPTIONS') return reply.code(204).header('allow', allow).send();
      // A path that a parameter route takes for other methods may still be a route's name misspelt
      // for this one: `POST /v1/assessments/preveiw` fits `GET /v1/assessments/:id`.
      return sendProblem(request, reply.header('allow', allow), {
        status: 405,
        code: 'method-not-allowed',
        detail: `${problemInstance(request.url)} takes ${allow}, not ${method}.${didYouMean()}`,
      });
    };
    app.setNotFoundHandler(answer);
    // The answer never depends on the body, so it is sent before the body is read: a broken body does
    // not turn a 404 or 405 into a 400, and a client waiting for `100 Continue` is not asked to send
    // a body for nothing. A body that is coming anyway is not read either (the protection plugin then
    // ends the connection with the answer).
    app.addHook('preParsing', (request, reply, payload, done) => {
      if (request.is404) answer(request, reply);
      else done(null, payload);
    });

    /**
     * A route with a path parameter hands two requests to the not-found handler instead of its own
     * checks: an empty parameter (`/v1/roles/`, a collection's URL with a trailing slash), a 404 as
     * `/v1/meta/` is, and a path that is a route of its own for other methods
     * (`GET /v1/assessments/batch`, which would reach `/v1/assessments/:id`), a 405 naming them.
     */
    const notThisRoute = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (Object.values(request.params as Record<string, string>).includes('') || routes.isRoute(routedPath(request.url)))
        reply.callNotFound();
      else done();
    };
    app.addHook('onRoute', (route) => {
      if (route.schema?.params === undefined || !route.url.includes('/:')) return;
      const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [notThisRoute, ...hooks];
    });
  },
  { name: 'not-found', dependencies: ['errors'] },
);
