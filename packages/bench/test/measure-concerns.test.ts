import { describe, expect, it } from "vitest";
import type { HardwareAdapter, ImsStrategy, Queue, StrategyFactory } from "@imsim/core";
import { wrapStrategy } from "@imsim/conformance";
import { openCell } from "../src/cell-instance.js";
import { localIdxdAdapter } from "../src/local-hardware.js";
import { STRATEGIES } from "../src/matrix.js";
import { measureExpansion, measureIommu, measureSysfs, storageFromFill } from "../src/measure-concerns.js";
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

describe("measureSysfs", () => {
  it("measures a design without a per-queue directory as not listable, and A's child devices and B's attribute groups per queue", () => {
    const run = (factory: StrategyFactory) => {
      const cell = openCell(localIdxdAdapter, factory, 4);
      try {
        return measureSysfs(cell, profile, 2, 4);
      } finally {
        cell.close();
      }
    };
    const [a, b, m] = [run(STRATEGIES.subdevice), run(STRATEGIES.flat), run(STRATEGIES.mainline)];
    expect(a).toMatchObject({ queueSysfs: true, listable: true, listableQueues: 2, devicesPerQueue: 1, extraNodes: 0 });
    // The child's directory, its uevent, its msi_irqs/ and one file per interrupt.
    expect(a.nodesPerQueue).toBe(3 + 4);
    expect(b).toMatchObject({ queueSysfs: true, listable: true, devicesPerQueue: 0 });
    expect(b.extraNodesPerQueue).toBe(1 + 4);
    expect(m).toMatchObject({ queueSysfs: false, listable: false, listableQueues: 0, nodesPerQueue: 0, devicesPerQueue: 0, extraNodes: 0, exampleDir: "", listNs: null });
    expect(m.error).toBeUndefined();
    expect(m.how).toContain("not listable");
  });
});

describe("measureIommu", () => {
  it("counts resolutions where the kernel resolves: once per child device for A, once per IRTE for B and mainline; queries and rewrites count none", () => {
    const run = (factory: StrategyFactory) => {
      const cell = openCell(localIdxdAdapter, factory, 4);
      try {
        return measureIommu(cell, 8);
      } finally {
        cell.close();
      }
    };
    expect(run(STRATEGIES.subdevice)).toMatchObject({ resolutions: 1, queryResolutions: 0, aliasesHonoured: true });
    expect(run(STRATEGIES.flat)).toMatchObject({ resolutions: 8, resolutionsPerAllocation: 1, queryResolutions: 0 });
    expect(run(STRATEGIES.mainline)).toMatchObject({ resolutions: 8, resolutionsPerAllocation: 1, queryResolutions: 0 });
  });

  it("would see a design that resolves on a query", () => {
    const resolving = wrapStrategy(STRATEGIES.flat, (real: ImsStrategy) => ({
      requesterId: (q: Queue) => {
        real.system.stats.sourceIdResolutions++;
        return real.requesterId(q);
      },
    }));
    const cell = openCell(localIdxdAdapter, resolving, 4);
    try {
      expect(measureIommu(cell, 4).queryResolutions).toBe(4);
    } finally {
      cell.close();
    }
  });
});

describe("measureExpansion's records per vector", () => {
  it("reads the design's per-interrupt records: none for A, two for B, one for mainline", () => {
    expect([expansion(STRATEGIES.subdevice), expansion(STRATEGIES.flat), expansion(STRATEGIES.mainline)].map((e) => e.recordsPerVector)).toEqual([0, 2, 1]);
  });
});

describe("storageFromFill", () => {
  const fill = { queues: 1568, interrupts: 100_352, heapBytesPerQueue: 470, heapBytesPerInterrupt: 1000, heapBytesPerQueueSpread: 12, heapBytesPerInterruptSpread: 1, records: [], devicesPerHost: 49 };
  it("is a heap figure that says how it was measured", () => {
    const s = storageFromFill(fill);
    expect(s).toMatchObject({ method: "heap", queues: 1568, interrupts: 100_352, bytesPerQueue: 470, bytesPerInterrupt: 1000, spread: { bytesPerQueue: 12, bytesPerInterrupt: 1 } });
    expect(s.how).toContain("forced full GC");
    expect(s.error).toBeUndefined();
  });
  it("is an error when measured over fewer than 1,000 queues or 10,000 interrupts", () => {
    expect(storageFromFill({ ...fill, queues: 999 }).error).toContain("fewer than 1000");
    expect(storageFromFill({ ...fill, interrupts: 9_999 }).error).toContain("fewer than");
  });
});
