import { describe, expect, test } from "vitest";
import { DELIVERED, DEVICE_REFUSED, isImsimError, type HardwareAdapter, type HardwareInstance } from "@imsim/core";
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
});
