import type { MachineInfo } from "./machine.js";
import type { StrategyRecord } from "@imsim/core";
import type { DesignLetter, HardwareName, StrategyName } from "./matrix.js";
import type { HardwareSource } from "./hardware.js";

// The shape of compare.json (schema 1). Numbers that could not be measured are null, with the
// reason in the concern's `error`. Fields may be added; the ones named in the issue stay. Every
// concern carries `how`: how its figures were obtained, in a sentence a reader can check.

export interface ConformanceSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** False when @imsim/conformance does not export runConformance yet (all counts 0). */
  available: boolean;
  /** Names (and first message line) of failed tests, at most 20. */
  failures: string[];
  durationMs: number;
  note?: string;
}

export interface StorageConcern {
  /** Always "heap": forced-GC heap deltas, never sizes computed from field counts. */
  method: "heap";
  /** Queues and interrupts the deltas were taken over (at least 1,000 and 10,000, quick mode included). */
  queues: number;
  interrupts: number;
  /** Heap growth per queue created (without interrupts), forced GC before and after. */
  bytesPerQueue: number | null;
  /** Heap growth per interrupt allocated (not requested) in those queues, forced GC before and after. */
  bytesPerInterrupt: number | null;
  /**
   * The figures of the run's two halves (the first and the second half of its devices) lie this far
   * apart, in bytes: differences between designs below it are not resolved by the measurement.
   */
  spread: { bytesPerQueue: number; bytesPerInterrupt: number };
  /** The design's records, named and counted on one of the devices at the same moment (no sizes). */
  records: StrategyRecord[];
  how: string;
  error?: string;
}

export interface SysfsConcern {
  /** The strategy's manifest: a per-queue sysfs directory (`strategy.supports.queueSysfs`). */
  queueSysfs: boolean;
  queues: number;
  interruptsPerQueue: number;
  /** Queues whose interrupts SysfsView.list(queueSysfsDir) returned exactly (0 without queueSysfs). */
  listableQueues: number;
  listable: boolean;
  /** Sysfs nodes (files and directories) under /sys/devices the queues added, per queue. */
  nodesPerQueue: number;
  /** Devices the queues added, per queue (design A's child devices). */
  devicesPerQueue: number;
  /** Files the strategy's own sysfs provider adds (SysfsView.files() with vs without it). */
  extraNodes: number;
  extraNodesPerQueue: number;
  /** Directory of the first queue, as an example ("" without queueSysfs). */
  exampleDir: string;
  /** Time to list one queue's interrupts (ns); null without queueSysfs. */
  listNs: number | null;
  how: string;
  error?: string;
}

export interface ExpansionConcern {
  from: number;
  to: number;
  /** Cost per vector added one at a time (allocIrq), ns. */
  costPerVectorNs: number | null;
  /** Cost per vector when the same 63 are allocated in one range, ns: the in-run baseline. */
  bulkPerVectorNs: number | null;
  ratioToBulk: number | null;
  raised: number;
  handled: number;
  /** Live interrupts whose store entry (index, message, PASID, mask), vector, CPU or IRTE changed, or whose message core re-wrote, while the queue grew. Must be 0. */
  disturbed: number;
  /** Raises after which the raised interrupt's own handler did not run exactly once (none, twice, or another interrupt's instead). Must be 0. */
  lost: number;
  /** The design's own per-interrupt records written per added vector (records() per "interrupt", before and after the growth): its indirections. */
  recordsPerVector: number | null;
  how: string;
  error?: string;
}

export interface IommuConcern {
  interruptRemapping: boolean;
  allocations: number;
  resolutions: number;
  /** Requester-id resolutions per allocation, queue creation included. */
  resolutionsPerAllocation: number;
  dmaAliases: number;
  requesterId: number;
  wireRequesterId: number | null;
  /** Every interrupt raised through the hardware was delivered and IR logged no fault. */
  aliasesHonoured: boolean;
  faults: number;
  /** Resolutions counted while the queue's requester id was queried, its entries rewritten (a PASID change) and one interrupt moved. Must be 0. */
  queryResolutions: number;
  how: string;
  error?: string;
}

export interface PasidConcern {
  supported: boolean;
  /** Cost of the PASID lookup a message write makes (the domain's pasidOf), ns. */
  lookupNs: number | null;
  /** Cost per entry of a PASID change (lookup, IRTE and store write), ns. */
  rewritePerEntryNs: number | null;
  queueInterrupts: number;
  /** Message writes a PASID change made. */
  entriesRewritten: number;
  /** Entries of another queue touched by that change. Must be 0. */
  otherEntriesTouched: number;
  /** Every entry of the queue now carries the new PASID. */
  applied: boolean;
  how: string;
  error?: string;
}

