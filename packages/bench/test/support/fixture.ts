import type { Cell, CompareReport } from "../../src/compare-report.js";
import { DESIGN_LETTER, matrixCells } from "../../src/matrix.js";

/** A plausible report with made-up figures, for rendering tests. */
export function fixtureReport(): CompareReport {
  const cells: Cell[] = matrixCells().map(({ strategy, hardware }, i) => ({
    strategy,
    design: DESIGN_LETTER[strategy],
    hardware,
    hardwareSource: hardware === "idxd" ? "@imsim/hw-idxd" : "@imsim/hw-ntb",
    conformance: { passed: 100, failed: 0, skipped: 2, available: true, failures: [], durationMs: 10 },
    concerns: {
      storage: { queues: 16, interrupts: 512, perQueue: { objects: 6, bytes: 800 }, perInterrupt: { objects: 2, bytes: 150 }, fixedBytes: 100, totalBytes: 90000, heapBytesPerQueue: 2000, heapBytesPerInterrupt: 600, footprintShareOfHeap: 0.25 },
      sysfs: { queues: 4, listableQueues: 4, listable: true, extraNodes: strategy === "flat" ? 36 : 0, extraNodesPerQueue: strategy === "flat" ? 9 : 0, exampleDir: "/sys/devices/x/msi_irqs", listNs: 5000 },
      expansion: { from: 1, to: 64, costPerVectorNs: 500, bulkPerVectorNs: 400, ratioToBulk: 1.25, raised: 100, handled: 100, disturbed: 0, lost: 0 },
      iommu: { interruptRemapping: true, allocations: 32, resolutions: strategy === "flat" ? 32 : 1, resolutionsPerAllocation: strategy === "flat" ? 1 : 1 / 32, dmaAliases: hardware === "ntb" ? 2 : 0, requesterId: 0x6a08, wireRequesterId: 0x6a08, aliasesHonoured: true, faults: 0 },
      pasid: { supported: hardware === "idxd", lookupNs: 8, rewritePerEntryNs: 300, queueInterrupts: 32, entriesRewritten: 32, otherEntriesTouched: 0, applied: true },
    },
    perf: {
      deliverRatio: 2.5, deliverNs: 50 + i, baselineNs: 20, floorNs: 40, floorRatio: 2, adapterRaiseNs: 900, adapterRaiseRatio: 45, allocScaling: 1.1, teardownScaling: 1.2,
      allocCurve: [16, 64, 256, 1024, 2048].map((n, k) => ({ storeEntries: n, allocNs: 500 + 10 * k + 40 * i, freeNs: 200 + 5 * k })),
      bytesPerInterrupt: 600, bytesMeasuredOver: 100352, heapBytesPerQueue: 2000,
    },
  }));
  return {
    schema: 1,
    generatedAt: "2026-01-01T00:00:00.000Z",
    mode: "quick",
    durationMs: 20000,
    machine: { platform: "linux", arch: "x64", release: "6.1", cpus: 2, cpuModel: "Test CPU", totalMemoryBytes: 8 << 30, node: "v20.20.2", v8: "11.3" },
    baseline: { deliverNs: 20, floorNs: 40, description: "fixture" },
    hardware: [{ name: "idxd", source: "@imsim/hw-idxd" }, { name: "ntb", source: "@imsim/hw-ntb" }],
    cells,
    scale: { hosts: 1, cpusPerHost: 256, devicesPerHost: 49, entriesPerDevice: 2048, runs: [] },
    goals: [],
  };
}
