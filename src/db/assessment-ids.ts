import { type Cipher, createCipheriv, createDecipheriv, type Decipher, randomFillSync } from 'node:crypto';

/** Where an assessment is stored: its row number and the random tag the row keeps with it. */
export type AssessmentLocation = { row: number; tag: number };

/** Row numbers and tags have 48 bits each; the other 32 bits of the encrypted block are zero. */
export const MAX_ROW = 2 ** 48 - 1;
export const ID_KEY_BYTES = 16;

/** Lowercase only, as ids are written: like the random UUIDs stored before, an id matches exactly. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Candidate tags tried at once; one in 64 gives a block that reads as a UUID v4. */
const CANDIDATES = 128;

/**
 * Assessment ids: UUID v4 strings that encrypt where the assessment is stored, under the database's
 * own key, so that a read goes straight to its row by number and an insert appends to the table
 * instead of writing a random page of an index of ids.
 *
 * An id is one AES-128 block: the row number (48 bits), a random tag kept in the row (48 bits) and
 * 32 zero bits, encrypted. A UUID v4 fixes 6 of its 128 bits, so a new id draws random tags until
 * the encrypted block has those bits (one tag in 64 does; 128 are tried in one call). Without the key
 * an id is indistinguishable from a random UUID v4, and ids follow neither each other nor the order
 * of creation. A made-up id decrypts to non-zero check bits (all but one in 2^32) or to a tag its
 * row does not hold.
 */
export class AssessmentIds {
  private readonly encrypt: Cipher;
  private readonly decrypt: Decipher;
  private readonly candidates = Buffer.alloc(16 * CANDIDATES);
  private readonly block = Buffer.alloc(16);
  private readonly pool = Buffer.alloc(6 * 1024);
  private poolOffset = this.pool.length;

  constructor(key: Buffer) {
    if (key.length !== ID_KEY_BYTES) throw new RangeError(`an id key has ${ID_KEY_BYTES} bytes, not ${key.length}`);
    // ECB without padding: each update() encrypts or decrypts the whole blocks it is given, no more.
    this.encrypt = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    this.decrypt = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  /** The id of a new row, and the random tag the row must keep. */
  newId(row: number): AssessmentLocation & { id: string } {
    if (!Number.isInteger(row) || row < 1 || row > MAX_ROW) throw new RangeError(`row ${row} is out of range`);
    const plain = this.candidates;
    for (;;) {
      // Candidate tags: one random tag with its last byte varied, so each is as random as the first.
      const base = this.randomTag();
      for (let i = 0, at = 0; i < CANDIDATES; i++, at += 16) {
        writeUint48(plain, at, row);
        writeUint48(plain, at + 6, base);
        plain[at + 11] = (plain[at + 11] as number) ^ i;
        plain[at + 12] = 0;
        plain[at + 13] = 0;
        plain[at + 14] = 0;
        plain[at + 15] = 0;
      }
      const sealed = this.encrypt.update(plain);
      for (let at = 0; at < sealed.length; at += 16) {
        if (((sealed[at + 6] as number) & 0xf0) === 0x40 && ((sealed[at + 8] as number) & 0xc0) === 0x80) {
          return { id: formatUuid(sealed, at), row, tag: readUint48(plain, at + 6) };
        }
      }
    }
  }

  /** 48 random bits, from a pool filled by the operating system's generator. */
  private randomTag(): number {
    if (this.poolOffset === this.pool.length) {
      randomFillSync(this.pool);
      this.poolOffset = 0;
    }
    const tag = readUint48(this.pool, this.poolOffset);
    this.poolOffset += 6;
    return tag;
  }

  /** The row an id points to, or undefined for an id this key never made (such as a random UUID). */
  decode(id: string): AssessmentLocation | undefined {
    if (!UUID_V4.test(id)) return undefined;
    const block = this.block;
    for (let i = 0, c = 0; i < 16; i++, c += 2) {
      if (id.charCodeAt(c) === 0x2d) c++;
      block[i] = (hexValue(id.charCodeAt(c)) << 4) | hexValue(id.charCodeAt(c + 1));
    }
    const plain = this.decrypt.update(block);
    if (plain[12] !== 0 || plain[13] !== 0 || plain[14] !== 0 || plain[15] !== 0) return undefined;
    const row = readUint48(plain, 0);
    return row === 0 ? undefined : { row, tag: readUint48(plain, 6) };
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function formatUuid(bytes: Uint8Array, at: number): string {
  let id = '';
  for (let i = 0; i < 16; i++)
    id += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + (HEX_BYTES[bytes[at + i] as number] as string);
  return id;
}

/** The value of a lowercase hexadecimal digit already checked by UUID_V4. */
const hexValue = (code: number) => (code <= 0x39 ? code - 0x30 : code - 0x57);

function writeUint48(bytes: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / 2 ** 24);
  const low = value % 2 ** 24;
  bytes[at] = high >>> 16;
  bytes[at + 1] = (high >>> 8) & 0xff;
  bytes[at + 2] = high & 0xff;
  bytes[at + 3] = low >>> 16;
  bytes[at + 4] = (low >>> 8) & 0xff;
  bytes[at + 5] = low & 0xff;
}

function readUint48(bytes: Uint8Array, at: number): number {
  const high = ((bytes[at] as number) << 16) | ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
  const low = ((bytes[at + 3] as number) << 16) | ((bytes[at + 4] as number) << 8) | (bytes[at + 5] as number);
  return high * 2 ** 24 + low;
}
