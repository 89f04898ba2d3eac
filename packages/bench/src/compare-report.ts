import type { MachineInfo } from "./machine.js";
import type { HardwareName, StrategyName } from "./matrix.js";
import type { HardwareSource } from "./hardware.js";

// The shape of compare.json (schema 1). Numbers that could not be measured are null, with the
// reason in the concern's `error`. Fields may be added; the ones named in the issue stay.

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
  queues: number;
  interrupts: number;
  /** From strategy.footprint(): bookkeeping growing with queues, per queue. */
  perQueue: { objects: number; bytes: number };
  /** From strategy.footprint(): bookkeeping growing with interrupts, per interrupt. */
  perInterrupt: { objects: number; bytes: number };
  /** Bookkeeping that does not grow (tables sized by the store). */
  fixedBytes: number;
  totalBytes: number;
  /** Heap measured with forced GC: bytes per queue without interrupts, and per interrupt (perf.bytesPerInterrupt). */
  heapBytesPerQueue: number | null;
  heapBytesPerInterrupt: number | null;
  /** footprint per-interrupt bytes / heap per-interrupt bytes: the share of the heap cost the strategy's own records explain. */
  footprintShareOfHeap: number | null;
  error?: string;
}

export interface SysfsConcern {
  queues: number;
  /** Queues whose interrupts SysfsView.list(queueSysfsDir) returned exactly. */
  listableQueues: number;
  listable: boolean;
  /** Files the strategy's own sysfs provider adds (SysfsView.files() with vs without it). */
  extraNodes: number;
  extraNodesPerQueue: number;
  /** Directory of the first queue, as an example. */
  exampleDir: string;
  /** Time to list one queue's interrupts (ns). */
  listNs: number | null;
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
  /** Heap bytes per allocated interrupt, forced GC, over `bytesMeasuredOver` interrupts. */
  bytesPerInterrupt: number | null;
  bytesMeasuredOver: number;
  heapBytesPerQueue: number | null;
  error?: string;
}

export interface Cell {
  strategy: StrategyName;
  design: "A" | "B";
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
  goals: GoalCheck[];
}
