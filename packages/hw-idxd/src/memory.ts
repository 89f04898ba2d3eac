import { ImsimError, checkInt } from "@imsim/core";

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/**
 * A simulated memory space: a physical address space, or the address space one PASID maps to (the
 * IOMMU's first-level table for a process or a guest). Sparse: 4 KiB pages are created on first
 * write and read as zeros before. Addresses are byte numbers below `size`; an access that crosses
 * `size` is out of range — the device turns that into a page fault, never an exception.
 *
 * `alloc` is a bump allocator standing in for dma_alloc_coherent / a process's malloc, for drivers
 * and tests that need buffers and completion records.
 */
export class Memory {
  readonly name: string;
  readonly size: number;
  readonly #pages = new Map<number, Uint8Array>();
  #brk: number;

  constructor(size = 1 << 30, name = "memory") {
    checkInt(size, PAGE_SIZE, Number.MAX_SAFE_INTEGER, `size of ${name}`);
    this.size = size;
    this.name = name;
    this.#brk = PAGE_SIZE; // keep address 0 unused: a zero address is a bug in a descriptor
  }

  /** Whether [address, address + length) lies inside the space. */
  inRange(address: number, length: number): boolean {
    return Number.isSafeInteger(address) && address >= 0 && length >= 0 && address + length <= this.size;
  }

  /** Pages materialised so far (for footprint checks). */
  get pages(): number {
    return this.#pages.size;
  }

  #page(n: number, create: boolean): Uint8Array | undefined {
    let p = this.#pages.get(n);
    if (!p && create) {
      p = new Uint8Array(PAGE_SIZE);
      this.#pages.set(n, p);
    }
    return p;
  }

  /** Copies [address, address + length) into `out` at `outOffset`. Caller checks the range. */
  readInto(address: number, out: Uint8Array, outOffset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const a = address + done;
      const off = a & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - off, length - done);
      const p = this.#page(Math.floor(a / PAGE_SIZE), false);
      if (p) out.set(p.subarray(off, off + n), outOffset + done);
      else out.fill(0, outOffset + done, outOffset + done + n);
      done += n;
    }
  }

  /** Writes `length` bytes of `data` from `dataOffset` at `address`. Caller checks the range. */
  writeFrom(address: number, data: Uint8Array, dataOffset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const a = address + done;
      const off = a & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - off, length - done);
      this.#page(Math.floor(a / PAGE_SIZE), true)!.set(data.subarray(dataOffset + done, dataOffset + done + n), off);
      done += n;
    }
  }

  /** A copy of [address, address + length); EINVAL outside the space (a caller bug, not device input). */
  read(address: number, length: number): Uint8Array {
    this.#check(address, length);
    const out = new Uint8Array(length);
    this.readInto(address, out, 0, length);
    return out;
  }

  write(address: number, data: Uint8Array): void {
    this.#check(address, data.length);
    this.writeFrom(address, data, 0, data.length);
  }

  readU8(address: number): number {
    this.#check(address, 1);
    return this.#page(Math.floor(address / PAGE_SIZE), false)?.[address & (PAGE_SIZE - 1)] ?? 0;
  }
  readU32(address: number): number {
    const b = this.read(address, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  readU64(address: number): bigint {
    const b = this.read(address, 8);
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  /** Reserves `length` bytes aligned to `align` and returns the address (zeroed: fresh pages). */
  alloc(length: number, align = 64): number {
    checkInt(length, 1, this.size, `allocation size in ${this.name}`);
    checkInt(align, 1, PAGE_SIZE, `allocation alignment in ${this.name}`);
    const at = Math.ceil(this.#brk / align) * align;
    if (at + length > this.size) throw new ImsimError("ENOSPC", `${this.name} has no room for ${length} bytes (size ${this.size})`);
    this.#brk = at + length;
    return at;
  }

  #check(address: number, length: number): void {
    if (!this.inRange(address, length)) {
      throw new ImsimError("EINVAL", `[0x${address.toString(16)}, +${length}) is outside ${this.name} (size 0x${this.size.toString(16)})`);
    }
  }
}
