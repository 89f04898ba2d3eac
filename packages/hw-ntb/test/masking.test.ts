import { describe, expect, test } from "vitest";
import { DELIVERED, FAULTED, HELD, SPURIOUS, type StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, createNtbPair } from "../src/index.js";
import { code } from "./support/error-code.js";
import { msix } from "./support/msix-design.js";

/**
 * Host B triggers host A's "net" queue pair 0, vector 0 (and "perf", whose interrupts on A are
 * requested without a handler). Returns the pieces the tests look at: the virq and its MSI-X table
 * entry on host A, and the handler runs recorded there.
 */
function setup(factory: StrategyFactory, interruptRemapping: boolean) {
  const pair = createNtbPair({ a: { interruptRemapping }, b: { interruptRemapping } });
  const runs: string[] = [];
  const a = new NtbTransport(pair.a, factory, { vectorsPerQp: 2 });
  const b = new NtbTransport(pair.b, factory, { vectorsPerQp: 2 });
  a.createClient("net", { queuePairs: 1, handler: (qp, v) => runs.push(`net${qp}.${v}`) });
  b.createClient("net", { queuePairs: 1 });
  // "perf" on host A has no handler: its interrupts are requested with an action that does nothing
  a.createClient("perf", { queuePairs: 1 });
  b.createClient("perf", { queuePairs: 1 });
  const net = a.client("net");
  const virq = net.virq(0, 0);
  const entry = net.irqs(0).find((i) => i.index === 0)!.storeIndex;
  const system = pair.a.system;
  const table = pair.a.store;
  const trigger = () => b.client("net").trigger(0, 0);
  const dispose = () => {
    a.dispose();
    b.dispose();
    pair.dispose();
  };
  return { a, b, system, table, virq, entry, runs, trigger, dispose };
}

// The IMS designs need interrupt remapping; without it the function's own PCI MSI-X vectors (what
// Linux's ntb_msi uses; test/support/msix-design.ts) show the same holding rules.
const cases: [string, StrategyFactory, boolean][] = [
  ["subdevice, interrupt remapping on", subdevice, true],
  ["flat, interrupt remapping on", flat, true],
  ["PCI MSI-X, interrupt remapping off", msix, false],
];

