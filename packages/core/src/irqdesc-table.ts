// The sparse irq descriptor table of kernel/irq/irqdesc.c (irq_to_desc, alloc_descs, free_desc).
import { ImsimError } from "./errors.js";
import type { Cpumask } from "./cpumask.js";
import { IrqDesc, IrqSpace } from "./irqdesc.js";

/** Every allocated interrupt's descriptor, by virq, and the number space they come from. */
export class IrqDescTable {
  readonly space: IrqSpace;
  readonly #descs: (IrqDesc | undefined)[] = [];

  constructor(space: IrqSpace) {
    this.space = space;
  }

  /** irq_to_desc (hot path: no checks beyond the array). */
  get(virq: number): IrqDesc | undefined {
    return this.#descs[virq];
  }

  /** alloc_descs: `affinities.length` consecutive dynamic virqs, each with its affinity. */
  alloc(affinities: readonly Cpumask[], node: number): IrqDesc[] {
    const first = this.space.alloc(affinities.length);
    return affinities.map((a, i) => {
      const desc = new IrqDesc(first + i, a, node);
      this.#descs[first + i] = desc;
      return desc;
    });
  }

  /** A fixed virq (legacy ISA interrupts, set up at boot). */
  claim(virq: number, affinity: Cpumask, node: number): IrqDesc {
    this.space.claim(virq);
    const desc = new IrqDesc(virq, affinity, node);
    this.#descs[virq] = desc;
    return desc;
  }

  /** free_desc. */
  free(desc: IrqDesc): void {
    if (this.#descs[desc.virq] !== desc) throw new ImsimError("ENOENT", `virq ${desc.virq} is not allocated`);
    this.#descs[desc.virq] = undefined;
    this.space.free(desc.virq);
  }

  /** Every allocated descriptor, ascending. */
  *all(): IterableIterator<IrqDesc> {
    for (const d of this.#descs) if (d) yield d;
  }

  get count(): number {
    return this.space.inUse;
  }
}
