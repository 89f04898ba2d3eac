import type { HardwareAdapter, ResourceSnapshot, StrategyFactory, Queue } from "@imsim/core";
import { openCell, type CellInstance } from "./cell-instance.js";
import { fillQueue } from "./measure-perf.js";
import { settledHeap } from "./heap.js";

/** CPUs per simulated host when filling a whole store: 2048 interrupts need more vectors than 4 CPUs have. */
export const FILL_CPUS = 16;
/** Interrupts per queue while filling stores. */
export const FILL_QUEUE = 64;

export interface FillResult {
  devices: number;
  entriesPerDevice: number;
  queues: number;
  interrupts: number;
  allocMs: number;
  freeMs: number;
  heapBytesPerQueue: number;
  heapBytesPerInterrupt: number;
  peakHeapBytes: number;
  peakRssBytes: number;
  clean: boolean;
}

const same = (a: ResourceSnapshot, b: ResourceSnapshot) =>
  a.virqs === b.virqs && a.irtes === b.irtes && a.descriptors === b.descriptors && a.storeEntries === b.storeEntries && a.domains === b.domains && a.devices === b.devices;

/**
 * `devices` hardware instances (one simulated host each), every IMS entry of each store allocated
 * in queues of 64 and freed again. Heap is read with forced GC before the queues, after the queues
 * and with everything allocated: per-queue and per-interrupt bytes, and the peak.
 */
export function fillDevices(adapter: HardwareAdapter, factory: StrategyFactory, devices: number, onDevice?: () => void): FillResult {
  const heap0 = settledHeap();
  const cells: CellInstance[] = [];
  const queues: Queue[][] = [];
  const before: ResourceSnapshot[] = [];
  try {
    for (let d = 0; d < devices; d++) {
      const cell = openCell(adapter, factory, FILL_CPUS);
      cells.push(cell);
      before.push(cell.system.snapshot());
    }
    const entries = cells[0]!.strategy.store.size;
    const perDevice = Math.floor(entries / FILL_QUEUE);
    const heap1 = settledHeap();
    for (const cell of cells) {
      const qs: Queue[] = [];
      for (let i = 0; i < perDevice; i++) qs.push(cell.strategyQueue("ims", FILL_QUEUE, { nvec: 0 }));
      queues.push(qs);
    }
    const heap2 = settledHeap();
    let interrupts = 0;
    const t0 = performance.now();
    for (let d = 0; d < cells.length; d++) {
      for (const q of queues[d]!) interrupts += fillQueue(cells[d]!, q, FILL_QUEUE);
      onDevice?.();
    }
    const allocMs = performance.now() - t0;
    const heap3 = settledHeap();
    const rss = process.memoryUsage().rss;
    const t1 = performance.now();
    for (let d = 0; d < cells.length; d++) for (const q of queues[d]!) cells[d]!.strategy.freeAllIrqs(q);
    const freeMs = performance.now() - t1;
    let clean = true;
    for (let d = 0; d < cells.length; d++) {
      for (const q of queues[d]!) cells[d]!.strategy.destroyQueue(q);
      if (!same(before[d]!, cells[d]!.system.snapshot())) clean = false;
    }
    const nq = queues.reduce((a, q) => a + q.length, 0);
    return {
      devices,
      entriesPerDevice: perDevice * FILL_QUEUE,
      queues: nq,
      interrupts,
      allocMs,
      freeMs,
      heapBytesPerQueue: (heap2 - heap1) / nq,
      heapBytesPerInterrupt: (heap3 - heap2) / interrupts,
      peakHeapBytes: heap3 - heap0,
      peakRssBytes: rss,
      clean,
    };
  } finally {
    for (const c of cells) c.close();
  }
}
