import type { QueueIrq } from "@imsim/core";
import type { ConformanceOptions, Harness, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { deepEqual, equal, throwsCode } from "./assert.js";

/** What must not change for a live interrupt while its queue grows: where it is and where it goes. */
function placement(h: Harness, irq: QueueIrq): unknown {
  const d = h.system.irqDesc(irq.virq);
  return {
    virq: irq.virq,
    index: irq.index,
    storeIndex: irq.storeIndex,
    msg: irq.msg,
    pasid: irq.pasid,
    cpu: d?.effectiveCpu,
    vector: d?.vector,
    irte: d?.irte,
    writes: d?.msiDesc?.writes,
  };
}

/** Concern 3, on-demand expansion: a queue grows 1 → N while its interrupts fire; none lost, none moved. */
export function expansionTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    const N = ctx.sliceSize;

    add(`expansion: growing a queue 1 → ${N} one interrupt at a time while they fire loses none and moves none`, () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 1 });
        const other = h.queue(1, { nvec: 1 });
        for (let size = 1; size < N; size++) {
          const before = h.strategy.irqs(q).map((i) => placement(h, i));
          const otherBefore = h.strategy.irqs(other).map((i) => placement(h, i));
          for (let i = 0; i < size; i++) h.raiseOnce(q, i);
          const added = h.watch([h.strategy.allocIrq(q)])[0]!;
          equal(added.index, size, `index of interrupt added to ${q.name} holding ${size}`);
          const after = h.strategy.irqs(q);
          equal(after.length, size + 1, `interrupts of ${q.name} after adding one to ${size}`);
          deepEqual(after.slice(0, size).map((i) => placement(h, i)), before, `live interrupts of ${q.name} after growing to ${size + 1}`);
          deepEqual(h.strategy.irqs(other).map((i) => placement(h, i)), otherBefore, `interrupts of the other queue ${other.name}`);
          for (let i = 0; i <= size; i++) h.raiseOnce(q, i);
        }
        // index i fires once per round it existed before the growth and once per round after it
        for (const irq of h.strategy.irqs(q)) {
          const i = irq.index;
          const expected = i === 0 ? 2 * (N - 1) : 2 * N - 2 * i - 1;
          equal(h.count(irq.virq), expected, `deliveries of ${q.name}[${i}] over the growth`);
        }
      });
    });

    add("expansion: allocIrqs adds at the lowest free indices and leaves live interrupts untouched", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 0 });
        if (N >= 3) {
          h.watch([h.strategy.allocIrq(q, 1)]);
          const before = h.strategy.irqs(q).map((i) => placement(h, i));
          const added = h.watch(h.strategy.allocIrqs(q, 2));
          deepEqual(added.map((i) => i.index), [0, 2], `indices allocIrqs(2) chose with index 1 taken`);
          deepEqual(h.strategy.irqs(q).filter((i) => i.index === 1).map((i) => placement(h, i)), before, `the live interrupt at index 1`);
        } else {
          const added = h.watch(h.strategy.allocIrqs(q, N));
          deepEqual(added.map((i) => i.index), Array.from({ length: N }, (_, i) => i), `indices of allocIrqs(${N})`);
        }
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });

    add("expansion: an interrupt held while masked survives the growth and is delivered exactly once", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 1 });
        const virq = h.irq(q, 0).virq;
        h.system.disableIrq(virq);
        h.raiseOnce(q, 0, "held");
        if (N > 1) h.watch(h.strategy.allocIrqs(q, N - 1));
        equal(h.count(virq), 0, `deliveries of held virq ${virq} during expansion`);
        h.system.enableIrq(virq);
        equal(h.count(virq), 1, `deliveries of virq ${virq} after unmasking`);
        h.raiseOnce(q, 0);
      });
    });

    add("expansion: growing past the queue's slice fails with ENOSPC and changes nothing", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 1 });
        const before = h.snapshot();
        const live = h.strategy.irqs(q);
        throwsCode(() => h.strategy.allocIrqs(q, N), "ENOSPC", `allocIrqs(${N}) on a queue of ${N} slots holding 1`);
        deepEqual(h.snapshot(), before, "resource snapshot after the refused expansion");
        deepEqual(h.strategy.irqs(q), live, `interrupts of ${q.name} after the refused expansion`);
        h.raiseOnce(q, 0);
      });
    });
  });
}
