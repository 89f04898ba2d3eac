import type { Cell, SamePath, VerdictRow } from "./compare-report.js";
import { fmt } from "./format.js";
import { DESIGN_LETTER, HARDWARE_NAMES, STRATEGY_NAMES, type HardwareName, type StrategyName } from "./matrix.js";

// The verdict: for each concern of the Linux thread, what was claimed for designs A and B, beside
// what imsim measured for A, B and mainline, and which design is cheaper by how much. The claims
// are tglx's list of 1 Dec 2021 (Message-ID 87y2548byw.ffs@tglx; ../shared/research/linux.md §0, §9).

export const CLAIMS: Record<VerdictRow["concern"], { A: string; B: string }> = {
  storage: { A: "storage \"falls in place\": each subdevice has its own device, domain and descriptor store", B: "\"requires extra storage\" in the PCI device and per queue to map interrupts to queues" },
  sysfs: { A: "\"just works\": the subdevice's own msi_irqs/", B: "\"requires extra mechanisms\" to expose a queue's (a VFIO guest's) interrupts" },
  expansion: { A: "\"just works\": the subdevice has its own irq domain", B: "\"extra indirections\" to grow a queue on demand" },
  iommu: { A: "msi_desc::dev must lead to the parent device (a change; the alias work could move to set-up time)", B: "\"no change\" required: msi_desc::dev is the PCI device" },
  pasid: { A: "\"just works\": the PASID is tied to the subdevice", B: "\"custom hackery\" to tie a PASID to a queue's interrupts" },
};

/**
 * Figures every design obtains through the same code by construction. The report shows them as
 * "same path", with the reason, instead of reading a run's noise as a difference between designs.
 */
export const SAME_PATH: SamePath[] = [
  {
    figure: "perf.deliverNs",
    what: "delivery: raise → handler",
    reason:
      "After allocation a raise runs core only, for every design: the store entry's mask and message, interrupt remapping, the vector, the flow handler, the action (and core's route cache). No design code runs on it; a difference between the designs' figures is the run's noise (a fresh worker's JIT state), not the design.",
  },
  {
    figure: "concerns.expansion.disturbed, concerns.expansion.lost",
    what: "expansion leaves live interrupts alone",
    reason:
      "Every design's allocIrq runs core's createQueueStrategy allocation, which touches only the new index's descriptor, vector and IRTE (MsiDomain.allocAt); no design rewrites a live entry. 0 for every design by construction (the conformance suite checks it as well).",
  },
  {
    figure: "concerns.expansion.costPerVectorNs",
    what: "expansion: time per added vector",
    reason:
      "The same allocation code for every design (MsiDomain.allocAt through the hierarchy); a design adds only its claimIndex and cookieOf. What a design really adds is counted, not timed: recordsPerVector.",
  },
  {
    figure: "concerns.iommu.resolutionsPerAllocation (B and mainline)",
    what: "requester-id resolutions of the host's interrupts",
    reason: "Designs B and mainline both allocate in the PCI device's own domain, so set_msi_sid() runs at each IRTE allocation, as for any PCI interrupt: one resolution per interrupt for both.",
  },
  {
    figure: "concerns.pasid.entriesRewritten, concerns.pasid.otherEntriesTouched",
    what: "what a PASID change rewrites",
    reason: "core's setPasid rewrites the queue's written entries for every design, and no other queue's; only where the PASID is read at each write (lookupNs) differs.",
  },
];

const label = (s: StrategyName) => `${DESIGN_LETTER[s]} ${s}`;

function cellOf(cells: Cell[], s: StrategyName, h: HardwareName): Cell | undefined {
  return cells.find((c) => c.strategy === s && c.hardware === h);
}

/** "idxd X · ntb Y", or just "X" when both hardware give the same text. */
function perHardware(cells: Cell[], s: StrategyName, text: (c: Cell) => string | undefined): string {
  const parts = HARDWARE_NAMES.map((h) => {
    const c = cellOf(cells, s, h);
    return [h, c ? text(c) : undefined] as const;
  }).filter((p): p is readonly [HardwareName, string] => p[1] !== undefined);
  if (parts.length === 0) return "not measured";
  if (parts.every((p) => p[1] === parts[0]![1])) return parts[0]![1];
  return parts.map(([h, t]) => `${h} ${t}`).join(" · ");
}

