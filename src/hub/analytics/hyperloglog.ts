/**
 * Unique viewers and chatters (issue 16) as a HyperLogLog sketch (Flajolet et al. 2007) with an exact sparse
 * start (as HLL++, Heule et al. 2013): up to SPARSE_MAX distinct keys are kept as themselves (8 bytes each), so
 * a small channel's counts are exact; past that, 4096 one-byte registers (4 KiB whatever the number, a standard
 * error of about 1.6 %). Sketches merge into the union (a viewer on two edges or in two lives counts once).
 *
 * Keys are 16 hex digits of a keyed hash (the edges' viewer keys; chatter names are hashed here first), so
 * their bits are already uniform: the register index is the first 12 bits, the rank the leading zeros of the
 * next 52, plus one. Stored form: one byte (0 sparse, 1 dense), then the keys (8 bytes each) or the registers.
 */
import { createHash } from 'node:crypto';

export const HLL_P = 12;
export const HLL_REGISTERS = 1 << HLL_P;
/** Keys kept exactly before the sketch turns dense (8 KiB at most, then 4 KiB). */
export const SPARSE_MAX = 1024;
const RANK_BITS = BigInt(64 - HLL_P);
const RANK_MASK = (1n << RANK_BITS) - 1n;
const KEY = /^[0-9a-f]{16}$/;
const SPARSE = 0;
const DENSE = 1;

export class HyperLogLog {
  private sparse: Set<bigint> | null = new Set();
  private registers: Uint8Array | null = null;

  /** A sketch from its stored form (RangeError for bytes that are not one). */
  static from(bytes: Uint8Array): HyperLogLog {
    const h = new HyperLogLog();
    if (bytes[0] === DENSE && bytes.length === 1 + HLL_REGISTERS) {
      h.sparse = null;
      h.registers = Uint8Array.from(bytes.subarray(1));
    } else if (bytes[0] === SPARSE && (bytes.length - 1) % 8 === 0) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + 1, bytes.length - 1);
      for (let i = 0; i < view.byteLength; i += 8) h.addValue(view.getBigUint64(i));
    } else throw new RangeError(`HyperLogLog: ${bytes.length} bytes are not a sketch`);
    return h;
  }

  /** Adds a key: 16 hex digits, or anything else (hashed first). */
  add(key: string): void {
    const hex = KEY.test(key) ? key : createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.addValue(BigInt(`0x${hex}`));
  }

  private addValue(v: bigint): void {
    if (this.sparse) {
      this.sparse.add(v);
      if (this.sparse.size > SPARSE_MAX) this.densify();
      return;
    }
    const registers = this.registers!;
    const index = Number(v >> RANK_BITS);
    const rest = v & RANK_MASK;
    const rank = rest === 0n ? Number(RANK_BITS) + 1 : Number(RANK_BITS) - rest.toString(2).length + 1;
    if (rank > registers[index]!) registers[index] = rank;
  }

  private densify(): void {
    const keys = this.sparse!;
    this.sparse = null;
    this.registers = new Uint8Array(HLL_REGISTERS);
    for (const v of keys) this.addValue(v);
  }

  /** This sketch becomes the union of both. */
  merge(other: HyperLogLog): void {
    if (other.sparse) {
      for (const v of other.sparse) this.addValue(v);
      return;
    }
    if (this.sparse) this.densify();
    const into = this.registers!;
    const from = other.registers!;
    for (let i = 0; i < into.length; i++) if (from[i]! > into[i]!) into[i] = from[i]!;
  }

  get empty(): boolean {
    return this.sparse !== null && this.sparse.size === 0;
  }

  estimate(): number {
    if (this.sparse) return this.sparse.size;
    const m = HLL_REGISTERS;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers!) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    // Small range: linear counting, far more precise while registers are still empty.
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }

  /** The stored form: at most 8 KiB + 1 (sparse), else 4 KiB + 1. */
  toBytes(): Buffer {
    if (this.registers) return Buffer.concat([Buffer.from([DENSE]), this.registers]);
    const out = Buffer.alloc(1 + 8 * this.sparse!.size);
    out[0] = SPARSE;
    let at = 1;
    for (const v of this.sparse!) {
      out.writeBigUInt64BE(v, at);
      at += 8;
    }
    return out;
  }
}
