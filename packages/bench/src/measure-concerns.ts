import { DELIVERED, SysfsView, type MsiDesc, type Queue, type QueueIrq } from "@imsim/core";
import { attachCounter, HitCounter, type CellInstance } from "./cell-instance.js";
import type { ExpansionConcern, IommuConcern, PasidConcern, StorageConcern, SysfsConcern } from "./compare-report.js";
import { FILL_QUEUE, type FillResult } from "./measure-scale.js";
import { timeOp, type TimingProfile } from "./timing.js";

// The five concerns of the Linux thread, each measured on one cell (strategy × hardware). Every
// function creates its queues, measures, and destroys them again, so they run in any order.

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/** Queues and interrupts the storage figures must be measured over, at least (quick mode included). */
export const STORAGE_MIN_QUEUES = 1_000;
export const STORAGE_MIN_INTERRUPTS = 10_000;

/**
 * Concern 1, storage, from the heap run (fillHost): heap growth per queue created and per interrupt
 * allocated, forced GC around each step, over every queue and interrupt of the run's devices. The
 * design's records are named beside the figures; their sizes are not computed anywhere.
 */
export function storageFromFill(
  fill: Pick<FillResult, "queues" | "interrupts" | "heapBytesPerQueue" | "heapBytesPerInterrupt" | "heapBytesPerQueueSpread" | "heapBytesPerInterruptSpread" | "records" | "devicesPerHost">,
): StorageConcern {
  const out: StorageConcern = {
    method: "heap",
    queues: fill.queues,
    interrupts: fill.interrupts,
    bytesPerQueue: fill.heapBytesPerQueue,
    bytesPerInterrupt: fill.heapBytesPerInterrupt,
    spread: { bytesPerQueue: fill.heapBytesPerQueueSpread, bytesPerInterrupt: fill.heapBytesPerInterruptSpread },
    records: fill.records,
    how:
      `V8 heap in use after a forced full GC, read before and after creating ${fill.queues.toLocaleString("en-US")} queues without interrupts ` +
      `(bytesPerQueue = growth / queues), then after allocating ${fill.interrupts.toLocaleString("en-US")} interrupts in them, none requested (bytesPerInterrupt = growth / interrupts); ` +
      `${fill.devicesPerHost} devices on one host, queues of ${FILL_QUEUE} store entries, after a warm-up device ran the same steps (so the JIT's own allocations are not counted). ` +
      `spread: how far the same figures of the first and the second half of the devices lie apart. It includes what core keeps for every design (irq descriptor, vector reservation, IRTE, MSI descriptor) and what the design adds; records are named and counted, never sized.`,
  };
  if (fill.queues < STORAGE_MIN_QUEUES || fill.interrupts < STORAGE_MIN_INTERRUPTS) {
    out.error = `measured over ${fill.queues} queues and ${fill.interrupts} interrupts, fewer than ${STORAGE_MIN_QUEUES} and ${STORAGE_MIN_INTERRUPTS}`;
  }
  return out;
}

/** The storage concern when the heap run failed. */
export function storageFailed(error: string): StorageConcern {
  return { method: "heap", queues: 0, interrupts: 0, bytesPerQueue: null, bytesPerInterrupt: null, spread: { bytesPerQueue: 0, bytesPerInterrupt: 0 }, records: [], how: "forced-GC heap deltas of the heap run, which failed", error };
}

/** Every sysfs node under /sys/devices: each file and each directory above it. */
function deviceNodes(files: Iterable<string>): Set<string> {
  const nodes = new Set<string>();
  for (const path of files) {
    if (!path.startsWith("/sys/devices/")) continue;
    const parts = path.split("/");
    for (let i = 4; i <= parts.length; i++) nodes.add(parts.slice(0, i).join("/"));
  }
  return nodes;
}

/**
 * Concern 2: can a queue's interrupts be listed from sysfs, what the queues add to sysfs (nodes,
 * devices), what the strategy's own provider adds, how long listing takes.
 */