/** What each design measured, per hardware where they differ. */
function measuredBy(cells: Cell[], text: (c: Cell) => string | undefined): Record<StrategyName, string> {
  return Object.fromEntries(STRATEGY_NAMES.map((s) => [s, perHardware(cells, s, text)])) as Record<StrategyName, string>;
}

interface Comparison {
  /** Figure per design (null: not measured or not applicable). */
  value: (c: Cell) => number | null;
  /** Designs that take part (default: every design with a figure). */
  among?: (c: Cell) => boolean;
  /** The largest difference still read as equal, for the lower of two figures. */
  equalWithin: (low: number) => number;
  /** What the measurement of a cell cannot resolve; two designs closer than the sum of theirs are equal. */
  noise?: (c: Cell) => number;
  show: (x: number) => string;
  unit: string;
  /** The unit after a difference of exactly 1, where it differs ("record per vector"). */
  unitOne?: string;
}

/** One hardware's ranking: the cheapest design, those equal to it, and by how much it beats the others. */
interface Ranking {
  best: StrategyName;
  bestValue: number;
  equal: StrategyName[];
  beats: { design: StrategyName; diff: number; ratio: number | null }[];
  all: { design: StrategyName; value: number }[];
}

function rankOn(cells: Cell[], h: HardwareName, cmp: Comparison): Ranking | undefined {
  const scored = STRATEGY_NAMES.map((s) => cellOf(cells, s, h))
    .filter((c): c is Cell => c !== undefined && (cmp.among?.(c) ?? true))
    .map((c) => ({ design: c.strategy, value: cmp.value(c), noise: cmp.noise?.(c) ?? 0 }))
    .filter((x): x is { design: StrategyName; value: number; noise: number } => x.value !== null && Number.isFinite(x.value))
    .sort((a, b) => a.value - b.value);
  if (scored.length < 2) return undefined;
  const best = scored[0]!;
  const rest = scored.slice(1);
  const tol = (x: { noise: number }) => Math.max(cmp.equalWithin(best.value), best.noise + x.noise);
  return {
    best: best.design,
    bestValue: best.value,
    equal: rest.filter((x) => x.value - best.value <= tol(x)).map((x) => x.design),
    beats: rest.filter((x) => x.value - best.value > tol(x)).map((x) => ({ design: x.design, diff: x.value - best.value, ratio: best.value > 0 ? x.value / best.value : null })),
    all: scored,
  };
}

/** "a" or "a–b" for the values of several hardware. */
function range(xs: number[], show: (x: number) => string): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return show(lo) === show(hi) ? show(lo) : `${show(lo)}–${show(hi)}`;
}

/**
 * The cheapest design and by how much, or "equal". When every hardware ranks the designs alike
 * the figures are given as ranges over the hardware; otherwise hardware by hardware.
 */
