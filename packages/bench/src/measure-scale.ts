import { createSystem, type HardwareAdapter, type IrqSystem, type Queue, type ResourceSnapshot, type StrategyFactory, type StrategyRecord } from "@imsim/core";
import { openCell, type CellInstance } from "./cell-instance.js";
import { fillQueue } from "./measure-perf.js";
import { settledHeap } from "./heap.js";

/** CPUs of the host in the delivery and allocation-curve runs (one device each). */
export const FILL_CPUS = 16;
/** Interrupts per queue while filling stores. */
export const FILL_QUEUE = 64;
/** CPUs of the one host the scale run puts every device on (an IDXD-class server). */
export const SCALE_CPUS = 256;
/**
 * Remapping units of that host: each holds 65,536 IRTEs (the VT-d maximum) and covers an equal
 * share of the buses, so 64 devices × 2048 interrupts need at least two; servers have one per
 * socket or root complex, four here.
 */
export const SCALE_IOMMUS = 4;
/** One interrupt in this many is requested (activated: a real vector); the rest stay reserved, as unused VFIO vectors do. */
export const ACTIVATE_EVERY = 8;

export interface FillResult {
  hosts: number;
  cpusPerHost: number;
  devicesPerHost: number;
  entriesPerDevice: number;
  queues: number;
  /** Interrupts allocated (every entry of every device's store the hardware did not keep). */
  interrupts: number;
  /** Of those, requested and so activated (a real vector each). */
  activated: number;
  /** Allocating every interrupt, queue by queue. */
  allocMs: number;
  /** Requesting the activated share. */
  activateMs: number;
  /** Freeing the actions, then every interrupt. */
  freeMs: number;
  heapBytesPerQueue: number;
  heapBytesPerInterrupt: number;
  /** How far the per-queue and per-interrupt figures of the run's two halves (devices) lie apart: what the measurement cannot resolve. */
  heapBytesPerQueueSpread: number;
  heapBytesPerInterruptSpread: number;
  /** The first device's strategy records with every interrupt allocated: what the heap figures are about. */
  records: StrategyRecord[];
  peakHeapBytes: number;
  peakRssBytes: number;
  /** The host's resource snapshot after freeing equals the one before the devices came. */
  clean: boolean;
}

const SCALE_ACTION = "imsim-scale";
const noop = (): void => {};

/** Bus of device `d` on a host of `iommus` remapping units: round-robin over the units' bus ranges. */
export function scaleBus(d: number, iommus: number): number {
  const share = Math.floor(256 / iommus);
  return (d % iommus) * share + 1 + Math.floor(d / iommus);
}

/** Same resources, ignoring where the host's own interrupts sit. */
function sameResources(a: ResourceSnapshot, b: ResourceSnapshot): boolean {
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  return (
    a.devices === b.devices && a.domains === b.domains && a.virqs === b.virqs && a.irtes === b.irtes && a.descriptors === b.descriptors &&
    a.storeEntries === b.storeEntries && a.actions === b.actions && a.reservedVectors === b.reservedVectors && a.managedVectors === b.managedVectors &&
    sum(a.vectorsPerCpu) === sum(b.vectorsPerCpu)
  );
}

/**
 * One more device on the host runs every step of the fill once, then goes: the code the measured
 * steps run is compiled (and its feedback allocated) before the heap is read, so that the JIT's own
 * allocations do not read as bytes per queue.
 */
function warmUp(adapter: HardwareAdapter, factory: StrategyFactory, system: IrqSystem, bus: number, queues: number): void {
  const cell = openCell(adapter, factory, SCALE_CPUS, { system, bus });
  try {
    const qs: Queue[] = [];
    for (let i = 0; i < queues; i++) qs.push(cell.strategyQueue("warm", FILL_QUEUE, { nvec: 0 }));
    for (const q of qs) fillQueue(cell, q, FILL_QUEUE);
    for (const q of qs) {
      const irq = cell.strategy.irqs(q)[0];
      if (irq) {
        system.requestIrq(irq.virq, SCALE_ACTION, noop);
        system.freeIrq(irq.virq, SCALE_ACTION);
      }
      cell.strategy.freeAllIrqs(q);
      cell.strategy.destroyQueue(q);
    }
  } finally {
    cell.close();
  }
}

/**
 * `devices` hardware instances on ONE host of SCALE_CPUS CPUs: every IMS entry of each store
 * allocated in queues of 64, one in ACTIVATE_EVERY requested (activated), then everything freed.
 * Heap is read with forced GC before the devices, after the queues, with every interrupt allocated
 * (per-queue and per-interrupt bytes: what an allocated, not yet requested interrupt holds) and
 * with the share activated (the peak); a warm-up device runs the same steps first (warmUp).
 */
