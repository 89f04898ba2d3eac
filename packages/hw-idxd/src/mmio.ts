/**
 * Typed MMIO access: what a CPU load or store of 1, 2, 4 or 8 bytes to a BAR does. 8-byte values
 * are bigints (a u64 register does not fit a JS number); narrower ones are numbers.
 *
 * As on real hardware, an access never fails: an access outside the BAR, or not naturally aligned,
 * reads all ones (the PCIe completer's answer to an unsupported request) and a write to it is
 * dropped. Reserved and read-only bits keep their value on a write.
 */
export type MmioWidth = 1 | 2 | 4 | 8;

export interface Mmio {
  /** Size of the region in bytes. */
  readonly size: number;
  read(offset: number, width: 1 | 2 | 4): number;
  read(offset: number, width: 8): bigint;
  read(offset: number, width: MmioWidth): number | bigint;
  write(offset: number, width: 1 | 2 | 4, value: number): void;
  write(offset: number, width: 8, value: bigint): void;
  write(offset: number, width: MmioWidth, value: number | bigint): void;
}

/** The value an unsupported read returns: all ones of its width. */
export function allOnes(width: MmioWidth): number | bigint {
  return width === 8 ? 0xffffffffffffffffn : width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
}

/** Whether (offset, width) is a naturally aligned access inside a region of `size` bytes. */
export function isValidAccess(offset: unknown, width: unknown, size: number): boolean {
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) return false;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) return false;
  return offset % width === 0 && offset + width <= size;
}

/** Reads `width` bytes little-endian from `bytes` at `offset`. */
export function readLE(bytes: Uint8Array, offset: number, width: MmioWidth): number | bigint {
  if (width === 8) {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]!);
    return v;
  }
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + bytes[offset + i]!;
  return v;
}

/** Splits a value of `width` bytes into little-endian bytes (into `out`, from 0). Non-integer input counts as 0. */
export function toBytesLE(value: number | bigint, width: MmioWidth, out: Uint8Array): void {
  if (typeof value === "bigint") {
    let v = BigInt.asUintN(64, value);
    for (let i = 0; i < width; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return;
  }
  let v = typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : 0;
  v = v < 0 ? v >>> 0 : v;
  for (let i = 0; i < width; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
}
