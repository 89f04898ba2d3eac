import { describe, expect, test, vi } from "vitest";
import { DELIVERED } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { ntbAdapter } from "../src/index.js";
import { code } from "./support/error-code.js";


// Growth, frees and re-allocation made through the strategy are the conformance suite's
// ("the hardware's raise follows changes made through the strategy"); here, the adapter's cost
// and its link handling.
describe("adapter raise in steady state", () => {
  for (const [name, factory] of [["subdevice", subdevice], ["flat", flat]] as const) {
    test(`${name}: no strategy lookup per raise, ENOLINK while the link is down`, () => {
      const h = ntbAdapter.create(factory);
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
        // Link down: ENOLINK for a known index, ENOENT still first for an index without interrupt.
        h.linkDown!();
        expect(code(() => h.raise(q, 1))).toBe("ENOLINK");
        expect(code(() => h.raise(q, 6))).toBe("ENOENT");
        h.linkUp!();
        expect(h.raise(q, 1)).toBe(DELIVERED);
      } finally {
        h.teardown();
      }
    });
  }
});
