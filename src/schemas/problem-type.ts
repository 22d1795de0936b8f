import { z } from 'zod';
import { pageOf, Slug } from './common.js';

export const ProblemType = z
  .object({
    type: z.string().describe('The `type` of the problems of this kind: this document'),
    code: z.string().describe('The `code` those problems carry'),
    title: z.string(),
    status: z.int().min(400).max(599).nullable().describe('Their status; null when it varies'),
    description: z.string().describe('When the API answers with it, and what to do about it'),
  })
  .meta({ id: 'ProblemType', description: 'What one kind of problem means' });

export const ProblemTypeList = pageOf(ProblemType).meta({ id: 'ProblemTypeList' });

export const ProblemTypeParams = z.strictObject({
  code: Slug.meta({ description: 'A problem code, e.g. `not-found`', examples: ['not-found'] }),
});
