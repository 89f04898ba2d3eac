import { DELIVERED, type Queue } from "@imsim/core";
import { attachCounter, HitCounter, type CellInstance } from "./cell-instance.js";
import type { AllocPoint } from "./compare-report.js";
import { timeOp, type TimingProfile } from "./timing.js";
import { minorGc } from "./heap.js";

/** Store occupancies the allocation curve is measured at; the scaling ratios compare the last to the first. */
export const ALLOC_CURVE_SIZES = [16, 64, 256, 1024, 2048] as const;
/**
 * Store sizes from which each allocation-curve sample starts after a scavenge: below it a sample
 * makes too little garbage (about 3 KB per interrupt) for a scavenge to fall inside the median
 * sample, and the scavenge itself would dominate the run's time.
 */
export const SCAVENGE_FROM = 256;
/** Interrupts per queue while filling a store (a store of S entries holds S/16 queues). */
export const QUEUE_SLICE = 16;

/**
 * Passes over the queue's interrupts per timed sample, and over the baseline's handlers: each sample
 * lasts about 70 µs, so that the timer's microsecond steps move a figure by under 2 %.
 */
export const DELIVERY_PASSES = 128;
export const BASELINE_PASSES = 1024;

/** One cell's queue set up for delivery measurements. */
export interface DeliverySubject {
  readonly label: string;
  readonly count: number;
  /** The device's write of each entry's message, carrying the wire requester id and the entry's PASID. */
  readonly raiseEntries: () => void;
  /** The hardware adapter's raise() of each index (the adapter's own bookkeeping included). */
  readonly raiseAdapter: () => void;
  release(): void;
}

export interface DeliveryFigures {
  /** Per interrupt through the entry-write path (used for deliverRatio). */
  deliverNs: number;
  /** Per interrupt through the adapter's raise(). */
  adapterRaiseNs: number;
  /** The bare handler array, measured in the same rounds. */
  baselineNs: number;
  /**
   * The least any table-driven dispatch does for one interrupt, measured in the same rounds: find
   * the entry's descriptor in a table, check it is not running, count it, mark it running around a
   * call of its one handler with its virq. No model, no routing: the floor a delivery path of this
   * shape can reach in this JavaScript engine.
   */
  floorNs: number;
}

/** One row of the floor's table: what the least dispatch reads and writes. */
interface FloorDesc {
  readonly virq: number;
  running: boolean;
  count: number;
  readonly handler: (virq: number) => void;
}

/**
 * Sets up a queue of `n` interrupts on `cell` with the counting action, and checks that both raise
 * paths deliver every interrupt exactly once before anything is timed.
 */
