import { z } from 'zod';

export const FieldProblem = z
  .object({
    field: z.string().describe('Where the problem is, e.g. `querystring.limit` or `body.answers[2].value`'),
    message: z.string(),
  })
  .meta({ id: 'FieldProblem' });

export const Problem = z
  .object({
    type: z.string().describe('A URI reference naming the kind of problem: `/problems/{code}`, which describes it'),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z
      .string()
      .optional()
      .describe(
        'The request path (with `/.` in front of one starting `//` or `/\\`, so that it does not read as a host); absent when the request could not be read as HTTP or its target is not a path',
      ),
    code: z.string().describe('Machine-readable problem code, e.g. `not-found`, `validation-error`'),
    requestId: z.string().describe('Quote it when reporting a problem: it is in the server log'),
    errors: z.array(FieldProblem).optional(),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem details object (application/problem+json)' });

export type ProblemBody = z.infer<typeof Problem>;
