import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { projectRoot } from '../../src/paths.js';

export const document = JSON.parse(readFileSync(join(projectRoot, 'openapi', 'openapi.json'), 'utf8'));

/** A JSON Schema 2020-12 validator with formats, that knows the document's components. */
export const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'openapi.json', components: document.components });

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };

/** Converts a concrete URL path to the OpenAPI path template it matches, e.g. /v1/roles/x -> /v1/roles/{role}. */
function templateOf(method: string, path: string): string {
  const segments = path.split('/');
  const match = Object.keys(document.paths).find((template) => {
    const parts = template.split('/');
    return (
      parts.length === segments.length &&
      document.paths[template][method] !== undefined &&
      parts.every((part, i) => part.startsWith('{') || part === segments[i])
    );
  });
  if (!match) throw new Error(`No documented operation for ${method.toUpperCase()} ${path}`);
  return match;
}

/**
 * Validates a real response against the schema the committed OpenAPI document declares for its
 * operation, status and content type. Returns the list of problems (empty when it matches).
 */
export function responseProblems(method: string, url: string, status: number, contentType: string | undefined, body: string): string[] {
  const path = url.split('?')[0] as string;
  const op: Operation = document.paths[templateOf(method.toLowerCase(), path)][method.toLowerCase()];
  const response = op.responses[String(status)];
  if (!response) return [`status ${status} is not documented for ${method} ${path}`];
  if (!response.content) return body.length === 0 ? [] : [`status ${status} documents no body, got ${body.length} bytes`];
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
  const media = response.content[mediaType];
  if (!media) return [`content type ${mediaType} is not documented for ${status} of ${method} ${path}`];
  const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', '"openapi.json#/components/'));
  const validate = ajv.compile(schema);
  if (validate(mediaType.endsWith('json') ? JSON.parse(body) : body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Every documented operation as `METHOD /path`. */
export function operations(): { method: string; path: string; operationId: string }[] {
  return Object.entries(document.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, operationId: op.operationId })),
  );
}

type InjectedResponse = { statusCode: number; headers: Record<string, unknown>; body: string };

/** GETs a URL through inject and checks the response against what the committed document promises. */
export async function getDocumented<R extends InjectedResponse>(
  app: { inject: (options: { method: 'GET'; url: string; headers?: Record<string, string> }) => Promise<R> },
  url: string,
  headers: Record<string, string> = {},
): Promise<R> {
  const response = await app.inject({ method: 'GET', url, headers });
  const contentType = response.headers['content-type'] as string | undefined;
  expect(responseProblems('GET', url, response.statusCode, contentType, response.body), `${url} -> ${response.statusCode}`).toEqual([]);
  return response;
}
