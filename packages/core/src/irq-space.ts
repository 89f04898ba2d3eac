import { ImsimError, checkInt } from "./errors.js";

/** Linux reserves the 16 legacy ISA interrupts (NR_IRQS_LEGACY, arch/x86/include/asm/irq_vectors.h). */
export const NR_IRQS_LEGACY = 16;

/**
 * Linux irq numbers ("virqs"): handed out lowest-free, as kernel/irq/irqdesc.c does (irq_find_free_area
 * over the allocated-irqs bitmap / maple tree). 0 is never valid; 0-15 stay reserved for legacy.
 */
export class IrqSpace {
  readonly limit: number;
  readonly #used: Uint8Array;
  #count = 0;
  /** No free number lies below this: keeps sequential allocation O(1) without a scan from 16. */
  #hint = NR_IRQS_LEGACY;

  constructor(limit: number) {
    checkInt(limit, NR_IRQS_LEGACY + 1, 1 << 24, "virq space size");
    this.limit = limit;
    this.#used = new Uint8Array(limit);
  }

  get inUse(): number {
    return this.#count;
  }

  isAllocated(virq: number): boolean {
    return virq > 0 && virq < this.limit && this.#used[virq] === 1;
  }

  /** Allocates `count` contiguous numbers, lowest first; returns the first. */
  alloc(count = 1): number {
    let start = this.#hint;
    while (start + count <= this.limit) {
      let run = 0;
      while (run < count && this.#used[start + run] === 0) run++;
      if (run === count) {
        for (let i = 0; i < count; i++) this.#used[start + i] = 1;
        this.#count += count;
        if (start === this.#hint) this.#advanceHint();
        return start;
      }
      start += run + 1;
    }
    throw new ImsimError("ENOSPC", `no ${count} contiguous free virqs below ${this.limit} (${this.#count} in use)`);
  }

  free(virq: number): void {
    if (!this.isAllocated(virq)) throw new ImsimError("ENOENT", `virq ${virq} is not allocated`);
    this.#used[virq] = 0;
    this.#count--;
    if (virq < this.#hint) this.#hint = virq;
  }

  #advanceHint(): void {
    while (this.#hint < this.limit && this.#used[this.#hint] === 1) this.#hint++;
  }
}
