import type { z } from 'zod';
import { Problem } from './problem.js';

const PROBLEM_DESCRIPTIONS = {
  400: 'Malformed request: `errors` lists every field at fault',
  404: 'Unknown route or slug',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Unsupported media type, or a body sent with a content coding (Accept-Encoding then names the one read)',
  422: 'Well-formed but unacceptable: `errors` lists every problem',
  429: 'Too many requests: see Retry-After',
  500: 'Unexpected error: quote the requestId',
  503: 'Overloaded or not ready: see Retry-After',
} as const;

type ProblemStatus = keyof typeof PROBLEM_DESCRIPTIONS;

export const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** problem+json responses for the given statuses; 500 and 503 (load shedding) are always included. */
export function problems(...statuses: ProblemStatus[]) {
  const out: Partial<Record<ProblemStatus, { description: string; content: { 'application/problem+json': { schema: typeof Problem } } }>> =
    {};
  for (const status of [...statuses, 500 as const, 503 as const]) {
    out[status] = { description: PROBLEM_DESCRIPTIONS[status], content: { 'application/problem+json': { schema: Problem } } };
  }
  return out;
}