export function measureSysfs(cell: CellInstance, profile: TimingProfile, queues = 4, perQueue = 8): SysfsConcern {
  const queueSysfs = cell.strategy.supports.queueSysfs;
  const how =
    `${queues} queues of ${perQueue} interrupts made through the hardware. nodesPerQueue and devicesPerQueue: SysfsView.files() under /sys/devices (files and the directories above them) and system.devices(), after minus before, per queue. ` +
    `extraNodes: the files the strategy's own sysfs provider emits. listable: SysfsView.list(strategy.queueSysfsDir(q)) equals the queue's virqs for every queue; ` +
    `a strategy without a per-queue directory (supports.queueSysfs false, queueSysfsDir EOPNOTSUPP) is measured as not listable.`;
  const made: Queue[] = [];
  const empty = { queueSysfs, queues, interruptsPerQueue: perQueue, listableQueues: 0, listable: false, nodesPerQueue: 0, devicesPerQueue: 0, extraNodes: 0, extraNodesPerQueue: 0, exampleDir: "", listNs: null, how };
  try {
    const view = new SysfsView(cell.system);
    const nodesBefore = deviceNodes(view.files().keys()).size;
    const devicesBefore = cell.system.devices().length;
    for (let i = 0; i < queues; i++) made.push(cell.hwQueue("sq", perQueue, { nvec: perQueue }));
    const all = view.files();
    const nodesPerQueue = (deviceNodes(all.keys()).size - nodesBefore) / queues;
    const devicesPerQueue = (cell.system.devices().length - devicesBefore) / queues;
    let listable = 0;
    if (queueSysfs) {
      for (const q of made) {
        const want = cell.strategy.irqs(q).map((i) => String(i.virq)).sort((a, b) => Number(a) - Number(b));
        let got: string[] = [];
        try {
          got = view.list(cell.strategy.queueSysfsDir(q));
        } catch {
          got = [];
        }
        if (want.length > 0 && got.length === want.length && got.every((v, i) => v === want[i])) listable++;
      }
    }
    // The strategy's additions: what its own providers emit (files() with them minus files() without).
    const extra = new Set<string>();
    for (const p of cell.strategyProviders) p((path) => extra.add(path));
    let extraNodes = 0;
    for (const path of extra) if (all.has(path)) extraNodes++;
    const dir = queueSysfs ? cell.strategy.queueSysfsDir(made[0]!) : "";
    const listNs = queueSysfs ? timeOp("sysfs list", () => void view.list(dir), profile).p50 : null;
    return { ...empty, listableQueues: listable, listable: listable === queues, nodesPerQueue, devicesPerQueue, extraNodes, extraNodesPerQueue: extraNodes / queues, exampleDir: dir, listNs };
  } catch (e) {
    return { ...empty, error: message(e) };
  } finally {
    for (const q of made) cell.hw.destroyQueue(q);
    cell.resetSlices();
  }
}

/** What "live interrupt untouched" means: read from core's descriptor and the store entry itself, not from the strategy's report. */
interface LiveState {
  virq: number;
  storeIndex: number;
  /** The store entry as the device would read it. */
  lo: number;
  hi: number;
  data: number;
  pasid: number;
  masked: boolean;
  /** MsiDesc.writes: how often core wrote the entry's message. */
  writes: number;
  cpu: number;
  vector: number;
  irte: number;
}

function liveState(cell: CellInstance, irqs: readonly QueueIrq[]): LiveState[] {
  const store = cell.strategy.store;
  return irqs.map((i) => {
    const d = cell.system.irqDesc(i.virq)!;
    const e = i.storeIndex;
    return {
      virq: i.virq, storeIndex: e, lo: store.addressLo(e), hi: store.addressHi(e), data: store.data(e), pasid: store.pasid(e), masked: store.isMasked(e),
      writes: d.msiDesc!.writes, cpu: d.effectiveCpu, vector: d.vector, irte: d.irte,
    };
  });
}

function sameState(a: LiveState, b: LiveState | undefined): boolean {
  return (
    b !== undefined && a.storeIndex === b.storeIndex && a.lo === b.lo && a.hi === b.hi && a.data === b.data && a.pasid === b.pasid &&
    a.masked === b.masked && a.writes === b.writes && a.cpu === b.cpu && a.vector === b.vector && a.irte === b.irte
  );
}

