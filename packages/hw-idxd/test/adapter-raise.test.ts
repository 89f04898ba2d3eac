import { describe, expect, test, vi } from "vitest";
import { DELIVERED, isImsimError, type ImsimErrorCode, type QueueIrq } from "@imsim/core";
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

describe("adapter raise follows the queue's interrupts without a lookup per call", () => {
  for (const [name, factory] of STRATEGIES) {
    test(`${name}: grown and shrunk through instance.strategy directly`, () => {
      const h = idxdAdapter.create(factory);
      try {
        const size = h.strategy.store.size;
        const q = h.createQueue({ name: "grow", slice: { base: size - 8, count: 8 }, nvec: 2 });
        const hits: string[] = [];
        const listen = (irq: QueueIrq, tag: string) => h.system.requestIrq(irq.virq, "t", () => hits.push(`${tag}${irq.index}`));
        for (const irq of h.strategy.irqs(q)) listen(irq, "a");
        expect([h.raise(q, 0), h.raise(q, 1)]).toEqual([DELIVERED, DELIVERED]);
        expect(code(() => h.raise(q, 5))).toBe("ENOENT");

        // Steady state: no strategy lookup per raise.
        const irqs = vi.spyOn(h.strategy, "irqs");
        for (let i = 0; i < 50; i++) h.raise(q, i & 1);
        expect(irqs).not.toHaveBeenCalled();
        irqs.mockRestore();

        // Grown through the strategy: the adapter reaches the new interrupt's handler.
        listen(h.strategy.allocIrq(q, 5), "b");
        expect(h.raise(q, 5)).toBe(DELIVERED);
        expect(h.writeAs(q, 5, {})).toBe(DELIVERED);
        expect(hits.slice(-2)).toEqual(["b5", "b5"]);

        // Freed through the strategy: that index fails as it always did, the others still work.
        h.strategy.freeIrq(q, 5);
        expect(code(() => h.raise(q, 5))).toBe("ENOENT");
        expect(code(() => h.writeAs(q, 5, {}))).toBe("ENOENT");
        h.strategy.freeIrq(q, 0);
        expect(code(() => h.raise(q, 0))).toBe("ENOENT");
        expect(h.raise(q, 1)).toBe(DELIVERED);

        // Re-allocated at the same index: the new interrupt, not a stale one.
        listen(h.strategy.allocIrq(q, 0), "c");
        listen(h.strategy.allocIrq(q, 5), "c");
        hits.length = 0;
        expect([h.raise(q, 0), h.raise(q, 5), h.raise(q, 1)]).toEqual([DELIVERED, DELIVERED, DELIVERED]);
        expect(hits).toEqual(["c0", "c5", "a1"]);

        // Bad input and a destroyed queue give the strategy's errors, as before.
        for (const bad of [-1, 1.5, Number.NaN, 8, "0" as unknown as number]) expect(code(() => h.raise(q, bad))).toBe("ENOENT");
        h.destroyQueue(q);
        expect(code(() => h.raise(q, 1))).toBe("ENOENT");
        expect(code(() => h.writeAs(q, 1, {}))).toBe("ENOENT");
        expect(code(() => h.raise({} as never, 0))).toBe("EINVAL");
      } finally {
        h.teardown();
      }
    });
  }
});

describe("user queue names", () => {
  test("are numbered per device: a fresh device starts at u0, whatever ran before", () => {
    const names = () => {
      const b = boot();
      const mem = new Memory(1 << 16, "p");
      const u0 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: mem });
      const u1 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 8, memory: mem });
      u0.close();
      const u2 = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 9, memory: mem });
      const out = [u0.name, u1.name, u2.name];
      b.driver.remove();
      return out;
    };
    const first = names();
    expect(first).toEqual(["dsa0-wq1-u0", "dsa0-wq1-u1", "dsa0-wq1-u2"]);
    expect(names()).toEqual(first);
  });
});
