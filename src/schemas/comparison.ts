import { z } from 'zod';
import { CLASSIFICATIONS } from '../domain/comparison.js';
import { MAX_LEVEL, SLUG_BODY } from '../domain/knowledge-base.js';
import { elsewhere } from '../names.js';
import { ContentHash, GIVEN_MORE_THAN_ONCE, Level, Slug } from './common.js';
import { Category, CompetencyRef, categoryFilter } from './knowledge-base.js';

const RoleRef = z.object({ slug: Slug, name: z.string() });

export const ComparedCompetency = z
  .object({
    competency: CompetencyRef,
    levels: z.array(
      z.object({
        role: Slug,
        level: Level,
        baselineLevel: Level,
        rationale: z.string().describe("Why the role expects this level (the variant's rationale where one applies)"),
        editorial: z.boolean(),
      }),
    ),
    spread: z.int().min(0).max(MAX_LEVEL).describe('Highest level minus lowest level'),
    classification: z.enum(CLASSIFICATIONS),
    leader: Slug.nullable().describe('For a distinctive competency, the one role with the highest level (null on a tie)'),
  })
  .meta({ id: 'ComparedCompetency' });

const ComparisonBody = {
  companySize: Slug.nullable().describe('The company size compared at; null for the baseline'),
  similarity: z.number().min(0).max(1).describe('1 - mean spread / 4, rounded to 4 decimals: 1 means identical profiles'),
  pairwise: z.array(z.object({ roles: z.array(Slug).length(2), similarity: z.number().min(0).max(1) })),
  competencies: z.array(ComparedCompetency),
  summary: z.object({
    shared: z.array(Slug),
    distinctive: z
      .array(z.object({ role: Slug, competencies: z.array(Slug) }))
      .describe('Per role, the distinctive competencies it leads or shares the highest level of (a tie names no `leader`)'),
    peripheral: z.array(Slug),
  }),
};

const ComparisonStage = z.object(ComparisonBody).meta({ id: 'ComparisonStage' });

export const Comparison = z
  .object({ roles: z.array(RoleRef), category: Category.nullable(), kbRelease: z.string(), kbContentHash: ContentHash, ...ComparisonBody })
  .meta({ id: 'Comparison' });

export const ComparisonAcrossSizes = z
  .object({
    roles: z.array(RoleRef),
    category: Category.nullable(),
    kbRelease: z.string(),
    kbContentHash: ContentHash,
    trend: z.array(z.object({ companySize: Slug.nullable(), similarity: z.number().min(0).max(1) })),
    comparisons: z.array(ComparisonStage).describe('The baseline first, then every company size, smallest first'),
  })
  .meta({ id: 'ComparisonAcrossSizes' });

const MAX_COMPARED_ROLES = 5;
/** A slug of at most 64 characters (the lookahead counts them). */
const SLUG_PATTERN = `(?=[a-z0-9-]{1,64}(?![a-z0-9-]))${SLUG_BODY}`;
/** 2 to MAX_COMPARED_ROLES slugs, comma-separated, with whitespace around each allowed (it is trimmed off). */
const ROLE_LIST_PATTERN = `^\\s*${SLUG_PATTERN}\\s*(?:,\\s*${SLUG_PATTERN}\\s*){1,${MAX_COMPARED_ROLES - 1}}$`;

/** What a `roles` sent more than once is told: the list goes in one parameter (the errors handler keeps this). */
const ROLES_REPEATED = `${GIVEN_MORE_THAN_ONCE}, the roles separated by commas (roles=tech-lead,engineering-manager)`;

const RoleSet = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'is required: 2 to 5 comma-separated role slugs'
        : Array.isArray(issue.input)
          ? ROLES_REPEATED
          : undefined,
  })
  .max(400)
  .describe('2 to 5 distinct role slugs, comma-separated, e.g. `tech-lead,engineering-manager`')
  // For clients that check a request before sending it: the count of slugs, which the checks below
  // make again with their own messages (that the slugs are distinct, no pattern can say).
  .meta({ pattern: ROLE_LIST_PATTERN, examples: ['tech-lead,engineering-manager'] })
  .transform((value) => value.split(',').map((slug) => slug.trim()))
  .pipe(
    z
      .array(Slug)
      // A space or a plus sign between two slugs comes in as one slug with a space in it.
      .min(2, 'needs at least 2 roles, separated by commas (roles=tech-lead,engineering-manager)')
      .max(MAX_COMPARED_ROLES, `compares at most ${MAX_COMPARED_ROLES} roles`)
      .superRefine((roles, context) => {
        // Each repeat is named by its index, as each unknown role is.
        roles.forEach((slug, index) => {
          const first = roles.indexOf(slug);
          if (first < index)
            context.addIssue({ code: 'custom', path: [index], message: `repeats roles[${first}] (${slug}): roles must be distinct` });
        });
      }),
  );

export const ComparisonQuery = z.strictObject({
  roles: RoleSet,
  companySize: Slug.optional().meta({ description: 'Compare at this company size instead of the baseline', examples: ['startup'] }),
  category: categoryFilter('Compare only the competencies of this category'),
});

export const ComparisonAcrossSizesQuery = z
  .strictObject({
    roles: RoleSet,
    category: categoryFilter('Compare only the competencies of this category'),
  })
  .register(elsewhere, {
    companySize: 'this comparison is at every company size already: for one size, GET /v1/comparisons takes companySize',
  });
