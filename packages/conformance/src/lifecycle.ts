import { DELIVERED } from "@imsim/core";
import type { ConformanceOptions, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { deepEqual, equal, ok, show, throwsCode } from "./assert.js";

/** Lifecycle: allocate (at an index, any index, a range), free, destroy, remove; CPU offline; masked raises. */
export function lifecycleTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    const S = ctx.sliceSize;

    add("capabilities: the manifest matches the methods and the system present", () => {
      withHarness(ctx, (h) => {
        const s = h.instance.supports;
        for (const key of ["pasid", "interruptRemapping", "pasidCheck", "dmaAliases", "peerTrigger", "link"] as const) {
          equal(typeof s[key], "boolean", `supports.${key} is a boolean`);
        }
        equal(typeof h.instance.linkDown === "function" && typeof h.instance.linkUp === "function", s.link, "linkDown/linkUp present exactly when supports.link");
        equal(h.system.interruptRemapping, s.interruptRemapping, "system.interruptRemapping versus supports.interruptRemapping");
        equal(h.strategy.store.supportsPasid, s.pasid, "store.supportsPasid versus supports.pasid");
        equal(typeof h.instance.raiseAs === "function", s.pasidCheck, "raiseAs present exactly when supports.pasidCheck");
        const fn = h.strategy.host.pciFunction;
        const aliased = fn !== undefined && h.system.resolveSourceId(fn).requesterId !== fn.requesterId;
        equal(aliased, s.dmaAliases, "writes carrying an alias of the PCI function (its quirk aliases or a bridge above it) versus supports.dmaAliases");
        equal(h.instance.strategy.system, h.system, "the strategy drives the instance's system");
        ok(typeof h.strategy.interfaceVersion === "number", `strategy reports its interface version (got ${show(h.strategy.interfaceVersion)})`);
      });
    });

    add("lifecycle: allocIrq at an index takes exactly that index", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0);
        const at = S - 1;
        const irq = h.watch([h.strategy.allocIrq(q, at)])[0]!;
        equal(irq.index, at, "index of allocIrq(q, last)");
        equal(irq.storeIndex, h.slice(0).base + at, "store entry of the last index");
        deepEqual(h.strategy.irqs(q).map((i) => i.index), [at], `indices of ${q.name}`);
        h.raiseOnce(q, at);
      });
    });

    add("lifecycle: the hardware's raise follows changes made through the strategy (grown, freed, re-allocated at the same index)", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0);
        const last = S - 1;
        const first = h.watch([h.strategy.allocIrq(q, 0)])[0]!;
        for (let n = 0; n < 3; n++) h.raiseOnce(q, 0);
        // Grown through the strategy, not the hardware: the device reaches the new interrupt.
        const grown = h.watch([h.strategy.allocIrq(q, last)])[0]!;
        h.raiseOnce(q, last);
        const grownRuns = h.count(grown.virq);
        equal(h.instance.writeAs(q, last, {}), DELIVERED, `writeAs of ${q.name}[${last}] with nothing forged`);
        equal(h.count(grown.virq), grownRuns + 1, `runs of virq ${grown.virq} after writeAs`);
        // Freed: that index has no interrupt any more, and nothing runs.
        h.free(q, 0);
        const before = h.total;
        throwsCode(() => h.instance.raise(q, 0), "ENOENT", `raise of ${q.name}[0] after freeIrq`);
        throwsCode(() => h.instance.writeAs(q, 0, {}), "ENOENT", `writeAs of ${q.name}[0] after freeIrq`);
        for (const bad of [-1, 1.5, Number.NaN, S]) throwsCode(() => h.instance.raise(q, bad), "ENOENT", `raise of ${q.name}[${bad}]`);
        equal(h.total, before, "handler runs after raising a freed index");
        // Re-allocated at the same index: the new interrupt runs, never the old one.
        const again = h.watch([h.strategy.allocIrq(q, 0)])[0]!;
        h.raiseOnce(q, 0);
        if (again.virq !== first.virq) equal(h.count(first.virq), 3, `runs of the freed virq ${first.virq}`);
      });
    });

    add("lifecycle: allocIrq without an index takes the lowest free one", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0);
        if (S >= 3) h.strategy.allocIrq(q, 1);
        const first = h.strategy.allocIrq(q);
        equal(first.index, 0, "first any-index allocation");
        if (S >= 3) equal(h.strategy.allocIrq(q).index, 2, "any-index allocation with 0 and 1 taken");
        h.watch(h.strategy.irqs(q));
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });

    add("lifecycle: allocIrqRange takes every index of the range, all or none", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0);
        const last = S - 1;
        const first = Math.min(1, last);
        const got = h.watch(h.strategy.allocIrqRange(q, first, last));
        deepEqual(got.map((i) => i.index), Array.from({ length: last - first + 1 }, (_, i) => first + i), `indices of allocIrqRange(${first}, ${last})`);
        if (first > 0) {
          const before = h.snapshot();
          throwsCode(() => h.strategy.allocIrqRange(q, 0, last), "EBUSY", `allocIrqRange(0, ${last}) overlapping allocated indices`);
          deepEqual(h.snapshot(), before, "resource snapshot after the refused range");
          equal(h.strategy.irqs(q).some((i) => i.index === 0), false, "index 0 stays free after the refused range");
        }
        for (const irq of got) h.raiseOnce(q, irq.index);
      });
    });

    add("lifecycle: freeing returns each resource, and freeIrqRange/freeAllIrqs report how many", () => {
      withHarness(ctx, (h) => {
        const empty = h.snapshot();
        const q = h.queue(0);
        const withQueue = h.snapshot();
        const irqs = h.watch(h.strategy.allocIrqs(q, S));
        const gone = irqs[0]!.virq;
        // With its action still requested the interrupt cannot go (free_irq() first), and nothing changes.
        const held = h.snapshot();
        throwsCode(() => h.strategy.freeIrq(q, 0), "EBUSY", `freeIrq(${q.name}, 0) with the suite's action requested`);
        deepEqual(h.snapshot(), held, "resources after the refused freeIrq");
        throwsCode(() => h.strategy.freeAllIrqs(q), "EBUSY", `freeAllIrqs(${q.name}) with actions requested`);
        deepEqual(h.snapshot(), held, "resources after the refused freeAllIrqs");
        h.free(q, 0);
        equal(h.system.irqDesc(gone), undefined, `descriptor of freed virq ${gone}`);
        equal(h.strategy.irqs(q).length, S - 1, "interrupts after freeing one");
        if (S >= 3) {
          h.release(q, 0, 1);
          equal(h.strategy.freeIrqRange(q, 0, 1), 1, "freeIrqRange(0, 1) with index 0 already free");
        }
        const left = h.strategy.irqs(q).length;
        equal(left, S >= 3 ? S - 2 : S - 1, "interrupts left after the frees");
        h.release(q);
        equal(h.strategy.freeAllIrqs(q), left, "freeAllIrqs count");
        deepEqual(h.strategy.irqs(q), [], "interrupts after freeAllIrqs");
        deepEqual(h.snapshot(), withQueue, "resource snapshot after freeing everything the queue allocated");
        h.destroy(q);
        deepEqual(h.snapshot(), empty, "resource snapshot after destroying the queue");
      });
    });

    add("lifecycle: destroying a queue releases its interrupts and its handle", () => {
      withHarness(ctx, (h) => {
        const before = h.snapshot();
        const q = h.queue(0, { nvec: S });
        const keep = h.queue(1, { nvec: 1 });
        const keepIrqs = h.strategy.irqs(keep);
        const virqs = h.strategy.irqs(q).map((i) => i.virq);
        h.destroy(q);
        for (const v of virqs) {
          equal(h.system.irqDesc(v), undefined, `descriptor of virq ${v} after its queue was destroyed`);
          equal(h.strategy.queueOfVirq(v), undefined, `queueOfVirq(${v}) after its queue was destroyed`);
        }
        equal(h.strategy.queues().includes(q), false, "queues() after destroy");
        throwsCode(() => h.strategy.irqs(q), "ENOENT", "irqs() of a destroyed queue");
        deepEqual(h.strategy.irqs(keep), keepIrqs, `interrupts of the other queue ${keep.name}`);
        h.raiseOnce(keep, 0);
        h.destroy(keep);
        deepEqual(h.snapshot(), before, "resource snapshot after destroying both queues");
      });
    });

    add("lifecycle: removing the device releases every queue's interrupts; the strategy then refuses with ENODEV", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: S });
        const b = h.queue(1, { nvec: 1 });
        const virqs = [...h.strategy.irqs(q), ...h.strategy.irqs(b)].map((i) => i.virq);
        h.instance.removeDevice();
        for (const v of virqs) equal(h.system.irqDesc(v), undefined, `descriptor of virq ${v} after device removal`);
        const s = h.system.snapshot();
        for (const key of ["virqs", "irtes", "descriptors", "storeEntries"] as const) {
          ok(s[key] <= h.baseline.system[key], `${key} after device removal (${s[key]}) at most what the bare instance held (${h.baseline.system[key]})`);
        }
        throwsCode(() => h.strategy.allocIrq(q), "ENODEV", "allocIrq after device removal");
        throwsCode(() => h.strategy.createQueue({ name: "late" }), "ENODEV", "createQueue after device removal");
      });
    });

    add("lifecycle: an interrupt pending on a CPU taken offline is delivered once, on an online CPU", () => {
      withHarness(ctx, (h) => {
        if (h.system.cpus < 2) return;
        const q = h.queue(0, { nvec: 1 });
        const virq = h.irq(q, 0).virq;
        const desc = h.system.irqDesc(virq)!;
        const cpu = desc.effectiveCpu;
        h.system.disableIrq(virq);
        h.raiseOnce(q, 0, "held");
        h.raiseOnce(q, 0, "held");
        h.system.setCpuOnline(cpu, false);
        ok(desc.effectiveCpu !== cpu && h.system.isCpuOnline(desc.effectiveCpu), `virq ${virq} moved off offline CPU${cpu} (now CPU${desc.effectiveCpu})`);
        const onOffline = desc.counts[cpu];
        h.system.enableIrq(virq);
        const owed = h.owedAfterDisabled(2);
        equal(h.count(virq), owed, `deliveries of virq ${virq} after enabling (two raises while disabled are handled once)`);
        equal(desc.counts[cpu], onOffline, `deliveries counted on offline CPU${cpu}`);
        h.raiseOnce(q, 0);
        h.system.setCpuOnline(cpu, true);
        h.raiseOnce(q, 0);
        equal(h.count(virq), owed + 2, `deliveries of virq ${virq} in total`);
      });
    });

    add("lifecycle: raises while disabled are held (the flow's pending bit, then the device's) and enabling delivers them once", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: Math.min(2, S) });
        const virq = h.irq(q, 0).virq;
        h.system.disableIrq(virq);
        h.system.disableIrq(virq);
        for (let i = 0; i < 3; i++) h.raiseOnce(q, 0, "held");
        if (S >= 2) h.raiseOnce(q, 1);
        h.system.enableIrq(virq);
        equal(h.count(virq), 0, `deliveries of virq ${virq} while still disabled once`);
        h.system.enableIrq(virq);
        const owed = h.owedAfterDisabled(3);
        equal(h.count(virq), owed, `deliveries of virq ${virq} after the last enable (three raises while disabled)`);
        h.system.disableIrq(virq);
        h.system.enableIrq(virq);
        equal(h.count(virq), owed, `deliveries of virq ${virq} after a second enable with nothing pending`);
        h.raiseOnce(q, 0);
        equal(h.count(virq), owed + 1, `deliveries of virq ${virq} in total`);
      });
    });

    add("lifecycle: setAffinity moves an interrupt to a CPU of the mask, and it still delivers there", () => {
      withHarness(ctx, (h) => {
        const cpus = h.system.cpus;
        const q = h.queue(0, { nvec: 1 });
        const virq = h.irq(q, 0).virq;
        const desc = h.system.irqDesc(virq)!;
        const target = (desc.effectiveCpu + 1) % cpus;
        h.setAffinity(virq, [target]);
        // Without remapping the move waits for the next interrupt (IRQD_SETAFFINITY_PENDING).
        if (!h.system.interruptRemapping) h.instance.raise(q, 0);
        equal(desc.effectiveCpu, target, `effective CPU of virq ${virq} after setAffinity([${target}])`);
        const before = desc.counts[target]!;
        equal(h.instance.raise(q, 0), DELIVERED, `raise after the move`);
        equal(desc.counts[target]! - before, 1, `deliveries counted on CPU${target}`);
        equal(h.count(virq), 1, `deliveries of virq ${virq}`);
      });
    });
  });
}
