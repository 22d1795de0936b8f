import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { ExistsNotModified, NotModified } from '../schemas/common.js';
import {
  BEFORE_ROUTING,
  CACHED_READ,
  IF_MATCH,
  IF_MATCH_ANY,
  IF_MATCH_NONE,
  IF_NONE_MATCH,
  IF_NONE_MATCH_ANY,
  IF_NONE_MATCH_UNLESS,
  RATE_LIMITED,
  REQUEST_ID,
  SUBMISSION_PRECONDITION_FAILED,
  VARY,
} from '../schemas/responses.js';

const REF = /"#\/components\/schemas\/([^"]+)"/g;
const refsIn = (value: unknown) => [...JSON.stringify(value).matchAll(REF)].map((m) => m[1] as string);

type Document = { paths?: unknown; components?: { schemas?: Record<string, unknown>; headers?: Record<string, unknown> } };

/** The headers every response (or every write's) carries, declared once as components and referenced. */
const SHARED_HEADERS: Record<string, string> = {
  'x-request-id': 'RequestId',
  vary: 'Vary',
  'x-ratelimit-limit': 'RateLimitLimit',
  'x-ratelimit-remaining': 'RateLimitRemaining',
  'x-ratelimit-reset': 'RateLimitReset',
};

export type Header = { $ref?: string; schema?: { required?: unknown }; required?: boolean };

/**
 * Response headers as OpenAPI has them: @fastify/swagger puts all a route declares of a header in its
 * schema, so the `required` of a header every such response carries is moved up to the header; and
 * the headers every response (or every write's) carries are declared once as components and referenced.
 */
function finishHeaders(document: Document): void {
  const shared: Record<string, unknown> = {};
  for (const headers of responseHeaders(document)) {
    for (const [name, header] of Object.entries(headers)) {
      // @fastify/swagger builds each response's header objects anew, so each is changed in place.
      if (header.schema?.required === true) {
        delete header.schema.required;
        header.required = true;
      }
      const component = SHARED_HEADERS[name];
      if (component === undefined) continue;
      shared[component] = header;
      headers[name] = { $ref: `#/components/headers/${component}` };
    }
  }
  if (Object.keys(shared).length > 0) document.components = { ...document.components, headers: shared };
}

/** The headers object of every response of every operation in an OpenAPI document, to read or change in place. */
export function* responseHeaders(document: { paths?: unknown }): Generator<Record<string, Header>> {
  type Operation = { responses?: Record<string, { headers?: Record<string, Header> }> };
  for (const item of Object.values((document.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values(operation.responses ?? {})) if (response.headers !== undefined) yield response.headers;
    }
  }
}

/**
 * The zod transform emits an input and an output component for every registered schema. Only the
 * ones the paths reach (directly or through other components) are kept in the document.
 */
export const transformObject: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as Document;
  finishHeaders(document);
  const schemas = document.components?.schemas;
  if (!schemas) return document as ReturnType<SwaggerTransformObject>;
  const reached = new Set<string>();
  const queue = refsIn(document.paths);
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (reached.has(name)) continue;
    reached.add(name);
    queue.push(...refsIn(schemas[name]));
  }
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
  return document as ReturnType<SwaggerTransformObject>;
};

type Responses = Record<string, { headers?: unknown } | undefined>;
type ObjectSchema = { type: 'object'; properties: Record<string, unknown> };

/**
 * The zod transform of a route's schema, with the response headers a route declares (Location,
 * Retry-After...) kept: the zod transform rebuilds each response from its description and content
 * alone, and those every response of the route carries (X-Request-Id and Vary; X-RateLimit-* on
 * writes). A route that answers 304 (NotModified) is a cached knowledge-base read: it takes
 * If-None-Match and If-Match, its 200 carries ETag, Cache-Control and Content-Encoding, and its 304
 * the headers its 200 would but Content-Encoding.
 */
export const transform: SwaggerTransform = (input) => {
  const output = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]);
  const declared = (input.schema as { response?: Responses } | undefined)?.response ?? {};
  const schema = output.schema as { response?: Record<string, Record<string, unknown>>; headers?: ObjectSchema };
  const built = schema.response ?? {};
  for (const [status, response] of Object.entries(declared)) {
    const target = built[status];
    if (response?.headers !== undefined && target !== undefined) target.headers = response.headers;
  }
  // Every response carries its request id; every routed one Vary, and on a write the rate limit's count.
  const routed = { ...VARY, ...(input.route.config?.writeLimit === true ? RATE_LIMITED : {}) };
  for (const [status, target] of Object.entries(built)) {
    const hooked = BEFORE_ROUTING.includes(Number(status)) ? {} : routed;
    target.headers = { ...REQUEST_ID, ...hooked, ...(target.headers as object | undefined) };
  }
  const notModifiedFor =
    declared['304'] === NotModified ? IF_NONE_MATCH : declared['304'] === ExistsNotModified ? IF_NONE_MATCH_ANY : undefined;
  if (notModifiedFor !== undefined) {
    const ok = built['200'];
    if (ok !== undefined && notModifiedFor === IF_NONE_MATCH) ok.headers = { ...(ok.headers as object | undefined), ...CACHED_READ };
    // A 304 carries the headers its 200 would (a CSV export's Content-Disposition among them), but
    // Content-Encoding: it has no body.
    const notModified = built['304'];
    if (notModified !== undefined && ok !== undefined) {
      const { 'content-encoding': _, ...headers } = ok.headers as Record<string, unknown>;
      notModified.headers = { ...(notModified.headers as object), ...headers };
    }
    const headers = schema.headers ?? { type: 'object', properties: {} };
    const ifMatch = notModifiedFor === IF_NONE_MATCH ? IF_MATCH : IF_MATCH_ANY;
    schema.headers = { ...headers, properties: { ...headers.properties, 'if-none-match': notModifiedFor, 'if-match': ifMatch } };
  }
  // A submission is refused 412 for any If-Match: the header is declared, and its 412 says why.
  const submission = built['412'];
  if (input.route.method === 'POST' && submission !== undefined) {
    submission.description = SUBMISSION_PRECONDITION_FAILED;
    const headers = schema.headers ?? { type: 'object', properties: {} };
    schema.headers = { ...headers, properties: { ...headers.properties, 'if-match': IF_MATCH_NONE } };
  }
  // An erasure takes If-Match as a read without entity tags does (only `*`, and only while the resource
  // exists), and If-None-Match: * as its opposite.
  if (input.route.method === 'DELETE') {
    const headers = schema.headers ?? { type: 'object', properties: {} };
    schema.headers = { ...headers, properties: { ...headers.properties, 'if-match': IF_MATCH_ANY, 'if-none-match': IF_NONE_MATCH_UNLESS } };
  }
  return output as ReturnType<SwaggerTransform>;
};