export function fillHost(adapter: HardwareAdapter, factory: StrategyFactory, devices: number, onDevice?: (done: number) => void): FillResult {
  const heap0 = settledHeap();
  const system: IrqSystem = createSystem({ cpus: SCALE_CPUS, interruptRemapping: true, iommus: SCALE_IOMMUS, name: "scale" });
  const before = system.snapshot();
  const cells: CellInstance[] = [];
  const queues: Queue[][] = [];
  try {
    for (let d = 0; d < devices; d++) cells.push(openCell(adapter, factory, SCALE_CPUS, { system, bus: scaleBus(d, SCALE_IOMMUS) }));
    const entries = cells[0]!.strategy.store.size;
    const perDevice = Math.floor(entries / FILL_QUEUE);
    warmUp(adapter, factory, system, scaleBus(devices, SCALE_IOMMUS), perDevice);
    const heap1 = settledHeap();
    // The heap is also read halfway (after half the devices): the two halves' figures differ by
    // what the measurement cannot resolve, reported as its spread.
    const half = Math.max(1, Math.floor(devices / 2));
    let heapQueuesHalf = heap1;
    for (let d = 0; d < cells.length; d++) {
      if (d === half) heapQueuesHalf = settledHeap();
      const qs: Queue[] = [];
      for (let i = 0; i < perDevice; i++) qs.push(cells[d]!.strategyQueue("scale", FILL_QUEUE, { nvec: 0 }));
      queues.push(qs);
    }
    const heap2 = settledHeap();
    let interrupts = 0;
    let interruptsHalf = 0;
    let heapAllocHalf = heap2;
    let gcMs = 0;
    const t0 = performance.now();
    for (let d = 0; d < cells.length; d++) {
      if (d === half) {
        const g = performance.now();
        heapAllocHalf = settledHeap();
        interruptsHalf = interrupts;
        gcMs += performance.now() - g;
      }
      for (const q of queues[d]!) interrupts += fillQueue(cells[d]!, q, FILL_QUEUE);
      onDevice?.(d + 1);
    }
    const allocMs = performance.now() - t0 - gcMs;
    const heapAlloc = settledHeap();
    const records = cells[0]!.strategy.records().records;
    let activated = 0;
    const t1 = performance.now();
    for (let d = 0; d < cells.length; d++) {
      for (const q of queues[d]!) {
        for (const irq of cells[d]!.strategy.irqs(q)) {
          if (irq.index % ACTIVATE_EVERY !== 0) continue;
          system.requestIrq(irq.virq, SCALE_ACTION, noop);
          activated++;
        }
      }
    }
    const activateMs = performance.now() - t1;
    const heap3 = settledHeap();
    const rss = process.memoryUsage().rss;
    const t2 = performance.now();
    for (let d = 0; d < cells.length; d++) {
      for (const q of queues[d]!) {
        for (const irq of cells[d]!.strategy.irqs(q)) if (irq.index % ACTIVATE_EVERY === 0) system.freeIrq(irq.virq, SCALE_ACTION);
        cells[d]!.strategy.freeAllIrqs(q);
      }
    }
    const freeMs = performance.now() - t2;
    for (let d = 0; d < cells.length; d++) for (const q of queues[d]!) cells[d]!.strategy.destroyQueue(q);
    for (const c of cells.splice(0)) c.close();
    system.tick();
    const clean = sameResources(before, system.snapshot());
    const nq = queues.reduce((a, q) => a + q.length, 0);
    const nqHalf = queues.slice(0, half).reduce((a, q) => a + q.length, 0);
    const spread = (whole: number, first: number, firstN: number, second: number, secondN: number) =>
      firstN > 0 && secondN > 0 ? Math.abs(first / firstN - second / secondN) : whole;
    return {
      hosts: 1,
      cpusPerHost: SCALE_CPUS,
      devicesPerHost: devices,
      entriesPerDevice: perDevice * FILL_QUEUE,
      queues: nq,
      interrupts,
      activated,
      allocMs,
      activateMs,
      freeMs,
      heapBytesPerQueue: (heap2 - heap1) / nq,
      heapBytesPerInterrupt: (heapAlloc - heap2) / interrupts,
      heapBytesPerQueueSpread: spread(0, heapQueuesHalf - heap1, nqHalf, heap2 - heapQueuesHalf, nq - nqHalf),
      heapBytesPerInterruptSpread: spread(0, heapAllocHalf - heap2, interruptsHalf, heapAlloc - heapAllocHalf, interrupts - interruptsHalf),
      records,
      peakHeapBytes: heap3 - heap0,
      peakRssBytes: rss,
      clean,
    };
  } finally {
    for (const c of cells) c.close();
  }
}
