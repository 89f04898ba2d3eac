import { ImsimError, checkInt } from "@imsim/core";

/** Called when unmasked doorbell bits are set: Linux's ntb_ctx_ops.db_event (include/linux/ntb.h). */
export type DoorbellEvent = (bits: number) => void;

/**
 * The doorbell register of one NTB port and its mask: the peer sets bits (`ntb_peer_db_set()`), the
 * local side reads (`ntb_db_read()`), clears (`ntb_db_clear()`) and masks them
 * (`ntb_db_set_mask()` / `ntb_db_clear_mask()`); a set, unmasked bit raises the doorbell event.
 * A bit set while masked stays set and raises the event once it is unmasked. At most 31 bits here
 * (real parts: `ntb_db_valid_mask()`).
 *
 * Every listener runs even when one throws: with `onListenerError` each error goes there (what an
 * NtbDevice does, so a peer's ring never fails), without it the first one is rethrown once all
 * listeners have run.
 */
export class Doorbell {
  readonly count: number;
  readonly validMask: number;
  #bits = 0;
  #mask = 0;
  readonly #listeners: DoorbellEvent[] = [];
  /** Where listener errors go; set by the NtbDevice that owns the doorbell. */
  onListenerError: ((error: unknown) => void) | undefined;

  constructor(count: number) {
    this.count = checkInt(count, 1, 31, "doorbell count");
    this.validMask = (2 ** count - 1) >>> 0;
  }

  #checkBits(bits: number, what: string): number {
    checkInt(bits, 0, 0xffffffff, what);
    if ((bits & ~this.validMask) !== 0) {
      throw new ImsimError("EINVAL", `${what} 0x${bits.toString(16)} has bits outside the valid mask 0x${this.validMask.toString(16)}`);
    }
    return bits >>> 0;
  }

  /** Adds a db_event listener; returns a function removing it. */
  onEvent(listener: DoorbellEvent): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** The peer rang `bits`. */
  set(bits: number): void {
    this.#bits = (this.#bits | this.#checkBits(bits, "doorbell bits")) >>> 0;
    this.#fire();
  }
  read(): number {
    return this.#bits;
  }
  clear(bits: number): void {
    this.#bits = (this.#bits & ~this.#checkBits(bits, "doorbell bits")) >>> 0;
  }
  readMask(): number {
    return this.#mask;
  }
  setMask(bits: number): void {
    this.#mask = (this.#mask | this.#checkBits(bits, "doorbell mask")) >>> 0;
  }
  clearMask(bits: number): void {
    this.#mask = (this.#mask & ~this.#checkBits(bits, "doorbell mask")) >>> 0;
    this.#fire();
  }
  /** Drops set bits and mask (port reset). */
  reset(): void {
    this.#bits = 0;
    this.#mask = 0;
  }

  #fire(): void {
    const active = (this.#bits & ~this.#mask) >>> 0;
    if (active === 0) return;
    let failed = false;
    let first: unknown;
    for (const l of [...this.#listeners]) {
      try {
        l(active);
      } catch (e) {
        if (this.onListenerError) this.onListenerError(e);
        else if (!failed) {
          failed = true;
          first = e;
        }
      }
    }
    if (failed) throw first;
  }
}
