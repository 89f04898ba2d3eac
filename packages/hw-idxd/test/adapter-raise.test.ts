import { describe, expect, test, vi } from "vitest";
import { DELIVERED, isImsimError, type ImsimErrorCode } from "@imsim/core";
import { IdxdUserQueue, Memory, idxdAdapter } from "../src/index.js";
import { STRATEGIES, boot } from "./support/boot.js";

function code(fn: () => unknown): ImsimErrorCode | "none" | "not-imsim" {
  try {
    fn();
  } catch (e) {
    return isImsimError(e) ? e.code : "not-imsim";
  }
  return "none";
}

// Growth, frees and re-allocation made through the strategy are the conformance suite's
// ("the hardware's raise follows changes made through the strategy"); here, the adapter's cost.
describe("adapter raise in steady state", () => {
  for (const [name, factory] of STRATEGIES) {
    test(`${name}: no strategy lookup per raise once the queue's entries are known`, () => {
      const h = idxdAdapter.create(factory);
      try {
        const size = h.strategy.store.size;
        const q = h.createQueue({ name: "steady", slice: { base: size - 8, count: 8 }, nvec: 2 });
        let hits = 0;
        for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "t", () => hits++);
        expect([h.raise(q, 0), h.raise(q, 1)]).toEqual([DELIVERED, DELIVERED]);
        const irqs = vi.spyOn(h.strategy, "irqs");
        for (let i = 0; i < 50; i++) h.raise(q, i & 1);
        expect(irqs).not.toHaveBeenCalled();
        irqs.mockRestore();
        expect(hits).toBe(52);
        expect(code(() => h.raise({} as never, 0))).toBe("EINVAL");
      } finally {
        h.teardown();
      }
    });
  }
});

describe("user queue names", () => {
  test("are the open file's (file<n>, numbered per device: a fresh device starts at file0, whatever ran before); their interrupts' action is the char device's", () => {
    const names = () => {
      const b = boot();
      const mem = new Memory(1 << 16, "p");
      const u0 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: mem });
      const u1 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 8, memory: mem });
      u0.close();
      const u2 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 9, memory: mem });
      const out = [u0.name, u1.name, u2.name, u2.actionName];
      b.driver.remove();
      return out;
    };
    const first = names();
    // idxd_cdev_open names the file's device "file%d"; idxd_wq_add_cdev the char device "dsa/wq0.1".
    expect(first).toEqual(["file0", "file1", "file2", "dsa/wq0.1"]);
    expect(names()).toEqual(first);
  });
});
