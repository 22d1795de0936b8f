import { type Cipher, createCipheriv, randomFillSync } from 'node:crypto';

/** Where an assessment is stored: its row number and the random tag the row keeps with it. */
export type AssessmentLocation = { row: number; tag: number };

/** Row numbers and tags have 48 bits each; the 26 bits left of a UUID's 122 are zero before encryption. */
export const MAX_ROW = 2 ** 48 - 1;
export const ID_KEY_BYTES = 16;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ROUNDS = 4;

/**
 * Assessment ids: UUID v4 strings that encode where the assessment is stored, encrypted under the
 * database's own key, so that a read goes straight to its row by number and an insert appends to
 * the table instead of writing a random page of an index of ids.
 *
 * The 122 free bits of a UUID v4 hold the row number (48 bits), a random tag kept in the row
 * (48 bits) and 26 zero bits, encrypted with a four-round Feistel network whose round function is
 * AES-128 under the key. Its halves are the UUID's first 8 bytes and its last 8, less the version
 * and variant bits, which stay fixed. Without the key an id is indistinguishable from a random
 * UUID v4, and ids follow neither each other nor the order of creation. A wrong or made-up id
 * decrypts to non-zero check bits (all but one in 2^26) or to a tag its row does not hold.
 */
export class AssessmentIds {
  private readonly aes: Cipher;
  private readonly block = Buffer.alloc(16);
  private readonly uuid = Buffer.alloc(16);
  private readonly tags = Buffer.alloc(6 * 1024);
  private tagOffset = this.tags.length;

  constructor(key: Buffer) {
    if (key.length !== ID_KEY_BYTES) throw new RangeError(`an id key has ${ID_KEY_BYTES} bytes, not ${key.length}`);
    // ECB on one block at a time: each update() encrypts the 16 bytes it is given, and nothing else.
    this.aes = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  /** A fresh random tag for a new row. */
  newTag(): number {
    if (this.tagOffset === this.tags.length) {
      randomFillSync(this.tags);
      this.tagOffset = 0;
    }
    const tag = this.tags.readUIntBE(this.tagOffset, 6);
    this.tagOffset += 6;
    return tag;
  }

  encode({ row, tag }: AssessmentLocation): string {
    if (!Number.isInteger(row) || row < 1 || row > MAX_ROW) throw new RangeError(`row ${row} is out of range`);
    const u = this.uuid.fill(0);
    u.writeUIntBE(row, 0, 6);
    u.writeUIntBE(tag, 9, 6);
    for (let round = 0; round < ROUNDS; round++) this.mix(round);
    u[6] = (u[6] as number) | 0x40;
    u[8] = (u[8] as number) | 0x80;
    const hex = u.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** The row an id points to, or undefined for an id this key never made (such as a random UUID). */
  decode(id: string): AssessmentLocation | undefined {
    if (!UUID_V4.test(id)) return undefined;
    const u = this.uuid;
    u.write(id.slice(0, 8), 0, 'hex');
    u.write(id.slice(9, 13), 4, 'hex');
    u.write(id.slice(14, 18), 6, 'hex');
    u.write(id.slice(19, 23), 8, 'hex');
    u.write(id.slice(24), 10, 'hex');
    u[6] = (u[6] as number) & 0x0f;
    u[8] = (u[8] as number) & 0x3f;
    for (let round = ROUNDS - 1; round >= 0; round--) this.mix(round);
    if (u[6] !== 0 || u[7] !== 0 || u[8] !== 0 || u[15] !== 0) return undefined;
    const row = u.readUIntBE(0, 6);
    return row === 0 ? undefined : { row, tag: u.readUIntBE(9, 6) };
  }

  /**
   * One Feistel round, its own inverse: even rounds add a function of the first half to the second,
   * odd rounds a function of the second half to the first. Bits outside the halves stay zero.
   */
  private mix(round: number): void {
    const u = this.uuid;
    const block = this.block.fill(0);
    block[0] = round;
    const from = round % 2 === 0 ? 0 : 8;
    u.copy(block, 1, from, from + 8);
    const f = this.aes.update(block);
    if (round % 2 === 0) {
      u[8] = (u[8] as number) ^ ((f[8] as number) & 0x3f);
      for (let i = 9; i < 16; i++) u[i] = (u[i] as number) ^ (f[i] as number);
    } else {
      for (let i = 0; i < 6; i++) u[i] = (u[i] as number) ^ (f[i] as number);
      u[6] = (u[6] as number) ^ ((f[6] as number) & 0x0f);
      u[7] = (u[7] as number) ^ (f[7] as number);
    }
  }
}
