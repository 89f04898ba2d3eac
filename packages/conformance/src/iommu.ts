import { DELIVERED, FAULTED, isRemappable } from "@imsim/core";
import type { ConformanceOptions, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { equal, ok } from "./assert.js";

/** A requester id on another bus than `rid`: what a misbehaving or spoofing device would carry. */
export function foreignRequesterId(rid: number): number {
  return (rid ^ 0x0100) & 0xffff;
}

/** Concern 4, IOMMU: writes carry the right requester id, IR blocks a wrong source id, DMA aliases are honoured. */
export function iommuTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add, addUnless }) => {
    const noIr = ctx.supports.interruptRemapping ? undefined : "no interrupt remapping";
    const n = Math.min(2, ctx.sliceSize);

    add("iommu: the queue's requester id is the one the hardware's writes carry, and such writes are delivered", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const wire = h.instance.wireRequesterId(q);
        equal(h.strategy.requesterId(q), wire, `strategy.requesterId(${q.name}) versus the id on the wire`);
        for (const irq of h.strategy.irqs(q)) {
          const before = h.count(irq.virq);
          const r = h.instance.writeAs(q, irq.index, { requesterId: wire });
          equal(r, DELIVERED, `write of ${q.name}[${irq.index}] carrying requester id 0x${wire.toString(16)}`);
          equal(h.count(irq.virq) - before, 1, `deliveries of virq ${irq.virq}`);
        }
      });
    });

    addUnless(noIr, "iommu: every interrupt has a present IRTE and a remappable message", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const irtes = h.system.irtes;
        ok(irtes !== undefined, "the system has an IRTE table");
        for (const irq of h.strategy.irqs(q)) {
          const d = h.system.irqDesc(irq.virq)!;
          ok(d.irte >= 0 && irtes.present[d.irte] === 1, `virq ${irq.virq} has a present IRTE (irte ${d.irte})`);
          ok(isRemappable(irq.msg.addressLo), `message of virq ${irq.virq} is in remappable format (address 0x${irq.msg.addressLo.toString(16)})`);
        }
      });
    });

    addUnless(noIr, "iommu: a write with a wrong source id is blocked by interrupt remapping and logged", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const wrong = foreignRequesterId(h.instance.wireRequesterId(q));
        for (const irq of h.strategy.irqs(q)) {
          const faults = h.system.faults.count("source-id-mismatch");
          const total = h.total;
          const r = h.instance.writeAs(q, irq.index, { requesterId: wrong });
          equal(r, FAULTED, `write of ${q.name}[${irq.index}] forged with requester id 0x${wrong.toString(16)}`);
          equal(h.total - total, 0, `handler runs after the forged write`);
          equal(h.system.faults.count("source-id-mismatch") - faults, 1, `source-id-mismatch faults logged`);
        }
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });

    addUnless(ctx.supports.dmaAliases ? undefined : "hardware has no DMA aliases", "iommu: DMA aliases are honoured: the writes carry an alias of the PCI function, and interrupt remapping accepts it", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: n });
        const fn = h.strategy.host.pciFunction;
        ok(fn !== undefined, `host ${h.strategy.host.name} has a PCI function above it`);
        const wire = h.instance.wireRequesterId(q);
        const source = h.system.resolveSourceId(fn);
        ok(wire !== fn.requesterId, `the id on the wire 0x${wire.toString(16)} is an alias, not the function's own 0x${fn.requesterId.toString(16)}`);
        equal(source.requesterId, wire, `the alias set_msi_sid() settles on for ${fn.name} is the one on the wire`);
        equal(h.strategy.requesterId(q), wire, `strategy.requesterId(${q.name}) resolves to the id on the wire`);
        // Every quirk alias (devfns on the function's bus) is a requester id its writes may carry.
        for (const alias of [wire, ...fn.dmaAliases]) {
          for (const irq of h.strategy.irqs(q)) {
            const before = h.count(irq.virq);
            equal(h.instance.writeAs(q, irq.index, { requesterId: alias }), DELIVERED, `write of ${q.name}[${irq.index}] carrying alias 0x${alias.toString(16)}`);
            equal(h.count(irq.virq) - before, 1, `deliveries of virq ${irq.virq}`);
          }
        }
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });
  });
}
