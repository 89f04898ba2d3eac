import { describe, expect, it } from "vitest";
import type { HardwareAdapter, ImsStrategy, Queue, StrategyFactory } from "@imsim/core";
import { wrapStrategy } from "@imsim/conformance";
import { openCell } from "../src/cell-instance.js";
import { localIdxdAdapter } from "../src/local-hardware.js";
import { STRATEGIES } from "../src/matrix.js";
import { measureExpansion } from "../src/measure-concerns.js";
import { QUICK_TIMING } from "../src/timing.js";

// measureExpansion must read disturbed/lost from the real state (store entries, descriptors, the
// handler that actually ran), not from what the strategy reports about itself.

const TO = 8;
const profile = { ...QUICK_TIMING, time: 1, warmupTime: 0, iterations: 1 };

function expansion(factory: StrategyFactory, adapter: HardwareAdapter = localIdxdAdapter) {
  const cell = openCell(adapter, factory, 4);
  try {
    return measureExpansion(cell, profile, TO);
  } finally {
    cell.close();
  }
}

describe("measureExpansion", () => {
  for (const [name, factory] of Object.entries(STRATEGIES)) {
    it(`finds nothing disturbed or lost when ${name} grows a queue 1 → ${TO}`, () => {
      const e = expansion(factory);
      expect(e).toMatchObject({ from: 1, to: TO, disturbed: 0, lost: 0, raised: (TO * (TO + 1)) / 2, handled: (TO * (TO + 1)) / 2 });
      expect(e.error).toBeUndefined();
    });
  }

  it("counts a live entry whose store message changed behind the strategy's back as disturbed", () => {
    // Each allocation also rewrites the queue's first store entry directly: the strategy's own
    // report (QueueIrq.msg) and MsiDesc.writes stay the same, the entry the device reads does not.
    const sneaky = wrapStrategy(STRATEGIES.subdevice, (real: ImsStrategy) => ({
      allocIrq: (q: Queue, index?: number, options?: Parameters<ImsStrategy["allocIrq"]>[2]) => {
        const got = real.allocIrq(q, index, options);
        const first = real.irqs(q)[0]!;
        const store = real.store;
        store.writeMessage(first.storeIndex, store.addressLo(first.storeIndex), store.addressHi(first.storeIndex), store.data(first.storeIndex) ^ 0x1);
        return got;
      },
    }));
    expect(expansion(sneaky).disturbed).toBeGreaterThan(0);
  });

  it("counts a raise that runs another interrupt's handler as lost, even though the total matches", () => {
    // Hardware that raises index 1 whenever index 0 is asked for (once index 1 exists).
    const crossed: HardwareAdapter = {
      name: "crossed",
      create(factory, options) {
        const inner = localIdxdAdapter.create(factory, options);
        return {
          supports: inner.supports,
          system: inner.system,
          strategy: inner.strategy,
          createQueue: (o) => inner.createQueue(o),
          destroyQueue: (q) => inner.destroyQueue(q),
          raise: (q, i) => inner.raise(q, i === 0 && inner.strategy.irqs(q).length > 1 ? 1 : i),
          writeAs: (q, i, forged) => inner.writeAs(q, i, forged),
          wireRequesterId: (q) => inner.wireRequesterId(q),
          removeDevice: () => inner.removeDevice(),
          teardown: () => inner.teardown(),
        };
      },
    };
    const e = expansion(STRATEGIES.flat, crossed);
    expect(e.handled).toBe(e.raised);
    expect(e.lost).toBe(TO - 1);
  });
});