function cheapest(cells: Cell[], cmp: Comparison): string {
  const ranks = HARDWARE_NAMES.map((h) => [h, rankOn(cells, h, cmp)] as const).filter((p): p is readonly [HardwareName, Ranking] => p[1] !== undefined);
  if (ranks.length === 0) return "not measured";
  // The cheapest group (the best and those equal to it) in the matrix's order, so that two hardware
  // whose best differs only inside an equal group read alike.
  const group = (r: Ranking) => [r.best, ...r.equal].sort((x, y) => STRATEGY_NAMES.indexOf(x) - STRATEGY_NAMES.indexOf(y));
  const shape = (r: Ranking) => `${group(r).join(",")}|${r.beats.map((b) => b.design).join(",")}`;
  const say = (rs: Ranking[]): string => {
    const r = rs[0]!;
    if (r.beats.length === 0) return `equal (${r.all.map((x) => `${DESIGN_LETTER[x.design]} ${range(rs.map((q) => q.all.find((y) => y.design === x.design)!.value), cmp.show)}`).join(", ")} ${cmp.unit})`;
    const g = group(r);
    const head = g.length > 1 ? `${g.map(label).join(" and ")} (equal)` : label(r.best);
    const by = r.beats.map((b, i) => {
      const diffs = rs.map((q) => q.beats[i]!.diff);
      const ratios = rs.map((q) => q.beats[i]!.ratio).filter((x): x is number => x !== null);
      const unit = cmp.unitOne !== undefined && diffs.every((d) => d === 1) ? cmp.unitOne : cmp.unit;
      return `${range(diffs, cmp.show)} ${unit} less than ${DESIGN_LETTER[b.design]}${ratios.length ? ` (${range(ratios, (x) => `${fmt(x, 2)}×`)})` : ""}`;
    });
    return `${head}: ${by.join(", ")}`;
  };
  if (ranks.every(([, r]) => shape(r) === shape(ranks[0]![1]))) return `${say(ranks.map(([, r]) => r))}${ranks.length > 1 ? ` (${ranks.map(([h]) => h).join(" and ")} alike)` : ` (${ranks[0]![0]})`}`;
  return ranks.map(([h, r]) => `${h}: ${say([r])}`).join("; ");
}

const bytes = (x: number) => `${fmt(x, 0)}`;
const within = (abs: number, rel: number) => (low: number) => Math.max(abs, rel * Math.abs(low));

function storageRow(cells: Cell[]): VerdictRow {
  const measured = measuredBy(cells, (c) => {
    const st = c.concerns.storage;
    return st.error ? `not measured (${st.error})` : `${fmt(st.bytesPerQueue, 0)} ± ${fmt(st.spread.bytesPerQueue, 0)} B/queue, ${fmt(st.bytesPerInterrupt, 0)} ± ${fmt(st.spread.bytesPerInterrupt, 0)} B/interrupt`;
  });
  const perQueue = cheapest(cells, { value: (c) => c.concerns.storage.bytesPerQueue, noise: (c) => c.concerns.storage.spread.bytesPerQueue, equalWithin: within(16, 0.03), show: bytes, unit: "B per queue" });
  const perIrq = cheapest(cells, { value: (c) => c.concerns.storage.bytesPerInterrupt, noise: (c) => c.concerns.storage.spread.bytesPerInterrupt, equalWithin: within(8, 0.02), show: bytes, unit: "B per interrupt" });
  const any = cells.find((c) => c.concerns.storage.error === undefined)?.concerns.storage;
  return {
    concern: "storage",
    claims: CLAIMS.storage,
    measured,
    cheaper: `per queue: ${perQueue}. Per interrupt: ${perIrq}`,
    how: `Forced-GC heap deltas over ${any ? `${any.queues.toLocaleString("en-US")} queues and ${any.interrupts.toLocaleString("en-US")} interrupts` : "the heap run"} per cell (concerns.storage.how). Two designs read as equal when they differ by less than the sum of their spreads (the two halves of each run) or 3 % (16 B) per queue, 2 % (8 B) per interrupt.`,
  };
}

function sysfsRow(cells: Cell[]): VerdictRow {
  const measured = measuredBy(cells, (c) => {
    const f = c.concerns.sysfs;
    if (f.error) return `not measured (${f.error})`;
    const listing = f.queueSysfs ? (f.listable ? "listable per queue" : "per-queue directory incomplete") : "not listable per queue (no per-queue directory)";
    return `${listing}; per queue of ${f.interruptsPerQueue} interrupts: ${fmt(f.nodesPerQueue)} sysfs nodes (${fmt(f.extraNodesPerQueue)} from the design's own attribute groups), ${fmt(f.devicesPerQueue)} device${f.devicesPerQueue === 1 ? "" : "s"}`;
  });
  const among = cheapest(cells, { value: (c) => c.concerns.sysfs.nodesPerQueue, among: (c) => c.concerns.sysfs.listable, equalWithin: within(0.5, 0), show: (x) => fmt(x), unit: "nodes per queue" });
  const unlisted = STRATEGY_NAMES.filter((s) => cells.some((c) => c.strategy === s && !c.concerns.sysfs.listable)).map(label);
  return {
    concern: "sysfs",
    claims: CLAIMS.sysfs,
    measured,
    cheaper: `Among the designs that list a queue's interrupts: ${among}.${unlisted.length ? ` ${unlisted.join(", ")} list${unlisted.length === 1 ? "s" : ""} none per queue (what is not offered is not cheaper).` : ""}`,
    how: "SysfsView of the host before and after 4 queues of 8 interrupts (concerns.sysfs.how): nodes under /sys/devices and devices added per queue, and whether strategy.queueSysfsDir lists exactly each queue's virqs.",
  };
}

