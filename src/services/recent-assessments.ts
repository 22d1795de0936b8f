/** Default budget of RecentAssessments in MiB: about 1,600 assessments of 10 KB. */
export const DEFAULT_RECENT_ASSESSMENTS_MB = 16;

/** Where a kept document lies in the ring: bytes from `start` up to `end`. */
type Slot = { start: number; end: number };

/**
 * The JSON bytes of the assessments this process stored last, in one ring of memory allocated
 * once. A stored assessment never changes, so a script reading back what it has just submitted is
 * answered from memory: no SQLite read, and no text to encode again on the way out.
 *
 * Documents are written one after another around the ring, each over the oldest, so keeping one
 * allocates no memory for its bytes (only its slot and map entry): a Buffer per document would
 * leave the garbage collector about 10 KB of evicted document per stored assessment in the old
 * generation under a write load. The ring's pages become resident as it fills. A read copies its
 * document out (a short-lived allocation), so a response still being written to a slow socket
 * never sees the ring move on. Reads neither add nor reorder: reads spread over older assessments
 * go to the database at the cost of a map lookup, and cannot push out what was just stored.
 */
export class RecentAssessments {
  private readonly ring: Buffer;
  /** Kept documents, oldest first; their slots follow one another around the ring in that order. */
  private readonly slots = new Map<string, Slot>();
  /** Where the next document is written. */
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0)
      throw new RangeError(`capacity must be a whole number of bytes from 0, not ${capacity}`);
    // Zeroed, so that the ring holds nothing but documents and zeroes (a small one would otherwise
    // start with whatever memory it was given); a large one is still given pages only as they fill.
    this.ring = Buffer.alloc(capacity);
  }

  /** A copy of the document kept under `id`. */
  get(id: string): Buffer | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    const copy = Buffer.allocUnsafe(slot.end - slot.start);
    this.ring.copy(copy, 0, slot.start, slot.end);
    return copy;
  }

  /** Keeps a committed assessment's JSON, over the oldest documents where the ring is full. */
  add(id: string, json: string): void {
    this.slots.delete(id);
    if (this.closed) return;
    const length = Buffer.byteLength(json);
    if (length === 0 || length > this.capacity) return;
    const from = this.head;
    const wraps = from + length > this.capacity;
    const start = wraps ? 0 : from;
    const end = start + length;
    // The bytes taken run from the head to the new end, across the ring's end when it wraps; the
    // slots they overlap are always the oldest ones, since slots follow one another in order.
    const taken = (slot: Slot) => (wraps ? slot.end > from || slot.start < end : slot.start < end && slot.end > from);
    for (const [oldest, slot] of this.slots) {
      if (!taken(slot)) break;
      this.slots.delete(oldest);
      // All of it, not only what the new document covers: none of an evicted document outlives its
      // slot, so that one erased after may leave nothing behind.
      this.ring.fill(0, slot.start, slot.end);
    }
    this.ring.write(json, start, length);
    this.slots.set(id, { start, end });
    this.head = end;
  }

  /** Set once closed: nothing is kept from then on. */
  private closed = false;

  /** Forgets every document, their bytes overwritten with zeros, and keeps none from now on. */
  close(): void {
    this.closed = true;
    this.slots.clear();
    this.ring.fill(0);
  }

  /** Forgets an erased assessment, its bytes overwritten with zeros. */
  delete(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    this.ring.fill(0, slot.start, slot.end);
  }

  /** How many documents are kept, and their bytes (walks every slot: for tests and diagnostics). */
  get usage(): { count: number; bytes: number } {
    let bytes = 0;
    for (const slot of this.slots.values()) bytes += slot.end - slot.start;
    return { count: this.slots.size, bytes };
  }
}