/**
 * Concern 3: a queue grows from 1 to `to` vectors one at a time while its interrupts fire. Live
 * interrupts must not be re-written or moved (disturbed) and no raise may go unhandled (lost).
 */
export function measureExpansion(cell: CellInstance, profile: TimingProfile, maxTo = 64): ExpansionConcern {
  const to = Math.min(maxTo, cell.strategy.store.size);
  const how =
    `A queue made through the hardware grows 1 → ${to} vectors, one strategy.allocIrq at a time, and every interrupt it holds is raised through the hardware after each step. ` +
    `disturbed: live interrupts whose store entry (read from the store), MsiDesc.writes, vector, CPU or IRTE changed; lost: raises after which the raised interrupt's own handler did not run exactly once. ` +
    `recordsPerVector: the design's per-interrupt records (strategy.records()) after the growth minus before, per added vector. costPerVectorNs: tinybench median per vector added one at a time, against the same vectors in one range (bulkPerVectorNs).`;
  const out: ExpansionConcern = { from: 1, to, costPerVectorNs: null, bulkPerVectorNs: null, ratioToBulk: null, raised: 0, handled: 0, disturbed: 0, lost: 0, recordsPerVector: null, how };
  const perInterruptRecords = () => cell.strategy.records().records.reduce((n, r) => n + (r.per === "interrupt" ? r.count : 0), 0);
  const counter = new HitCounter(cell.system.irqs.limit);
  let q: Queue | undefined;
  try {
    q = cell.hwQueue("vfio", to, { nvec: 1 });
    attachCounter(cell, q, counter);
    // Each raise must run its own interrupt's handler exactly once; anything else counts as lost.
    const fire = (queue: Queue, n: number) => {
      const virqs = cell.strategy.irqs(queue).map((x) => x.virq);
      const sum = () => virqs.reduce((a, v) => a + counter.hits[v]!, 0);
      for (let i = 0; i < n; i++) {
        const virq = cell.strategy.irqs(queue).find((x) => x.index === i)?.virq;
        const own = virq === undefined ? 0 : counter.hits[virq]!;
        const all = sum();
        cell.hw.raise(queue, i);
        out.raised++;
        if (virq === undefined || counter.hits[virq]! - own !== 1 || sum() - all !== 1) out.lost++;
      }
    };
    fire(q, 1);
    const recordsBefore = perInterruptRecords();
    for (let n = 2; n <= to; n++) {
      const before = liveState(cell, cell.strategy.irqs(q));
      cell.strategy.allocIrq(q);
      attachCounter(cell, q, counter);
      const after = new Map(liveState(cell, cell.strategy.irqs(q)).map((s) => [s.virq, s]));
      for (const s of before) if (!sameState(s, after.get(s.virq))) out.disturbed++;
      fire(q, n);
    }
    out.handled = counter.total();
    out.recordsPerVector = to > 1 ? (perInterruptRecords() - recordsBefore) / (to - 1) : 0;
    cell.hw.destroyQueue(q);
    q = undefined;
    cell.resetSlices();

    // Cost per added vector (tinybench): 63 single allocations on a queue made fresh before each sample.
    let tq: Queue | undefined;
    const fresh = () => {
      cell.resetSlices();
      tq = cell.strategyQueue("grow", to, { nvec: 1 });
    };
    const drop = () => {
      if (tq) cell.strategy.destroyQueue(tq);
      tq = undefined;
    };
    const grow = timeOp("expand one at a time", () => {
      for (let n = 1; n < to; n++) cell.strategy.allocIrq(tq!);
    }, profile, { ops: to - 1, beforeEach: fresh, afterEach: drop });
    const bulk = timeOp("expand in one range", () => void cell.strategy.allocIrqRange(tq!, 1, to - 1), profile, { ops: to - 1, beforeEach: fresh, afterEach: drop });
    out.costPerVectorNs = grow.p50;
    out.bulkPerVectorNs = bulk.p50;
    out.ratioToBulk = grow.p50 / bulk.p50;
    return out;
  } catch (e) {
    return { ...out, error: message(e) };
  } finally {
    if (q) cell.hw.destroyQueue(q);
    cell.resetSlices();
  }
}

