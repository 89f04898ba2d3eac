import type { ConformanceOptions, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { deepEqual, equal, ok } from "./assert.js";

/** Concern 1, storage: a queue's interrupts are found from the queue and from the virq. */
export function storageTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    const n = Math.min(3, ctx.sliceSize);

    add("storage: a queue lists its interrupts in index order, each at its slice's store entry", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const irqs = h.strategy.irqs(q);
        deepEqual(irqs.map((i) => i.index), Array.from({ length: n }, (_, i) => i), `indices of ${q.name}`);
        const base = h.slice(0).base;
        for (const irq of irqs) {
          equal(irq.storeIndex, base + irq.index, `store entry of ${q.name}[${irq.index}] (slice base ${base})`);
          const desc = h.system.irqDesc(irq.virq);
          ok(desc !== undefined, `virq ${irq.virq} of ${q.name}[${irq.index}] exists in the system`);
          equal(desc.msiDesc!.storeIndex, irq.storeIndex, `descriptor store entry of virq ${irq.virq}`);
          equal(desc.msiDesc!.msiIndex, irq.msiIndex, `descriptor msi_index of virq ${irq.virq}`);
          const store = h.strategy.store;
          deepEqual(
            { addressLo: store.addressLo(irq.storeIndex), addressHi: store.addressHi(irq.storeIndex), data: store.data(irq.storeIndex) },
            irq.msg,
            `message in store entry ${irq.storeIndex} versus the one the queue reports`,
          );
        }
        equal(new Set(irqs.map((i) => i.virq)).size, n, `distinct virqs of ${q.name}`);
        equal(h.strategy.queues().includes(q), true, `queues() contains ${q.name}`);
      });
    });

    add("storage: each virq leads back to its queue, and a freed one to none", () => {
      withHarness(ctx, (h) => {
        const a = h.queue(0, { nvec: n });
        const b = h.queue(1, { nvec: n });
        for (const [q, other] of [
          [a, b],
          [b, a],
        ] as const) {
          for (const irq of h.strategy.irqs(q)) {
            equal(h.strategy.queueOfVirq(irq.virq), q, `queueOfVirq(${irq.virq}) (interrupt ${irq.index} of ${q.name})`);
            ok(!h.strategy.irqs(other).some((o) => o.virq === irq.virq), `virq ${irq.virq} of ${q.name} is not listed by ${other.name}`);
          }
        }
        const freed = h.irq(a, 0).virq;
        h.free(a, 0);
        equal(h.strategy.queueOfVirq(freed), undefined, `queueOfVirq(${freed}) after freeing it`);
        equal(h.system.irqDesc(freed), undefined, `irq descriptor of freed virq ${freed}`);
      });
    });

    add("storage: two queues never share a store entry or a virq", () => {
      withHarness(ctx, (h) => {
        const a = h.queue(0, { nvec: n });
        const b = h.queue(1, { nvec: n });
        const all = [...h.strategy.irqs(a), ...h.strategy.irqs(b)];
        equal(new Set(all.map((i) => i.virq)).size, all.length, `distinct virqs over ${all.length} interrupts of two queues`);
        equal(new Set(all.map((i) => i.storeIndex)).size, all.length, `distinct store entries over ${all.length} interrupts of two queues`);
      });
    });

    add("storage: raising a queue's interrupt runs that interrupt's handler and no other", () => {
      withHarness(ctx, (h) => {
        const a = h.queue(0, { nvec: n });
        const b = h.queue(1, { nvec: n });
        for (const q of [a, b]) for (let i = 0; i < n; i++) h.raiseOnce(q, i);
        for (const irq of [...h.strategy.irqs(a), ...h.strategy.irqs(b)]) equal(h.count(irq.virq), 1, `deliveries of virq ${irq.virq}`);
      });
    });
  });
}
