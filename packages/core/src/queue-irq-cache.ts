// A per-queue cache of QueueIrq records so that hardware raise paths do not ask the strategy per
// interrupt. No kernel counterpart (a driver keeps its vector table itself, e.g. idxd_irq_entry).
import type { IrqDesc } from "./irqdesc.js";
import type { ImsStrategy, Queue } from "./strategy.js";

/**
 * A queue index → store entry lookup for hardware models and adapters, allocation-free and O(1) on
 * a hit. Per queue it keeps the IrqDesc of each index as `strategy.irqs()` last reported it. A hit is valid only while
 * that very IrqDesc is still the system's descriptor of its virq: freeing an interrupt drops it and
 * an allocation creates a new one, so an entry freed (or freed and re-allocated) since the refill is
 * never served from the cache. A miss (first use, an index allocated since, e.g. through
 * `strategy.allocIrq` directly, or one freed) falls back to `strategy.irqs()` and refills the queue's
 * entries.
 */
export interface QueueIrqCache {
  /**
   * Store entry of queue index `index`, -1 when the queue has no interrupt there. The caller
   * validates the handle first (e.g. `strategy.pasidOf`, which throws what `strategy.irqs` would);
   * a miss calls `strategy.irqs(queue)`, with its errors.
   */
  storeIndexOf(queue: Queue, index: number): number;
}

export function createQueueIrqCache(strategy: ImsStrategy): QueueIrqCache {
  const system = strategy.system;
  const byQueue = new WeakMap<Queue, (IrqDesc | undefined)[]>();
  return {
    storeIndexOf(queue: Queue, index: number): number {
      if (typeof index === "number") {
        const slots = typeof queue === "object" && queue !== null ? byQueue.get(queue) : undefined;
        const desc = slots?.[index];
        if (desc !== undefined && system.irqDesc(desc.virq) === desc) return desc.msiDesc!.storeIndex;
      }
      const irqs = strategy.irqs(queue);
      const slots: (IrqDesc | undefined)[] = [];
      let found = -1;
      for (const irq of irqs) {
        while (slots.length < irq.index) slots.push(undefined);
        slots[irq.index] = system.irqDesc(irq.virq);
        if (irq.index === index) found = irq.storeIndex;
      }
      byQueue.set(queue, slots);
      return found;
    },
  };
}