/** Concern 4: requester-id resolutions per allocation, and whether the hardware's (aliased) writes pass interrupt remapping. */
export function measureIommu(cell: CellInstance, allocations = 32): IommuConcern {
  const system = cell.system;
  const host = cell.strategy.host;
  const base: IommuConcern = {
    interruptRemapping: system.interruptRemapping, allocations, resolutions: 0, resolutionsPerAllocation: 0,
    dmaAliases: (host.pciFunction ?? host).dmaAliases.length, requesterId: -1, wireRequesterId: null, aliasesHonoured: false, faults: 0, queryResolutions: 0,
    how:
      `system.stats.sourceIdResolutions over creating a queue and allocating ${allocations} interrupts in it, divided by ${allocations}. Core counts a resolution where the kernel resolves one: ` +
      `set_msi_sid() at each IRTE allocation (intel_irq_remapping_alloc), or once when a child device's domain is set up with its resolved source id (design A). ` +
      `queryResolutions: the same counter while requesterId() is queried, the queue's entries are rewritten (a PASID change where the store has PASIDs) and one interrupt is moved; it must stay 0. ` +
      `aliasesHonoured: 8 interrupts raised the hardware's way (on NTB the peer's writes carry the proxy id, a DMA alias) all delivered, no remapping fault.`,
  };
  const made: Queue[] = [];
  const hwMade: Queue[] = [];
  try {
    const before = system.stats.sourceIdResolutions;
    const q = cell.strategyQueue("iommu", allocations, { nvec: 0 });
    made.push(q);
    for (let i = 0; i < allocations; i++) cell.strategy.allocIrq(q);
    base.resolutions = system.stats.sourceIdResolutions - before;
    base.resolutionsPerAllocation = base.resolutions / allocations;
    // Queries and rewrites resolve nothing: the kernel resolves at IRTE allocation only.
    const queried = system.stats.sourceIdResolutions;
    for (let i = 0; i < allocations; i++) cell.strategy.requesterId(q);
    if (cell.strategy.store.supportsPasid) {
      cell.strategy.setPasid(q, 0x11);
      cell.strategy.setPasid(q, undefined);
    }
    const first = cell.strategy.irqs(q)[0];
    if (first && system.cpus > 1) {
      system.tick();
      system.setAffinity(first.virq, [system.cpus - 1]);
    }
    base.queryResolutions = system.stats.sourceIdResolutions - queried;

    // The hardware's own writes (through the NTB: carrying the alias) must pass IR.
    const counter = new HitCounter(system.irqs.limit);
    const hq = cell.hwQueue("iommu-hw", 8, { nvec: 8 });
    hwMade.push(hq);
    attachCounter(cell, hq, counter);
    const faultsBefore = system.faults.total;
    let delivered = 0;
    for (let i = 0; i < 8; i++) if (cell.hw.raise(hq, i) === DELIVERED) delivered++;
    base.faults = system.faults.total - faultsBefore;
    base.requesterId = cell.strategy.requesterId(hq);
    base.wireRequesterId = cell.hw.wireRequesterId(hq);
    base.aliasesHonoured = delivered === 8 && counter.total() === 8 && base.faults === 0;
    return base;
  } catch (e) {
    return { ...base, error: message(e) };
  } finally {
    for (const q of hwMade) cell.hw.destroyQueue(q);
    for (const q of made) cell.strategy.destroyQueue(q);
    cell.resetSlices();
  }
}

/** Passes over the queue's descriptors per timed sample of the PASID lookup (about 30 µs a sample). */
export const PASID_LOOKUP_PASSES = 256;
/** Rounds of the PASID lookup measurement; its figure is the lowest of their medians. */
export const PASID_LOOKUP_ROUNDS = 3;

