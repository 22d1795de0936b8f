import { z } from 'zod';
import { searchWords } from '../domain/catalog.js';
import { CATEGORIES, MAX_LEVEL } from '../domain/knowledge-base.js';
import { Level, Pagination, pageOf, queryInt, Slug } from './common.js';

export const Category = z.enum(CATEGORIES).meta({ id: 'Category' });

/**
 * A query's category filter: the values of Category written out in the parameter, since a
 * parameter whose schema is a reference to a component loses its description in the document.
 */
export const categoryFilter = (description: string) =>
  z
    .enum(CATEGORIES)
    .optional()
    .meta({ description, examples: ['people'] });

export const Citation = z
  .object({
    source: Slug.describe('Source id: GET /v1/sources/{source} gives its title and kind'),
    claim: z.string().describe('What the source supports, paraphrased'),
  })
  .meta({ id: 'Citation' });

export const Source = z
  .object({ id: Slug, title: z.string(), kind: z.string().describe('e.g. `article`, `qa-thread`'), summary: z.string() })
  .meta({ id: 'Source' });

export const Role = z.object({ slug: Slug, name: z.string(), summary: z.string(), typicalDay: z.string() }).meta({ id: 'Role' });

export const Competency = z
  .object({ slug: Slug, name: z.string(), category: Category, description: z.string() })
  .meta({ id: 'Competency' });

export const CompetencyRef = z.object({ slug: Slug, name: z.string(), category: Category }).meta({ id: 'CompetencyRef' });

export const CompanySize = z
  .object({
    slug: Slug,
    name: z.string(),
    headcountMin: z.int().min(1),
    headcountMax: z.int().min(1).nullable().describe('null: no upper bound'),
    order: z.int().min(1).describe('1 for the smallest size'),
    description: z.string(),
  })
  .meta({
    id: 'CompanySize',
    description:
      "The project's own framing, editorial: the sources contrast only smaller companies with big tech, so the headcount limits and the descriptions are not theirs",
  });

export const VariantView = z
  .object({
    companySize: Slug,
    level: Level,
    rationale: z.string(),
    editorial: z.boolean(),
    citations: z.array(Citation),
  })
  .meta({ id: 'Variant', description: "A company size's override of the baseline level" });

const ExpectationView = z
  .object({
    competency: CompetencyRef,
    level: Level.describe('The level at the requested company size (the baseline when none is given)'),
    baselineLevel: Level,
    variant: VariantView.nullable(),
    rationale: z.string().describe('Why this level, at this company size'),
    editorial: z.boolean().describe('true when no source backs this level'),
    citations: z.array(Citation),
  })
  .meta({ id: 'Expectation' });

export const RoleDetail = Role.extend({
  companySize: Slug.nullable().describe('The company size applied; null for the baseline'),
  kbRelease: z.string(),
  expectations: z.array(ExpectationView),
}).meta({ id: 'RoleDetail' });

export const CompetencyListItem = Competency.extend({
  level: Level.optional().describe('With the `role` filter: the level that role expects'),
}).meta({ id: 'CompetencyListItem' });

export const CompetencyDetail = Competency.extend({
  kbRelease: z.string(),
  roles: z.array(
    z.object({
      role: Slug,
      name: z.string(),
      baselineLevel: Level,
      rationale: z.string(),
      editorial: z.boolean(),
      citations: z.array(Citation),
      byCompanySize: z.array(
        z.object({
          companySize: Slug,
          level: Level,
          overridden: z
            .boolean()
            .describe(
              'true when a company-size variant replaces the baseline; its rationale and citations are in the role read at that size (`GET /v1/roles/{role}?companySize=`)',
            ),
        }),
      ),
    }),
  ),
}).meta({ id: 'CompetencyDetail' });

export const RoleList = pageOf(Role).meta({ id: 'RoleList' });
export const CompetencyList = pageOf(CompetencyListItem).meta({ id: 'CompetencyList' });
export const CompanySizeList = pageOf(CompanySize).meta({ id: 'CompanySizeList' });
export const SourceList = pageOf(Source).meta({ id: 'SourceList' });

export const RoleParams = z.strictObject({ role: Slug.meta({ description: 'Role slug, e.g. `tech-lead`', examples: ['tech-lead'] }) });
export const CompetencyParams = z.strictObject({
  competency: Slug.meta({ description: 'Competency slug, e.g. `hiring`', examples: ['hiring'] }),
});
export const CompanySizeParams = z.strictObject({
  companySize: Slug.meta({ description: 'Company size slug, e.g. `startup`', examples: ['startup'] }),
});
export const SourceParams = z.strictObject({
  source: Slug.meta({
    description: 'Source id, as citations name it, e.g. `article-three-differences`',
    examples: ['article-three-differences'],
  }),
});
export const CompanySizeQuery = z.strictObject({
  companySize: Slug.optional().meta({
    description: "Apply this company size's variants: `startup`, `scale-up` or `big-tech`",
    examples: ['big-tech'],
  }),
});

export const CompetencyQuery = z
  .strictObject({
    category: categoryFilter('Keep only the competencies of this category'),
    q: z
      .string()
      .refine((value) => /\S/.test(value), { error: 'must not be blank', abort: true })
      // The document's pattern, the portable half of the check below: it refuses ASCII punctuation alone (q=---).
      // No \p{…} class: the docs page reads patterns without the u flag (`[\p{L}\p{N}]` refused q=feedback there).
      // `[` is written \x5B, as some regex dialects read an unescaped one inside a class as a nested class.
      .regex(/[^\s!-/:-@\x5B-`{-~]/, { error: 'must have a letter or a digit', abort: true })
      // Words as the search reads them: a letter it drops (a modifier apostrophe, a lone mark) leaves none.
      .refine((value) => (searchWords(value)?.length ?? 0) > 0, 'must have a letter or a digit')
      .trim()
      .normalize('NFC')
      .max(100)
      .optional()
      .meta({ examples: ['feedback'] })
      .describe(
        'Text search over name and description: a competency is kept when each word of `q` is found in either, as the whole word ' +
          'or a part of it, in any order, whatever the case and accents; anything but letters, digits and an apostrophe inside a word ' +
          '(hyphens, dashes, slashes, punctuation, quotation marks) counts as a space, and a typographic apostrophe as a plain one. It must hold a letter or a digit (a 400 otherwise, as for a blank `q`). ' +
          'At most 100 characters (composed, without the surrounding spaces)',
      ),
    role: Slug.optional().meta({
      description: 'Keep competencies this role expects at `minLevel` or above',
      examples: ['engineering-manager'],
    }),
    minLevel: queryInt(0, MAX_LEVEL, 3).optional().describe('With `role`: the lowest level kept (default 1)'),
    companySize: Slug.optional().meta({ description: 'With `role`: judge levels at this company size', examples: ['big-tech'] }),
    ...Pagination,
  })
  .superRefine((query, ctx) => {
    for (const field of ['minLevel', 'companySize'] as const) {
      if (query[field] !== undefined && query.role === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs the role parameter` });
      }
    }
  });
