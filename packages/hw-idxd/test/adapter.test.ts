import { describe, expect, test } from "vitest";
import { DELIVERED, DEVICE_REFUSED, createSystem, isImsimError, type HardwareAdapter, type HardwareInstance } from "@imsim/core";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { COMP_INT_HANDLE_INVAL, OPCODE_NOOP, createIdxdAdapter, idxdAdapter, idxdHardware, type IdxdHardwareInstance } from "../src/index.js";
import { STRATEGIES } from "./support/boot.js";

// The adapter's names and options; its behaviour under a strategy is the conformance suite's.
describe("IDXD adapter", () => {
  test("idxdHardware is idxdAdapter, and both are core's HardwareAdapter", () => {
    const typed: HardwareAdapter = idxdHardware;
    expect(typed).toBe(idxdAdapter);
    expect(idxdAdapter.name).toBe("idxd");
    expect(createIdxdAdapter({ interruptRemapping: false }).name).toBe("idxd (no IR)");
  });

  test("an instance is core's HardwareInstance plus the device and driver beneath", () => {
    const h: IdxdHardwareInstance = createIdxdAdapter({ cpus: 2 }).create(flat);
    try {
      const plain: HardwareInstance = h;
      expect(plain.system.cpus).toBe(2);
      expect(h.driver.strategy).toBe(h.strategy);
      expect(h.device.ims?.size).toBe(h.strategy.store.size);
    } finally {
      h.teardown();
    }
  });

  test.each(STRATEGIES)("%s: raiseAs under another PASID is refused by the device: DEVICE_REFUSED, 0x19 in SWERR with that PASID, no handler, no IOMMU fault, nothing pending", (_name, strategy) => {
    const h = idxdAdapter.create(strategy);
    try {
      expect(h.supports.pasidCheck).toBe(true);
      const size = h.strategy.store.size;
      const q = h.createQueue({ name: "pq", slice: { base: size - 4, count: 4 }, nvec: 1, pasid: 0x55 });
      const [irq] = h.strategy.irqs(q);
      let hits = 0;
      h.system.requestIrq(irq!.virq, "pq", () => hits++);
      expect(h.device.ims!.pasid(irq!.storeIndex)).toBe(0x55);
      const misc = h.driver.miscInterrupts;
      for (const pasid of [0x56, -1]) {
        expect(h.raiseAs!(q, 0, { pasid })).toBe(DEVICE_REFUSED);
        const last = h.driver.softwareErrors.at(-1)!;
        expect([last.error, last.wq, last.operation, last.pasid]).toEqual([COMP_INT_HANDLE_INVAL, 1, OPCODE_NOOP, pasid === -1 ? 0 : pasid]);
      }
      // Each refusal is a software error the misc vector reported; the queue's interrupt saw nothing.
      expect(h.driver.miscInterrupts - misc).toBe(2);
      expect(hits).toBe(0);
      expect(h.device.ims!.isPending(irq!.storeIndex)).toBe(false);
      expect(h.system.faults.total).toBe(0);
      expect(h.raiseAs!(q, 0, { pasid: 0x55 })).toBe(DELIVERED);
      expect(h.raise(q, 0)).toBe(DELIVERED);
      expect(hits).toBe(2);
      for (const bad of [0x100000, -2, 1.5, "7"]) {
        let error: unknown;
        try {
          h.raiseAs!(q, 0, { pasid: bad as number });
        } catch (e) {
          error = e;
        }
        expect(isImsimError(error, "EINVAL"), String(bad)).toBe(true);
      }
    } finally {
      h.teardown();
    }
  });

  test("destroyQueue frees every action still requested on the queue's interrupts, then the queue; the driver's destroyImsQueue alone refuses (EBUSY) and changes nothing", () => {
    const h = idxdAdapter.create(flat);
    try {
      const size = h.strategy.store.size;
      const q = h.createQueue({ name: "aq", slice: { base: size - 4, count: 4 }, nvec: 2 });
      for (const irq of h.strategy.irqs(q)) {
        h.system.requestIrq(irq.virq, "one", () => {});
        h.system.requestIrq(irq.virq, "two", () => {});
      }
      const before = h.system.snapshot();
      let error: unknown;
      try {
        h.driver.destroyImsQueue(q);
      } catch (e) {
        error = e;
      }
      expect(isImsimError(error, "EBUSY")).toBe(true);
      expect(String(error)).toMatch(/free_irq\(\) first/);
      expect(h.system.snapshot()).toEqual(before);
      expect(h.strategy.queues()).toEqual([q]);
      h.destroyQueue(q);
      expect(h.strategy.queues()).toEqual([]);
      expect(h.system.snapshot().actions).toBe(before.actions - 4);
      expect(h.device.wqEnabled(1)).toBe(false);
    } finally {
      h.teardown();
    }
    expect(h.system.snapshot()).toEqual(h.system.bootSnapshot);
  });

  test("several DSAs on one host (options.system, options.bus): each raises its own interrupts, and each teardown removes only its own device", () => {
    const host = createSystem({ cpus: 8, interruptRemapping: true, iommus: 2 });
    const a = idxdAdapter.create(flat, { system: host, bus: 0x10 });
    const b = idxdAdapter.create(flat, { system: host, bus: 0x90 });
    expect([a.system, b.system]).toEqual([host, host]);
    expect([a.device.pci.name, b.device.pci.name]).toEqual(["0000:10:01.0", "0000:90:01.0"]);
    // Buses 0x00-0x7f and 0x80-0xff belong to the two remapping units: one IRTE table each.
    const qa = a.createQueue({ name: "qa", slice: { base: 0, count: 2 }, nvec: 2 });
    const qb = b.createQueue({ name: "qb", slice: { base: 0, count: 2 }, nvec: 2 });
    let hits = 0;
    for (const irq of [...a.strategy.irqs(qa), ...b.strategy.irqs(qb)]) host.requestIrq(irq.virq, "w", () => hits++);
    expect([a.raise(qa, 0), b.raise(qb, 1)]).toEqual([DELIVERED, DELIVERED]);
    expect(hits).toBe(2);
    expect(host.iommus.map((u) => u.table.inUse > 0)).toEqual([true, true]);
    expect(() => idxdAdapter.create(flat, { system: host, bus: 0x10 })).toThrow(/0000:10:01\.0 already exists/);
    a.teardown();
    // b's function with its dsa bus devices (ida_alloc numbered them dsa1, wq1.<n>) is all that is left.
    expect(host.devices().filter((d) => d.bus === "pci").map((d) => d.name)).toEqual(["0000:90:01.0"]);
    expect(host.devices().filter((d) => d.bus === "dsa").map((d) => d.name).slice(0, 3)).toEqual(["dsa1", "wq1.0", "wq1.1"]);
    expect(b.raise(qb, 0)).toBe(DELIVERED);
    b.teardown();
    expect(host.snapshot()).toEqual(host.bootSnapshot);
  });

  test("options.system must be a system and options.bus a bus number (EINVAL, nothing created)", () => {
    const host = createSystem({ interruptRemapping: true });
    for (const bad of [{ system: {} }, { system: host, bus: 256 }, { system: host, bus: -1 }, { system: host, bus: 1.5 }]) {
      let error: unknown;
      try {
        idxdAdapter.create(flat, bad as never);
      } catch (e) {
        error = e;
      }
      expect(isImsimError(error, "EINVAL"), JSON.stringify(bad.bus ?? "system")).toBe(true);
    }
    expect(host.snapshot()).toEqual(host.bootSnapshot);
  });
});