/** Concern 5: the PASID lookup each message write makes, and what a PASID change rewrites. */
export function measurePasid(cell: CellInstance, profile: TimingProfile, entries = 32): PasidConcern {
  const how =
    `lookupNs: the domain's pasidOf(desc), which every message write calls, timed over the ${entries} descriptors of a queue, ${PASID_LOOKUP_PASSES} passes per sample, in a loop compiled for this cell alone (the lowest of ${PASID_LOOKUP_ROUNDS} rounds' tinybench medians, per lookup). ` +
    `rewritePerEntryNs: strategy.setPasid on that queue, per entry (the lookup, the store write). entriesRewritten: system.stats.messageWrites over one setPasid; ` +
    `otherEntriesTouched: MsiDesc.writes of a bystander queue's 8 entries that changed; applied: every entry of the queue read back from the store with the new PASID.`;
  const out: PasidConcern = { supported: cell.strategy.store.supportsPasid, lookupNs: null, rewritePerEntryNs: null, queueInterrupts: 0, entriesRewritten: 0, otherEntriesTouched: 0, applied: false, how };
  if (!out.supported) return out;
  const made: Queue[] = [];
  try {
    const q = cell.strategyQueue("pasid", entries, { nvec: entries, pasid: 1 });
    const bystander = cell.strategyQueue("bystander", 8, { nvec: 8, pasid: 9 });
    made.push(q, bystander);
    // Requested, so activated: an IMS entry holds its message (and PASID) from then on.
    const counter = new HitCounter(cell.system.irqs.limit);
    attachCounter(cell, q, counter);
    attachCounter(cell, bystander, counter);
    const system = cell.system;
    const descs = cell.strategy.irqs(q).map((i) => system.irqDesc(i.virq)!.msiDesc!);
    out.queueInterrupts = descs.length;
    const first = descs[0]!;
    const lookup = system.msiDomain(first.device, first.domainId)?.pasidOf;
    if (lookup) {
      let sink = 0;
      // Many passes per sample: one lookup is a few ns, far below the timer's resolution. The loop
      // is a function of its own for each cell, so that its call site has seen this design's
      // lookup only (one loop shared by the designs would be polymorphic for the later ones).
      const loop = new Function("lookup", "descs", "passes", "let s = 0; for (let p = 0; p < passes; p++) for (let i = 0; i < descs.length; i++) s += lookup(descs[i]); return s;") as (
        lookup: (d: MsiDesc) => number,
        d: MsiDesc[],
        passes: number,
      ) => number;
      // The lowest median of a few rounds: the steady state, as for delivery.
      let best = Infinity;
      for (let round = 0; round < PASID_LOOKUP_ROUNDS; round++) {
        best = Math.min(best, timeOp("pasid lookup", () => {
          sink += loop(lookup, descs, PASID_LOOKUP_PASSES);
        }, profile, { ops: descs.length * PASID_LOOKUP_PASSES }).p50);
      }
      out.lookupNs = best;
      if (sink === -0.5) out.lookupNs = 0; // keeps `sink` alive
    }
    let p = 2;
    out.rewritePerEntryNs = timeOp("pasid change", () => void cell.strategy.setPasid(q, (p = p === 2 ? 3 : 2)), profile, { ops: descs.length }).p50;

    const others = cell.strategy.irqs(bystander).map((i) => system.irqDesc(i.virq)!.msiDesc!.writes);
    const writesBefore = system.stats.messageWrites;
    cell.strategy.setPasid(q, 0x1234);
    out.entriesRewritten = system.stats.messageWrites - writesBefore;
    const othersAfter = cell.strategy.irqs(bystander).map((i) => system.irqDesc(i.virq)!.msiDesc!.writes);
    out.otherEntriesTouched = othersAfter.filter((w, i) => w !== others[i]).length;
    const store = cell.strategy.store;
    out.applied = cell.strategy.irqs(q).every((i) => store.pasid(i.storeIndex) === 0x1234 && i.pasid === 0x1234);
    return out;
  } catch (e) {
    return { ...out, error: message(e) };
  } finally {
    for (const q of made) cell.dropQueue(q);
    cell.resetSlices();
  }
}
