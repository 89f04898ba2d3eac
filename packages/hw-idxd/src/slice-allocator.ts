import { ImsimError, checkInt } from "@imsim/core";

/**
 * First-fit allocator of consecutive IMS entries: the driver gives each IMS queue (a guest, a user
 * client) its own slice of the table, so design A's per-queue domains never overlap and design B's
 * per-queue table rows say which entries a queue may use.
 */
export class SliceAllocator {
  readonly size: number;
  readonly #used: Uint8Array;
  readonly #slices = new Map<number, number>();

  constructor(size: number) {
    this.size = size;
    this.#used = new Uint8Array(size);
  }

  /** Entries in use. */
  get inUse(): number {
    let n = 0;
    for (const c of this.#slices.values()) n += c;
    return n;
  }

  /** Returns the base of `count` free consecutive entries; ENOSPC when no run is long enough. */
  alloc(count: number): number {
    checkInt(count, 1, this.size, "IMS slice size");
    let run = 0;
    for (let i = 0; i < this.size; i++) {
      run = this.#used[i] === 0 ? run + 1 : 0;
      if (run === count) {
        const base = i - count + 1;
        this.#used.fill(1, base, base + count);
        this.#slices.set(base, count);
        return base;
      }
    }
    throw new ImsimError("ENOSPC", `no ${count} consecutive free IMS entries (table of ${this.size}, ${this.inUse} in use)`);
  }

  free(base: number): void {
    const count = this.#slices.get(base);
    if (count === undefined) return;
    this.#used.fill(0, base, base + count);
    this.#slices.delete(base);
  }
}
