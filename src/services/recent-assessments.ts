/** Default budget of RecentAssessments in MiB: about 1,600 assessments of 10 KB. */
export const DEFAULT_RECENT_ASSESSMENTS_MB = 16;

/**
 * Once this many documents are held, `view` gives copies. Clients that stop reading can each hold
 * one (until their connection times out): the bound keeps what they hold, and the time a new
 * document takes to find its place past held bytes, small.
 */
export const MAX_HELD_DOCUMENTS = 64;

/**
 * Where a document lies in the ring: bytes from `start` up to `end`; `holds`, the holds on its bytes
 * not yet let go; `kept`, whether it is still one of the documents answered (false once pushed out or
 * erased, when its bytes are zeroed: at once, or when its last hold is let go).
 */
type Slot = { start: number; end: number; holds: number; kept: boolean };

/**
 * The JSON bytes of the assessments this process stored last, in one ring of memory allocated
 * once. A stored assessment never changes, so a script reading back what it has just submitted is
 * answered from memory: no SQLite read, and no text to encode again on the way out.
 *
 * Documents are written one after another around the ring, each over the oldest, so keeping one
 * allocates no memory for its bytes (only its slot and map entry): a Buffer per document would
 * leave the garbage collector about 10 KB of evicted document per stored assessment in the old
 * generation under a write load. The ring's pages become resident as it fills. A read either copies
 * its document out (`get`), or takes a view of its bytes in the ring (`view`), which it holds while a
 * response still being written to a slow socket reads it: held bytes are neither overwritten nor
 * zeroed, even once the document is pushed out or erased, so that such a response never sees the
 * ring move on. Reads neither add nor reorder: reads spread over older assessments go to the
 * database at the cost of a map lookup, and cannot push out what was just stored.
 */
export class RecentAssessments {
  private readonly ring: Buffer;
  /** Kept documents, oldest first; their slots follow one another around the ring in that order. */
  private readonly slots = new Map<string, Slot>();
  /** Slots with bytes held (kept or not): nothing is written over them until let go. */
  private readonly heldSlots = new Set<Slot>();
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

  /**
   * The document kept under `id` as a view of its bytes in the ring, without a copy: valid in this
   * turn of the event loop only (until the ring next changes), unless held. A copy cost a read from
   * memory under load about a sixth of its server time. While MAX_HELD_DOCUMENTS are held, a copy
   * (which needs no hold).
   */
  view(id: string): Buffer | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    return this.heldSlots.size < MAX_HELD_DOCUMENTS ? this.ring.subarray(slot.start, slot.end) : this.get(id);
  }

  /**
   * Keeps the bytes of a view `view` gave in this turn as they are, neither written over nor zeroed
   * (even once its document is pushed out or erased), until the function returned is called. A
   * Buffer that is not a view of the ring needs no hold: the function does nothing then.
   */
  hold(view: Buffer): () => void {
    if (view.buffer !== this.ring.buffer) return () => {};
    const start = view.byteOffset - this.ring.byteOffset;
    let slot: Slot | undefined;
    // A walk over every slot: a hold is rare (a response that the socket could not take at once).
    for (const kept of this.slots.values()) {
      if (kept.start === start && kept.end === start + view.length) {
        slot = kept;
        break;
      }
    }
    if (slot === undefined) throw new Error('only a view of a kept document, in the turn it was given, can be held');
    const held = slot;
    if (held.holds === 0) this.heldSlots.add(held);
    held.holds += 1;
    let holding = true;
    return () => {
      if (!holding) return;
      holding = false;
      held.holds -= 1;
      if (held.holds > 0) return;
      this.heldSlots.delete(held);
      if (!held.kept) this.ring.fill(0, held.start, held.end);
    };
  }

  /**
   * Stops answering a document. All of its bytes are zeroed, not only what a new document covers:
   * none of a document outlives its slot, so that one erased after may leave nothing behind; those
   * still held are zeroed once let go.
   */
  private drop(slot: Slot): void {
    slot.kept = false;
    if (slot.holds === 0) this.ring.fill(0, slot.start, slot.end);
  }

  /** The first held slot with bytes from `start` up to `end`, if any. */
  private heldWithin(start: number, end: number): Slot | undefined {
    for (const slot of this.heldSlots) if (slot.start < end && slot.end > start) return slot;
    return undefined;
  }

  /** Keeps a committed assessment's JSON, over the oldest documents where the ring is full. */
  add(id: string, json: string): void {
    const before = this.slots.get(id);
    if (before !== undefined) {
      this.slots.delete(id);
      this.drop(before);
    }
    if (this.closed) return;
    const length = Buffer.byteLength(json);
    if (length === 0 || length > this.capacity) return;
    // Where it goes: at the head, or at the ring's start when it does not fit before the end, and past
    // any bytes held there. It is not kept if that would take it around the ring a second time.
    const from = this.head;
    let wraps = false;
    let start = from;
    for (;;) {
      if (start + length > this.capacity) {
        if (wraps) return;
        wraps = true;
        start = 0;
      }
      const blocker = this.heldWithin(start, start + length);
      if (blocker === undefined) break;
      start = blocker.end;
    }
    const end = start + length;
    // The bytes taken run from the head to the new end, across the ring's end when it wraps; the
    // slots they overlap are always the oldest ones, since slots follow one another in order.
    const taken = (slot: Slot) => (wraps ? slot.end > from || slot.start < end : slot.start < end && slot.end > from);
    for (const [oldest, slot] of this.slots) {
      if (!taken(slot)) break;
      this.slots.delete(oldest);
      this.drop(slot);
    }
    this.ring.write(json, start, length);
    this.slots.set(id, { start, end, holds: 0, kept: true });
    this.head = end;
  }

  /** Set once closed: nothing is kept from then on. */
  private closed = false;

  /** Forgets every document, their bytes overwritten with zeros (those held once let go), and keeps none from now on. */
  close(): void {
    this.closed = true;
    // Every byte of the ring outside the kept and held slots is zero already.
    for (const slot of this.slots.values()) this.drop(slot);
    this.slots.clear();
  }

  /** Forgets an erased assessment, its bytes overwritten with zeros (once let go, where held). */
  delete(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    this.drop(slot);
  }

  /** How many documents are kept, and their bytes (walks every slot: for tests and diagnostics). */
  get usage(): { count: number; bytes: number } {
    let bytes = 0;
    for (const slot of this.slots.values()) bytes += slot.end - slot.start;
    return { count: this.slots.size, bytes };
  }
}
