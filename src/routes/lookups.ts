import type { KnowledgeBase } from '../domain/knowledge-base.js';
import { NotFoundError } from '../errors.js';

/** Slug checks shared by the routes: an unknown slug is a 404 that names the parameter. */
export function requireRole(kb: KnowledgeBase, slug: string, field: string): string {
  if (!kb.roleBySlug.has(slug)) throw new NotFoundError('role', slug, field);
  return slug;
}

export function requireCompetency(kb: KnowledgeBase, slug: string, field: string): string {
  if (!kb.competencyBySlug.has(slug)) throw new NotFoundError('competency', slug, field);
  return slug;
}

export function requireCompanySize(kb: KnowledgeBase, slug: string | undefined, field: string): string | null {
  if (slug === undefined) return null;
  if (!kb.companySizeBySlug.has(slug)) throw new NotFoundError('company size', slug, field);
  return slug;
}
