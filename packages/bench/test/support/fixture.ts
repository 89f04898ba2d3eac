import type { Cell, CompareReport } from "../../src/compare-report.js";
import { DESIGN_LETTER, matrixCells } from "../../src/matrix.js";
import { SAME_PATH, buildVerdict } from "../../src/verdict.js";

/** Made-up but plausible figures per design: A pays per queue, B and mainline per interrupt. */
const PER_QUEUE = { subdevice: 3500, flat: 460, mainline: 470 } as const;
const PER_IRQ = { subdevice: 940, flat: 1000, mainline: 1080 } as const;
const RECORDS_PER_VECTOR = { subdevice: 0, flat: 2, mainline: 1 } as const;
const LOOKUP_NS = { subdevice: 8, flat: 4, mainline: 2 } as const;

/** A plausible report with made-up figures, for rendering tests. */
export function fixtureReport(): CompareReport {
  const cells: Cell[] = matrixCells().map(({ strategy, hardware }, i) => ({
    strategy,
    design: DESIGN_LETTER[strategy],
    hardware,
    hardwareSource: hardware === "idxd" ? "@imsim/hw-idxd" : "@imsim/hw-ntb",
    conformance: { passed: 100, failed: 0, skipped: 2, available: true, failures: [], durationMs: 10 },
    concerns: {
      storage: {
        method: "heap", queues: 1568, interrupts: 100352, bytesPerQueue: PER_QUEUE[strategy], bytesPerInterrupt: PER_IRQ[strategy], spread: { bytesPerQueue: 4, bytesPerInterrupt: 1 },
        records: [{ what: "queue row (row, index set: two objects per queue)", per: "queue", count: 64 }], how: "fixture storage how",
      },
      sysfs: {
        queueSysfs: strategy !== "mainline", queues: 4, interruptsPerQueue: 8, listableQueues: strategy === "mainline" ? 0 : 4, listable: strategy !== "mainline",
        nodesPerQueue: { subdevice: 11, flat: 19.25, mainline: 0 }[strategy], devicesPerQueue: strategy === "subdevice" ? 1 : 0,
        extraNodes: strategy === "flat" ? 36 : 0, extraNodesPerQueue: strategy === "flat" ? 9 : 0, exampleDir: strategy === "mainline" ? "" : "/sys/devices/x/msi_irqs", listNs: strategy === "mainline" ? null : 5000, how: "fixture sysfs how",
      },
      expansion: { from: 1, to: 64, costPerVectorNs: 500, bulkPerVectorNs: 400, ratioToBulk: 1.25, raised: 100, handled: 100, disturbed: 0, lost: 0, recordsPerVector: RECORDS_PER_VECTOR[strategy], how: "fixture expansion how" },
      iommu: {
        interruptRemapping: true, allocations: 32, resolutions: strategy === "subdevice" ? 1 : 32, resolutionsPerAllocation: strategy === "subdevice" ? 1 / 32 : 1, dmaAliases: hardware === "ntb" ? 2 : 0,
        requesterId: 0x6a08, wireRequesterId: 0x6a08, aliasesHonoured: true, faults: 0, queryResolutions: 0, how: "fixture iommu how",
      },
      pasid: { supported: hardware === "idxd", lookupNs: LOOKUP_NS[strategy], rewritePerEntryNs: 300, queueInterrupts: 32, entriesRewritten: 32, otherEntriesTouched: 0, applied: true, how: "fixture pasid how" },
    },
    perf: {
      deliverRatio: 2.5, deliverNs: 50 + i, baselineNs: 20, floorNs: 40, floorRatio: 2, adapterRaiseNs: 900, adapterRaiseRatio: 45, allocScaling: 1.1, teardownScaling: 1.2,
      allocCurve: [16, 64, 256, 1024, 2048].map((n, k) => ({ storeEntries: n, allocNs: 500 + 10 * k + 40 * i, freeNs: 200 + 5 * k })),
      bytesPerInterrupt: PER_IRQ[strategy], bytesMeasuredOver: 100352, heapBytesPerQueue: PER_QUEUE[strategy],
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
    verdict: buildVerdict(cells),
    samePath: SAME_PATH,
    goals: [],
  };
}
