import type { SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const REF = /"#\/components\/schemas\/([^"]+)"/g;
const refsIn = (value: unknown) => [...JSON.stringify(value).matchAll(REF)].map((m) => m[1] as string);

type Document = { paths?: unknown; components?: { schemas?: Record<string, unknown> } };

/**
 * The zod transform emits an input and an output component for every registered schema. Only the
 * ones the paths reach (directly or through other components) are kept in the document.
 */
export const transformObject: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as Document;
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
