import { describe, expect, test } from "vitest";
import { DELIVERED, createSystem, type HardwareAdapter, type IrqSystem, type StrategyFactory } from "@imsim/core";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createNtbAdapter, ntbAdapter, ntbHardware } from "../src/index.js";
import { code } from "./support/error-code.js";

/** `factory`, recording each system it is handed (host A's, then host B's). */
function recording(factory: StrategyFactory, seen: IrqSystem[]): StrategyFactory {
  return (system, host, store, options) => {
    seen.push(system);
    return factory(system, host, store, options);
  };
}

// The adapter's names and options; its behaviour under a strategy is the conformance suite's.
describe("NTB adapter", () => {
  test("ntbHardware is ntbAdapter, and both are core's HardwareAdapter", () => {
    const typed: HardwareAdapter = ntbHardware;
    expect(typed).toBe(ntbAdapter);
    expect(ntbAdapter.name).toBe("ntb");
  });

  test("createNtbAdapter() builds the same default instance as ntbAdapter: 64 entries, IR on", () => {
    const h = createNtbAdapter().create(flat);
    try {
      expect(h.strategy.store.size).toBe(64);
      expect(h.system.interruptRemapping).toBe(true);
      expect(h.supports).toEqual({ pasid: false, pasidCheck: false, interruptRemapping: true, dmaAliases: true, peerTrigger: true, link: true });
    } finally {
      h.teardown();
    }
  });

  test("interruptRemapping: false and virtualIommu: true name the adapter and reach both hosts; create() options override the adapter's", () => {
    expect(createNtbAdapter({ interruptRemapping: false }).name).toBe("ntb (no IR)");
    expect(createNtbAdapter({ virtualIommu: true }).name).toBe("ntb (vIOMMU)");
    const seen: IrqSystem[] = [];
    const adapter = createNtbAdapter({ interruptRemapping: false });
    // The subdevice design creates its IMS domains per queue, so the instance itself exists without IR.
    const h = adapter.create(recording(subdevice, seen), { cpus: 2 });
    try {
      expect(seen.map((s) => [s.interruptRemapping, s.cpus])).toEqual([
        [false, 2],
        [false, 2],
      ]);
      expect(h.supports.interruptRemapping).toBe(false);
    } finally {
      h.teardown();
    }
    const on = adapter.create(flat, { interruptRemapping: true });
    try {
      expect(on.system.interruptRemapping).toBe(true);
    } finally {
      on.teardown();
    }
  });

  test("teardown frees what the suite left requested and returns both hosts to their boot snapshot", () => {
    const seen: IrqSystem[] = [];
    const h = ntbAdapter.create(recording(flat, seen));
    const size = h.strategy.store.size;
    const kept = h.createQueue({ name: "kept", slice: { base: size - 8, count: 4 }, nvec: 2 });
    const gone = h.createQueue({ name: "gone", slice: { base: size - 4, count: 4 }, nvec: 2 });
    for (const q of [kept, gone]) for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "suite", () => {});
    expect(h.raise(kept, 1)).toBe(DELIVERED);
    expect(h.raise(gone, 0)).toBe(DELIVERED);
    // destroyQueue releases the queue's actions first (free_irq before the interrupts go).
    h.destroyQueue(gone);
    expect(h.strategy.queues()).toEqual([kept]);
    expect(h.system.snapshot().actions).toBe(h.system.bootSnapshot.actions + 2);
    h.teardown();
    expect(seen.map((s) => s.snapshot())).toEqual(seen.map((s) => s.bootSnapshot));
  });

  test("destroyQueue from the handler of one of the queue's interrupts is EBUSY before any action is freed", () => {
    const h = ntbAdapter.create(flat);
    try {
      const size = h.strategy.store.size;
      const q = h.createQueue({ name: "self", slice: { base: size - 4, count: 4 }, nvec: 2 });
      const [first, second] = h.strategy.irqs(q);
      let inside = "none";
      h.system.requestIrq(first!.virq, "other", () => {});
      h.system.requestIrq(second!.virq, "self", () => {
        inside = code(() => h.destroyQueue(q));
      });
      const before = h.system.snapshot();
      expect(h.raise(q, 1)).toBe(DELIVERED);
      expect(inside).toBe("EBUSY");
      // The other interrupt's action was not freed either: all or nothing.
      expect(h.system.snapshot()).toEqual(before);
      expect(h.strategy.queues()).toEqual([q]);
      h.destroyQueue(q);
      expect(h.strategy.queues()).toEqual([]);
    } finally {
      h.teardown();
    }
  });

  test("removeDevice frees the actions before the function goes; teardown still returns both hosts to boot", () => {
    const seen: IrqSystem[] = [];
    const h = ntbAdapter.create(recording(subdevice, seen));
    const size = h.strategy.store.size;
    const q = h.createQueue({ name: "q", slice: { base: size - 8, count: 8 }, nvec: 3 });
    for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "suite", () => {});
    h.removeDevice();
    expect(code(() => h.strategy.irqs(q))).toBe("ENODEV");
    expect(h.system.snapshot().actions).toBe(h.system.bootSnapshot.actions);
    h.teardown();
    expect(seen.map((s) => s.snapshot())).toEqual(seen.map((s) => s.bootSnapshot));
  });

  test("msixVectors and spads size host A's table: a 2040-entry table delivers from its top entry", () => {
    const adapter = createNtbAdapter({ msixVectors: 2040, spads: 4096 });
    expect(adapter.name).toBe("ntb (2040-entry table)");
    const h = adapter.create(flat);
    try {
      expect(h.strategy.store.size).toBe(2040);
      const q = h.createQueue({ name: "top", slice: { base: 2032, count: 8 }, nvec: 8 });
      let hits = 0;
      for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "t", () => hits++);
      expect(h.strategy.irqs(q).map((i) => i.storeIndex)).toContain(2039);
      for (let i = 0; i < 8; i++) expect(h.raise(q, i)).toBe(DELIVERED);
      expect(hits).toBe(8);
    } finally {
      h.teardown();
    }
  });

  test("bad options are EINVAL: at createNtbAdapter for its own, at create for what the pair checks", () => {
    const any = (v: unknown) => v as never;
    expect(code(() => createNtbAdapter(any(null)))).toBe("EINVAL");
    expect(code(() => createNtbAdapter(any(5)))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 0 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 2049 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 1.5 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ interruptRemapping: any("yes") }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ virtualIommu: any(1) }))).toBe("EINVAL");
    expect(code(() => ntbAdapter.create(any(undefined)))).toBe("EINVAL");
    expect(code(() => ntbAdapter.create(flat, any("cpus")))).toBe("EINVAL");
    // 256 scratchpads publish 127 descriptors, too few for 2040 entries.
    expect(code(() => createNtbAdapter({ msixVectors: 2040 }).create(flat))).toBe("EINVAL");
  });

  test("several NTBs on one host (options.system, options.bus): each has its own function, ntb device and peer, and each teardown removes only its own", () => {
    const host = createSystem({ cpus: 8, interruptRemapping: true, iommus: 2 });
    const one = ntbAdapter.create(subdevice, { system: host, bus: 0x10 });
    const two = ntbAdapter.create(subdevice, { system: host, bus: 0x90 });
    expect([one.system, two.system]).toEqual([host, host]);
    expect(host.devices().filter((d) => d.bus === "pci").map((d) => d.name)).toEqual(["0000:10:00.1", "0000:90:00.1"]);
    // ntb_register_device names each NTB device after its PCI function (names are unique per bus).
    expect(host.devices().filter((d) => d.bus === "ntb").map((d) => d.name)).toEqual(["0000:10:00.1", "0000:90:00.1"]);
    // Design A makes a child device per queue: names are unique per bus, so per host.
    const q1 = one.createQueue({ name: "q1", slice: { base: 0, count: 2 }, nvec: 2 });
    const q2 = two.createQueue({ name: "q2", slice: { base: 0, count: 2 }, nvec: 2 });
    let hits = 0;
    for (const irq of [...one.strategy.irqs(q1), ...two.strategy.irqs(q2)]) host.requestIrq(irq.virq, "w", () => hits++);
    // The peers' writes carry each function's proxy id, on its own bus: remapping accepts each.
    expect([one.raise(q1, 0), two.raise(q2, 1)]).toEqual([DELIVERED, DELIVERED]);
    expect([one.wireRequesterId(q1) >> 8, two.wireRequesterId(q2) >> 8]).toEqual([0x10, 0x90]);
    expect(hits).toBe(2);
    one.teardown();
    expect(two.raise(q2, 0)).toBe(DELIVERED);
    two.teardown();
    expect(host.snapshot()).toEqual(host.bootSnapshot);
  });
});
