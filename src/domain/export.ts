import { type KnowledgeBase, LEVEL_NAMES, levelScale } from './knowledge-base.js';

/** Exports of a whole release, for tools that keep their own copy or work in spreadsheets. */

/** Every entity of the release in one document: what the read routes serve, without paging. */
export function knowledgeBaseExport(kb: KnowledgeBase) {
  const { release, sources, roles, competencies, companySizes, expectations, questions } = kb.data;
  return {
    kbRelease: release.id,
    kbContentHash: release.contentHash,
    instrumentVersion: release.instrumentVersion,
    levelScale: levelScale(),
    sources,
    roles,
    competencies,
    companySizes,
    expectations,
    questions,
  };
}

export const LEVEL_COLUMNS = [
  'role',
  'role_name',
  'competency',
  'competency_name',
  'category',
  'company_size',
  'level',
  'level_name',
  'baseline_level',
  'variant',
  'editorial',
  'sources',
  'rationale',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. Text that a
 * spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return) is
 * kept as text by a leading apostrophe.
 */
export function csvCell(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The level of every role for every competency, at the baseline (an empty company_size) and at
 * each company size, one row each, in the order the read routes use: a ladder as a spreadsheet
 * reads it. `sources` lists the ids cited for the row's level, separated by spaces.
 */
export function levelsCsv(kb: KnowledgeBase): string {
  const sizes = [null, ...kb.data.companySizes.map((s) => s.slug)];
  const lines = [LEVEL_COLUMNS.join(',')];
  for (const role of kb.data.roles) {
    for (const competency of kb.data.competencies) {
      for (const size of sizes) {
        const resolved = kb.resolve(role.slug, competency.slug, size);
        const cited = [...new Set(resolved.citations.map((c) => c.source))].join(' ');
        const row = [
          role.slug,
          role.name,
          competency.slug,
          competency.name,
          competency.category,
          size ?? '',
          resolved.level,
          LEVEL_NAMES[resolved.level] ?? '',
          resolved.baselineLevel,
          resolved.variant !== null,
          resolved.editorial,
          cited,
          resolved.rationale,
        ];
        lines.push(row.map(csvCell).join(','));
      }
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
