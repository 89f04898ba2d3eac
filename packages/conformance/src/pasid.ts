import { DELIVERED, DEVICE_REFUSED } from "@imsim/core";
import type { ConformanceOptions, Harness, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import type { Queue } from "@imsim/core";
import { equal } from "./assert.js";

/**
 * Checks that every interrupt of `q` reports and stores `pasid` (-1 none). The PASID lives in the
 * device's entry only: VT-d interrupt remapping entries have no PASID field.
 */
export function checkQueuePasid(h: Harness, q: Queue, pasid: number): void {
  const store = h.strategy.store;
  for (const irq of h.strategy.irqs(q)) {
    equal(irq.pasid, pasid, `PASID reported for ${q.name}[${irq.index}]`);
    equal(store.pasid(irq.storeIndex), pasid, `PASID in store entry ${irq.storeIndex} of ${q.name}[${irq.index}]`);
  }
}

/** Concern 5, PASID: entries carry the queue's PASID; a stale PASID is refused. */
export function pasidTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, addUnless }) => {
    const noPasid = ctx.supports.pasid ? undefined : "hardware has no PASID support";
    const noStaleCheck = noPasid ?? (ctx.supports.pasidCheck ? undefined : "the device does not check the submitter's PASID (interrupt remapping never does)");
    const n = Math.min(2, ctx.sliceSize);

    addUnless(noPasid, "pasid: entries carry the queue's PASID, and another queue's entries carry its own", () => {
      withHarness(ctx, (h) => {
        const a = h.queue(0, { nvec: n, pasid: 0x1234 });
        const b = h.queue(1, { nvec: n, pasid: 0x42 });
        const c = h.queue(2, { nvec: n });
        equal(h.strategy.pasidOf(a), 0x1234, `pasidOf(${a.name})`);
        equal(h.strategy.pasidOf(c), undefined, `pasidOf(${c.name}) created without a PASID`);
        checkQueuePasid(h, a, 0x1234);
        checkQueuePasid(h, b, 0x42);
        checkQueuePasid(h, c, -1);
        for (const q of [a, b, c]) for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });

    addUnless(noPasid, "pasid: setPasid rewrites every entry of the queue, and later entries get it too", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n, pasid: 7 });
        const other = h.queue(1, { nvec: n, pasid: 9 });
        equal(h.strategy.setPasid(q, 0xfffff), n, `entries rewritten by setPasid(${q.name}, 0xfffff)`);
        checkQueuePasid(h, q, 0xfffff);
        checkQueuePasid(h, other, 9);
        if (n < ctx.sliceSize) {
          h.watch([h.strategy.allocIrq(q)]);
          checkQueuePasid(h, q, 0xfffff);
        }
        equal(h.strategy.setPasid(q, undefined), h.strategy.irqs(q).length, `entries rewritten when clearing the PASID`);
        equal(h.strategy.pasidOf(q), undefined, `pasidOf(${q.name}) after clearing`);
        checkQueuePasid(h, q, -1);
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });

    addUnless(noStaleCheck, "pasid: work submitted under a stale PASID raises nothing: the device refuses it, the IOMMU sees nothing", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n, pasid: 0x100 });
        h.strategy.setPasid(q, 0x200);
        const raiseAs = h.instance.raiseAs!.bind(h.instance);
        for (const irq of h.strategy.irqs(q)) {
          const faults = h.system.faults.total;
          const total = h.total;
          equal(raiseAs(q, irq.index, { pasid: 0x100 }), DEVICE_REFUSED, `raise of ${q.name}[${irq.index}] for work under the stale PASID 0x100`);
          equal(raiseAs(q, irq.index, { pasid: -1 }), DEVICE_REFUSED, `raise of ${q.name}[${irq.index}] for work without a PASID`);
          equal(h.total - total, 0, `handler runs after the refused raises`);
          equal(h.system.faults.total - faults, 0, `IOMMU faults after the refused raises (the check is the device's)`);
          equal(raiseAs(q, irq.index, { pasid: 0x200 }), DELIVERED, `raise of ${q.name}[${irq.index}] for work under the current PASID`);
          equal(h.total - total, 1, `handler runs after the valid raise`);
        }
      });
    });

    addUnless(noStaleCheck, "pasid: an interrupt held across a PASID change is delivered once with the new PASID", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 1, pasid: 0x300 });
        const virq = h.irq(q, 0).virq;
        h.system.disableIrq(virq);
        h.raiseOnce(q, 0, "held");
        h.strategy.setPasid(q, 0x301);
        const faults = h.system.faults.total;
        h.system.enableIrq(virq);
        equal(h.count(virq), 1, `deliveries of virq ${virq} after unmasking`);
        equal(h.system.faults.total - faults, 0, `faults while replaying the held interrupt`);
      });
    });
  });
}
