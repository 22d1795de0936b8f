import { z } from 'zod';
import '../schemas/messages.js';
import { CATEGORIES, KEYINGS, MAX_LEVEL, SLUG } from '../domain/knowledge-base.js';

const slug = z.string().regex(SLUG, 'must be a lowercase kebab-case slug').max(64);
const prose = z.string().trim().min(1).max(2000);
const level = z.number().int().min(0).max(MAX_LEVEL);

const CitationInput = z.strictObject({ source: slug, claim: z.string().trim().min(1).max(400) });

/** An entry must either cite a source or say that it is an editorial judgement. */
const citedOrEditorial = <T extends { editorial: boolean; citations: unknown[] }>(entry: T, ctx: z.RefinementCtx) => {
  if (!entry.editorial && entry.citations.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['citations'], message: 'needs at least one citation, or "editorial": true' });
  }
};

export const ReleaseFile = z.strictObject({ release: z.string().regex(/^\d{4}\.\d{1,2}\.\d+$/, 'must look like 2026.12.0') });

export const SourcesFile = z.array(
  z.strictObject({ id: slug, title: prose, kind: z.enum(['article', 'qa-thread', 'book', 'paper', 'talk']), summary: prose }),
);

export const RolesFile = z
  .array(z.strictObject({ slug, name: z.string().trim().min(1).max(100), summary: prose, typicalDay: prose }))
  .min(1);

export const CompanySizesFile = z
  .array(
    z.strictObject({
      slug,
      name: z.string().trim().min(1).max(100),
      headcountMin: z.number().int().min(1),
      headcountMax: z.number().int().min(1).nullable(),
      description: prose,
    }),
  )
  .min(1);

export const CompetenciesFile = z
  .array(z.strictObject({ slug, name: z.string().trim().min(1).max(100), category: z.enum(CATEGORIES), description: prose }))
  .min(1);

export const ExpectationsFile = z.array(
  z
    .strictObject({
      role: slug,
      competency: slug,
      level,
      rationale: prose,
      editorial: z.boolean().default(false),
      citations: z.array(CitationInput).default([]),
    })
    .superRefine(citedOrEditorial),
);

export const VariantsFile = z.array(
  z
    .strictObject({
      role: slug,
      competency: slug,
      companySize: slug,
      level,
      rationale: prose,
      editorial: z.boolean().default(false),
      citations: z.array(CitationInput).default([]),
    })
    .superRefine(citedOrEditorial),
);

export const QuestionsFile = z.strictObject({
  instrumentVersion: z.string().min(1).max(32),
  questions: z
    .array(
      z.strictObject({
        id: z
          .string()
          .regex(/^q-[a-z0-9-]+$/, 'must start with "q-" and be kebab-case')
          .max(64),
        prompt: z.string().trim().min(10).max(300),
        competency: slug,
        keyed: z.enum(KEYINGS),
      }),
    )
    .min(1),
});
