// Which MSI domain owns each entry of a message store, so that two domains never write one entry
// (the kernel relies on the driver for this; imsim checks it).
import type { MessageStore } from "./message-store.js";
import { StoreSlice } from "./message-store.js";

/**
 * Which entries of one physical message store are taken, by whom: domains that cover the same store
 * (design A's per-queue slices, or slices that overlap) never hand out one entry twice.
 * Lowest-free search keeps a hint, so filling a store in order costs O(1) per entry.
 */
export class StoreOwnership {
  readonly store: MessageStore;
  readonly #owner: Int32Array;
  #inUse = 0;
  #hint = 0;

  constructor(store: MessageStore) {
    this.store = store;
    this.#owner = new Int32Array(store.size);
  }
  get inUse(): number {
    return this.#inUse;
  }
  ownerOf(index: number): number {
    return this.#owner[index] ?? 0;
  }
  claim(index: number, owner: number): void {
    this.#owner[index] = owner;
    this.#inUse++;
    // Keep the hint past taken entries at the front; a release below it lowers it again.
    while (this.#hint < this.#owner.length && this.#owner[this.#hint] !== 0) this.#hint++;
  }
  release(index: number): void {
    this.#owner[index] = 0;
    this.#inUse--;
    if (index < this.#hint) this.#hint = index;
  }
  /** Lowest free entry in [from, to), or -1. */
  lowestFree(from: number, to: number): number {
    // Below the hint every entry is taken, by construction.
    const start = from > this.#hint ? from : this.#hint;
    for (let i = start; i < to; i++) if (this.#owner[i] === 0) return i;
    return -1;
  }
}

/** The physical store under `store` and the offset of `store`'s entry 0 in it. */
export function rootOf(store: MessageStore): { root: MessageStore; base: number } {
  let base = 0;
  let s = store;
  while (s instanceof StoreSlice) {
    base += s.base;
    s = s.store;
  }
  return { root: s, base };
}