export function prepareDelivery(cell: CellInstance, label: string, n = 64): DeliverySubject {
  const count = Math.min(n, cell.strategy.store.size);
  const counter = new HitCounter(cell.system.irqs.limit);
  const q = cell.hwQueue("deliver", count, { nvec: count });
  try {
    attachCounter(cell, q, counter);
    const irqs = cell.strategy.irqs(q);
    const entries = Int32Array.from(irqs, (i) => i.storeIndex);
    const hw = cell.hw;
    const system = cell.system;
    const store = cell.strategy.store;
    const raiseAdapter = () => {
      for (let i = 0; i < count; i++) hw.raise(q, i);
    };
    // The device raising its store entry: core's raise (mask → message → remapping → vector → handler).
    const raiseEntries = () => {
      for (let pass = 0; pass < DELIVERY_PASSES; pass++) for (let i = 0; i < count; i++) system.raise(store, entries[i]!);
    };
    for (let i = 0; i < count; i++) {
      const r = hw.raise(q, i);
      if (r !== DELIVERED) throw new Error(`raise of index ${i} of ${q.name} gave ${r}, not DELIVERED: delivery cannot be measured`);
    }
    if (counter.total() !== count) throw new Error(`${count} raises ran ${counter.total()} handlers`);
    const faults = system.faults.total;
    raiseEntries();
    if (counter.total() !== (1 + DELIVERY_PASSES) * count || system.faults.total !== faults) throw new Error(`the entry-write path of ${label} did not deliver every interrupt once`);
    return {
      label,
      count,
      raiseEntries,
      raiseAdapter,
      release() {
        cell.hw.destroyQueue(q);
        cell.resetSlices();
      },
    };
  } catch (e) {
    cell.hw.destroyQueue(q);
    cell.resetSlices();
    throw e;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Times the subjects against the bare baseline in `rounds` rounds, the subjects' order alternating
 * from round to round, so that the designs on one hardware are measured under the same conditions
 * (JIT state, heap, CPU frequency). A design's figure is the lowest of its rounds' tinybench
 * medians (the steady state, robust to a round disturbed by GC or the other core's load); the
 * baseline is the median of its rounds.
 */
export function measureDelivery(subjects: DeliverySubject[], profile: TimingProfile, rounds: number): DeliveryFigures[] {
  const n = Math.max(1, ...subjects.map((s) => s.count));
  const counts = new Uint32Array(n);
  const handler = (i: number) => {
    counts[i]!++;
  };
  const handlers: ((i: number) => void)[] = [];
  for (let i = 0; i < n; i++) handlers.push(handler);
  const baseline: number[] = [];
  const floor: number[] = [];
  // The floor dispatches n interrupts of virqs 0..n-1 through descriptor rows to the same counting handler.
  const table: FloorDesc[] = [];
  for (let i = 0; i < n; i++) table.push({ virq: i, running: false, count: 0, handler });
  const slots = Int32Array.from({ length: n }, (_, i) => i);
  const entry: number[][] = subjects.map(() => []);
  const adapter: number[][] = subjects.map(() => []);
  for (let r = 0; r < rounds; r++) {
    baseline.push(timeOp("bare handler array", () => {
      for (let pass = 0; pass < BASELINE_PASSES; pass++) for (let i = 0; i < n; i++) handlers[i]!(i);
    }, profile, { ops: n * BASELINE_PASSES }).p50);
    floor.push(timeOp("table dispatch floor", () => {
      for (let pass = 0; pass < DELIVERY_PASSES; pass++) {
        for (let i = 0; i < n; i++) {
          const d = table[slots[i]!]!;
          if (d.running) continue;
          d.count++;
          d.running = true;
          d.handler(d.virq);
          d.running = false;
        }
      }
    }, profile, { ops: n * DELIVERY_PASSES }).p50);
    const order = subjects.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const s = subjects[i]!;
      entry[i]!.push(timeOp(`${s.label} raise → handler`, s.raiseEntries, profile, { ops: s.count * DELIVERY_PASSES }).p50);
      adapter[i]!.push(timeOp(`${s.label} adapter raise`, s.raiseAdapter, profile, { ops: s.count }).p50);
    }
  }
  const b = median(baseline);
  const f = median(floor);
  return subjects.map((_, i) => ({ deliverNs: Math.min(...entry[i]!), adapterRaiseNs: Math.min(...adapter[i]!), baselineNs: b, floorNs: f }));
}

/** Allocates every index of `q`'s slice, all at once, or one by one around entries the hardware holds itself. */
export function fillQueue(cell: CellInstance, q: Queue, count: number): number {
  try {
    cell.strategy.allocIrqRange(q, 0, count - 1);
    return count;
  } catch {
    let n = 0;
    for (let i = 0; i < count; i++) {
      try {
        cell.strategy.allocIrq(q, i);
        n++;
      } catch {
        // entry held by the hardware's own queues
      }
    }
    return n;
  }
}

/**
 * Cost per interrupt allocated and freed when the store holds S entries (S/16 queues of 16), for
 * each S of ALLOC_CURVE_SIZES that fits the store. Queues are made before each sample, untimed;
 * each point is tinybench's median (with several passes, the lowest of them).
 */
export function measureAllocCurve(cell: CellInstance, profile: TimingProfile, passes = 1): AllocPoint[] {
  let best = measureAllocPass(cell, profile);
  for (let p = 1; p < passes; p++) {
    const next = measureAllocPass(cell, profile);
    best = best.map((b, i) => ({ storeEntries: b.storeEntries, allocNs: Math.min(b.allocNs, next[i]!.allocNs), freeNs: Math.min(b.freeNs, next[i]!.freeNs) }));
  }
  return best;
}

function measureAllocPass(cell: CellInstance, profile: TimingProfile): AllocPoint[] {
  const size = cell.strategy.store.size;
  const points: AllocPoint[] = [];
  // The first size runs twice: once to warm the JIT up (discarded), once measured. A store smaller
  // than 2048 ends the curve full (its size rounded down to whole queues of 16).
  const fitting: number[] = ALLOC_CURVE_SIZES.filter((S) => S <= size);
  const full = Math.floor(size / QUEUE_SLICE) * QUEUE_SLICE;
  if (full > fitting[fitting.length - 1]! && full < ALLOC_CURVE_SIZES[ALLOC_CURVE_SIZES.length - 1]!) fitting.push(full);
  const sizes = [fitting[0]!, ...fitting];
  for (let k = 0; k < sizes.length; k++) {
    const S = sizes[k]!;
    const per = Math.min(QUEUE_SLICE, S);
    const nq = S / per;
    let queues: Queue[] = [];
    const make = (nvec: number) => () => {
      cell.resetSlices();
      queues = [];
      for (let i = 0; i < nq; i++) queues.push(cell.strategyQueue("fill", per, { nvec }));
      // A large sample starts with an empty young generation, so the garbage of the set-up and of
      // the samples before it is not collected inside its timed window: a sample of 2048
      // allocations would otherwise contain scavenges that the median small sample never does.
      if (S >= SCAVENGE_FROM) minorGc();
    };
    const destroy = () => {
      for (const q of queues) cell.strategy.destroyQueue(q);
      queues = [];
      cell.resetSlices();
    };
    const alloc = timeOp(`alloc at ${S}`, () => {
      for (let i = 0; i < queues.length; i++) cell.strategy.allocIrqRange(queues[i]!, 0, per - 1);
    }, profile, { ops: S, beforeEach: make(0), afterEach: destroy });
    const free = timeOp(`free at ${S}`, () => {
      for (let i = 0; i < queues.length; i++) cell.strategy.freeAllIrqs(queues[i]!);
    }, profile, { ops: S, beforeEach: make(per), afterEach: destroy });
    if (k > 0) points.push({ storeEntries: S, allocNs: alloc.p50, freeNs: free.p50 });
  }
  return points;
}

/** Last point / first point of the curve, or null with fewer than two points. */
export function scaling(points: AllocPoint[], key: "allocNs" | "freeNs"): number | null {
  if (points.length < 2) return null;
  return points[points.length - 1]![key] / points[0]![key];
}