export interface AllocPoint {
  storeEntries: number;
  allocNs: number;
  freeNs: number;
}

export interface CellPerf {
  /** raise → handler per interrupt (the device's write of the entry's message) / the bare handler-array baseline. */
  deliverRatio: number | null;
  deliverNs: number | null;
  /** The baseline measured in the same rounds as this cell's delivery. */
  baselineNs: number | null;
  /** The least table-driven dispatch (descriptor lookup, running check, count, handler call), measured beside the baseline. */
  floorNs: number | null;
  /** floorNs / baselineNs: the lowest deliverRatio a dispatch of this shape can reach here. */
  floorRatio: number | null;
  /** The hardware adapter's raise() → handler per interrupt (adapter bookkeeping included), and its ratio to the baseline. */
  adapterRaiseNs: number | null;
  adapterRaiseRatio: number | null;
  /** Per-interrupt allocation cost with 2048 entries in use / with 16. */
  allocScaling: number | null;
  teardownScaling: number | null;
  allocCurve: AllocPoint[];
  /** Heap bytes per allocated interrupt, forced GC, over `bytesMeasuredOver` interrupts (the same figure as concerns.storage.bytesPerInterrupt). */
  bytesPerInterrupt: number | null;
  bytesMeasuredOver: number;
  heapBytesPerQueue: number | null;
  error?: string;
}

export interface Cell {
  strategy: StrategyName;
  design: DesignLetter;
  hardware: HardwareName;
  hardwareSource: HardwareSource;
  conformance: ConformanceSummary;
  concerns: {
    storage: StorageConcern;
    sysfs: SysfsConcern;
    expansion: ExpansionConcern;
    iommu: IommuConcern;
    pasid: PasidConcern;
  };
  perf: CellPerf;
}

export interface ScaleRun {
  strategy: StrategyName;
  hardware: HardwareName;
  /** Simulated hosts of the run: one, holding every device. */
  hosts: number;
  cpusPerHost: number;
  devicesPerHost: number;
  entriesPerDevice: number;
  /** Interrupts allocated (every entry of every device's store). */
  interrupts: number;
  /** Of those, requested (activated: a real vector each); the rest hold a reservation only. */
  activated: number;
  allocMs: number;
  activateMs: number;
  /** Freeing the actions, then every interrupt. */
  freeMs: number;
  /** Heap growth per allocated (not requested) interrupt at this scale, forced GC. */
  heapBytesPerInterrupt: number;
  /** Heap in use at the peak (everything allocated, the share activated) above the heap before, forced GC. */
  peakHeapBytes: number;
  peakRssBytes: number;
  /** The host's resources (virqs, vectors, reservations, IRTEs, descriptors, store entries, actions) back to what they were before the devices came. */
  clean: boolean;
}

/** A figure every design obtains through the same code by construction: shown as "same path", with the reason. */
export interface SamePath {
  /** Where the figure is in compare.json ("perf.deliverNs", "concerns.expansion.disturbed", …). */
  figure: string;
  /** What the figure is, for a reader. */
  what: string;
  reason: string;
}

/** One row of the verdict: a concern of the thread, what was claimed, what imsim measured. */
export interface VerdictRow {
  concern: "storage" | "sysfs" | "expansion" | "iommu" | "pasid";
  /** What the original discussion claimed for design A and design B (tglx, 1 Dec 2021). */
  claims: { A: string; B: string };
  /** What imsim measured, per design, in a few words (per hardware where they differ). */
  measured: Record<StrategyName, string>;
  /** The cheaper design and by how much, or "equal" with the reason. */
  cheaper: string;
  /** How the figures behind this row were obtained. */
  how: string;
}

export interface GoalCheck {
  goal: string;
  ok: boolean;
  detail: string;
}

export interface CompareReport {
  schema: 1;
  generatedAt: string;
  mode: "quick" | "full";
  durationMs: number;
  machine: MachineInfo;
  /** The bare handler array (`deliverNs`) and the least table dispatch (`floorNs`), ns per interrupt, means of the per-hardware medians. */
  baseline: { deliverNs: number; floorNs: number; description: string };
  hardware: { name: HardwareName; source: HardwareSource; note?: string }[];
  cells: Cell[];
  scale: { hosts: number; cpusPerHost: number; devicesPerHost: number; entriesPerDevice: number; runs: ScaleRun[] };
  /** The five concerns: the thread's claims beside what was measured for A, B and mainline. */
  verdict: VerdictRow[];
  /** Figures the designs share by construction. */
  samePath: SamePath[];
  goals: GoalCheck[];
}