for (const [name, factory, ir] of cases) {
  describe(`masking and peer triggers (${name})`, () => {
    test("a peer trigger of a disabled interrupt is held: no handler runs, the table's pending bit stays clear, and enableIrq delivers it once", () => {
      const { system, table, virq, entry, runs, trigger, dispose } = setup(factory, ir);
      system.disableIrq(virq);
      // disable_irq is lazy: the entry stays unmasked until an interrupt arrives while disabled.
      expect(table.isMasked(entry)).toBe(false);
      const held = system.stats.held;
      expect(trigger()).toBe(HELD);
      expect(runs).toEqual([]);
      expect(system.stats.held).toBe(held + 1);
      // handle_edge_irq masks it then (mask_ack_irq), though the peer's write bypassed the table.
      expect(table.isMasked(entry)).toBe(true);
      // The write went to the interrupt address, not through the table: the PBA bit is the function's own.
      expect(table.isPending(entry)).toBe(false);
      system.enableIrq(virq);
      expect(runs).toEqual(["net0.0"]);
      expect(system.irqDesc(virq)!.total).toBe(1);
      expect(table.isMasked(entry)).toBe(false);
      expect(trigger()).toBe(DELIVERED);
      expect(runs).toEqual(["net0.0", "net0.0"]);
      dispose();
    });

    test("peer triggers while disabled coalesce: two raises, one delivery at enableIrq, none at a second enable with nothing held", () => {
      const { system, table, virq, entry, runs, trigger, dispose } = setup(factory, ir);
      system.disableIrq(virq);
      system.disableIrq(virq);
      expect(trigger()).toBe(HELD);
      expect(trigger()).toBe(HELD);
      expect(table.isPending(entry)).toBe(false);
      system.enableIrq(virq);
      expect(runs).toEqual([]); // still disabled once
      system.enableIrq(virq);
      expect(runs).toEqual(["net0.0"]);
      system.disableIrq(virq);
      system.enableIrq(virq);
      expect(runs).toEqual(["net0.0"]);
      expect(system.irqDesc(virq)!.total).toBe(1);
      dispose();
    });

    test("a held peer trigger survives a move made while disabled: delivered once at enableIrq, and the interrupt ends on the new CPU", () => {
      const { system, virq, runs, trigger, dispose } = setup(factory, ir);
      const desc = system.irqDesc(virq)!;
      const from = desc.effectiveCpu;
      const to = (from + 1) % system.cpus;
      system.disableIrq(virq);
      expect(trigger()).toBe(HELD);
      system.setAffinity(virq, 1 << to);
      expect(trigger()).toBe(HELD);
      // With remapping only the IRTE changes, at once. Without it an MSI moves from an interrupt
      // handled while enabled (irq_move_irq in its ack returns early for a disabled one), so the
      // interrupt stays where it was until the held one is replayed.
      expect(desc.effectiveCpu).toBe(ir ? to : from);
      system.tick();
      system.enableIrq(virq);
      expect(runs).toEqual(["net0.0"]);
      expect(desc.counts[ir ? to : from]).toBe(1);
      expect(desc.total).toBe(1);
      // Moved now in both cases; without remapping the new message was re-published to host B
      // (write_msi_msg -> desc_changed), so its next trigger reaches the new CPU.
      expect(desc.effectiveCpu).toBe(to);
      expect(trigger()).toBe(DELIVERED);
      expect(desc.counts[to]).toBe(ir ? 2 : 1);
      expect(desc.total).toBe(2);
      dispose();
    });

    test("a client without a handler still requests its interrupts: the peer's triggers are delivered, to no handler of the client's", () => {
      const { system, runs, a, b, dispose } = setup(factory, ir);
      const virq = a.client("perf").virq(0, 0);
      expect(system.irqDesc(virq)!.actions.map((x) => x.name)).toEqual([a.client("perf").actionName(0, 0)]);
      expect(b.client("perf").trigger(0, 0)).toBe(DELIVERED);
      expect(system.irqDesc(virq)!.total).toBe(1);
      expect(runs).toEqual([]);
      dispose();
    });

    test("freeing the last action behind the client's back shuts the interrupt down: the descriptor is withdrawn, a stale write reaches nothing, publishing again needs a request", () => {
      const { system, table, runs, a, b, virq, entry, trigger, dispose } = setup(factory, ir);
      const net = a.client("net");
      const stale = b.client("net").peerDescriptor(0, 0)!;
      system.freeIrq(virq, net.actionName(0, 0));
      // Deactivation writes an all-zero message; the table's write hook withdraws the descriptor.
      expect([table.addressLo(entry), table.data(entry)]).toEqual([0, 0]);
      expect(a.isPublished(entry)).toBe(false);
      expect(code(trigger)).toBe("ENOENT");
      // A peer that kept the old values: with remapping the IRTE is cleared (not present), without
      // it the vector was given back and no interrupt is there.
      expect(b.ntb.peerMwWrite32(b.msi.widx, stale.addrOffset, stale.data)).toBe(ir ? FAULTED : SPURIOUS);
      expect(system.irqDesc(virq)!.total).toBe(0);
      const late: number[] = [];
      system.requestIrq(virq, "late", (v) => late.push(v));
      a.publish(entry);
      expect(trigger()).toBe(DELIVERED);
      expect(late).toEqual([virq]);
      expect(runs).toEqual([]);
      // The client frees its own actions only (ntbm_msi_free_irq): the test frees its own.
      system.freeIrq(virq, "late");
      dispose();
    });

    test("the table entry's mask bit alone does not hold a peer trigger: the write never passes through the table", () => {
      const { system, table, virq, entry, runs, trigger, dispose } = setup(factory, ir);
      // Vector Control's mask bit set behind the kernel's back: it gates only what the function itself sends.
      table.setMasked(entry, true);
      expect(trigger()).toBe(DELIVERED);
      expect(runs).toEqual(["net0.0"]);
      expect(table.isPending(entry)).toBe(false);
      table.setMasked(entry, false);
      expect(system.irqDesc(virq)!.total).toBe(1);
      dispose();
    });
  });
}