function expansionRow(cells: Cell[]): VerdictRow {
  const measured = measuredBy(cells, (c) => {
    const e = c.concerns.expansion;
    if (e.error) return `not measured (${e.error})`;
    return `${e.from} → ${e.to}: disturbed ${e.disturbed}, lost ${e.lost}; design records written per added vector: ${fmt(e.recordsPerVector)}`;
  });
  const records = cheapest(cells, { value: (c) => c.concerns.expansion.recordsPerVector, equalWithin: within(0.01, 0), show: (x) => fmt(x), unit: "records per vector", unitOne: "record per vector" });
  return {
    concern: "expansion",
    claims: CLAIMS.expansion,
    measured,
    cheaper: `${records}. Live interrupts untouched and time per vector: same path (core's allocation for every design).`,
    how: "A queue grows 1 → 64 through allocIrq while its interrupts fire (concerns.expansion.how); the design's indirections are its per-interrupt records (strategy.records()) written per added vector.",
  };
}

function iommuRow(cells: Cell[]): VerdictRow {
  const measured = measuredBy(cells, (c) => {
    const i = c.concerns.iommu;
    if (i.error) return `not measured (${i.error})`;
    return `requester-id resolutions: ${i.resolutions} for ${i.allocations} interrupts (${fmt(i.resolutionsPerAllocation, 3)} each), ${i.queryResolutions} on queries and rewrites; aliases ${i.aliasesHonoured ? "honoured" : "NOT honoured"}`;
  });
  const res = cheapest(cells, { value: (c) => c.concerns.iommu.resolutionsPerAllocation, equalWithin: within(1e-9, 0), show: (x) => fmt(x, 3), unit: "resolutions per interrupt" });
  return {
    concern: "iommu",
    claims: CLAIMS.iommu,
    measured,
    cheaper: `${res}. B and mainline: same path (set_msi_sid at each IRTE allocation of the host's interrupts). A pays instead with the parent link its child devices need.`,
    how: "system.stats.sourceIdResolutions, counted where the kernel resolves: IRTE allocation, or a child device's set-up (concerns.iommu.how).",
  };
}

function pasidRow(cells: Cell[]): VerdictRow {
  const measured = measuredBy(cells, (c) => {
    const p = c.concerns.pasid;
    if (!p.supported) return undefined;
    if (p.error) return `not measured (${p.error})`;
    return `${fmt(p.lookupNs, 1)} ns per write to find the PASID; a change rewrote ${p.entriesRewritten} of ${p.queueInterrupts} entries, ${p.otherEntriesTouched} of other queues; ${p.applied ? "applied" : "NOT applied"}`;
  });
  const lookup = cheapest(cells, { value: (c) => (c.concerns.pasid.supported ? c.concerns.pasid.lookupNs : null), equalWithin: within(0.5, 0.25), show: (x) => fmt(x, 1), unit: "ns per write" });
  return {
    concern: "pasid",
    claims: CLAIMS.pasid,
    measured,
    cheaper: `${lookup} (hardware with PASIDs only). What a change rewrites: same path.`,
    how: "The domain's pasidOf(desc), the lookup every message write makes, timed (concerns.pasid.how). Differences within 25 % (0.5 ns) read as equal.",
  };
}

/** The verdict table of compare.json, the CLI and the report. */
export function buildVerdict(cells: Cell[]): VerdictRow[] {
  return [storageRow(cells), sysfsRow(cells), expansionRow(cells), iommuRow(cells), pasidRow(cells)];
}
