import { describe, expect, test } from "vitest";
import { DELIVERED, HELD, type StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, createNtbPair } from "../src/index.js";

/**
 * Host B triggers host A's "net" queue pair 0, vector 0 (and "perf", which has no handler on A). Returns the pieces the tests look at: the
 * virq and its MSI-X table entry on host A, and the handler runs recorded there.
 */
function setup(factory: StrategyFactory, interruptRemapping: boolean) {
  const pair = createNtbPair({ a: { interruptRemapping }, b: { interruptRemapping } });
  const runs: string[] = [];
  const a = new NtbTransport(pair.a, factory, { vectorsPerQp: 2 });
  const b = new NtbTransport(pair.b, factory, { vectorsPerQp: 2 });
  a.createClient("net", { queuePairs: 1, handler: (qp, v) => runs.push(`net${qp}.${v}`) });
  b.createClient("net", { queuePairs: 1 });
  // "perf" on host A has no handler: its interrupts have no action
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

for (const [name, factory] of [["subdevice", subdevice], ["flat", flat]] as const) {
  for (const ir of [true, false]) {
    describe(`masking and peer triggers (${name}, interrupt remapping ${ir ? "on" : "off"})`, () => {
      test("a peer trigger of a disabled interrupt is held: no handler runs, the table's pending bit stays clear, and enableIrq delivers it once", () => {
        const { system, table, virq, entry, runs, trigger, dispose } = setup(factory, ir);
        system.disableIrq(virq);
        expect(table.isMasked(entry)).toBe(true);
        const held = system.stats.held;
        expect(trigger()).toBe(HELD);
        expect(runs).toEqual([]);
        expect(system.stats.held).toBe(held + 1);
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

      test("a held peer trigger follows a move made while disabled: delivered once, on the new CPU", () => {
        const { system, virq, runs, trigger, dispose } = setup(factory, ir);
        const desc = system.irqDesc(virq)!;
        const from = desc.effectiveCpu;
        const to = (from + 1) % system.cpus;
        system.disableIrq(virq);
        expect(trigger()).toBe(HELD);
        // Without remapping the message is rewritten and re-published to host B; with it only the IRTE changes.
        system.setAffinity(virq, 1 << to);
        expect(desc.effectiveCpu).toBe(to);
        expect(trigger()).toBe(HELD);
        system.enableIrq(virq);
        expect(runs).toEqual(["net0.0"]);
        expect(desc.counts[to]).toBe(1);
        expect(desc.counts[from]).toBe(0);
        expect(trigger()).toBe(DELIVERED);
        expect(desc.counts[to]).toBe(2);
        dispose();
      });

      test("a peer trigger of an interrupt without an action (a client without a handler) is held until one is requested, then delivered once", () => {
        const { system, table, runs, a, b, dispose } = setup(factory, ir);
        const virq = a.client("perf").virq(0, 0);
        const entry = a.client("perf").irqs(0)[0]!.storeIndex;
        expect(system.irqDesc(virq)!.actions).toEqual([]);
        expect(b.client("perf").trigger(0, 0)).toBe(HELD);
        expect(b.client("perf").trigger(0, 0)).toBe(HELD);
        expect(table.isPending(entry)).toBe(false);
        const late: number[] = [];
        system.requestIrq(virq, "perf-late", (v) => late.push(v));
        expect(late).toEqual([virq]);
        expect(b.client("perf").trigger(0, 0)).toBe(DELIVERED);
        expect(late).toEqual([virq, virq]);
        expect(runs).toEqual([]);
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
}
