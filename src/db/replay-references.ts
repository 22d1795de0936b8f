/**
 * Idempotency-Key answers kept in their first form, the body itself with its assessments' documents
 * as text (every key stored before answers referred to their assessments by id), read as the form
 * kept since: the texts around those documents and their ids, so that a replay puts each stored
 * document back between them (and an erased one's place can be told apart).
 */

/** Where the JSON object or array opening at `start` ends (the index after it), or -1. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

const ASSESSMENT_MEMBER = '"assessment":';

/**
 * The texts around the documents of a kept answer and their ids, one more text than ids; undefined
 * when the answer does not read as one of the route's (`assessment`: a stored assessment itself;
 * `batch`: `{ "items": [...] }` with each stored item's document under `assessment`).
 */
export function asReferences(scope: string, response: string): { around: string[]; ids: string[] } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(response);
  } catch {
    return undefined;
  }
  if (scope === 'assessment') {
    const id = (body as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? { around: ['', ''], ids: [id] } : undefined;
  }
  const items = (body as { items?: unknown } | null)?.items;
  if (scope !== 'batch' || !Array.isArray(items)) return undefined;
  const around: string[] = [];
  const ids: string[] = [];
  let from = 0;
  for (const item of items as { status?: unknown; assessment?: { id?: unknown } }[]) {
    if (item?.status !== 201) continue;
    const id = item.assessment?.id;
    if (typeof id !== 'string') return undefined;
    // A document opens with its id; the id is unique in the answer, so this finds this item's.
    const member = response.indexOf(`${ASSESSMENT_MEMBER}{"id":${JSON.stringify(id)}`, from);
    if (member < 0) return undefined;
    const start = member + ASSESSMENT_MEMBER.length;
    const end = valueEnd(response, start);
    if (end < 0) return undefined;
    around.push(response.slice(from, start));
    ids.push(id);
    from = end;
  }
  around.push(response.slice(from));
  return { around, ids };
}
