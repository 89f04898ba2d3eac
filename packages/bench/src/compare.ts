import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Cell, CellPerf, CompareReport, GoalCheck, ScaleRun } from "./compare-report.js";
import { openCell, type CellInstance } from "./cell-instance.js";
import { summarizeConformance } from "./conformance-summary.js";
import { resolveHardware, type ResolvedHardware } from "./hardware.js";
import { machineInfo } from "./machine.js";
import { DESIGN_LETTER, HARDWARE_NAMES, STRATEGIES, STRATEGY_NAMES, type HardwareName, type StrategyName } from "./matrix.js";
import { STORAGE_MIN_INTERRUPTS, STORAGE_MIN_QUEUES, measureExpansion, measureIommu, measurePasid, measureSysfs, storageFailed, storageFromFill } from "./measure-concerns.js";
import { combineRounds, deliveryWorkerPath, measureDeliveryIsolated } from "./delivery-isolated.js";
import { measureAllocCurve, measureDelivery, prepareDelivery, scaling, type DeliveryFigures, type DeliverySubject } from "./measure-perf.js";
import { FILL_CPUS, FILL_QUEUE, SCALE_CPUS, fillHost } from "./measure-scale.js";
import { Progress, type ProgressStream } from "./progress.js";
import { prepareOutDir } from "./out-dir.js";
import { renderHtmlReport } from "./report-html.js";
import { cellLabel } from "./report-table.js";
import { FULL_TIMING, QUICK_TIMING, type TimingProfile } from "./timing.js";
import { fmt } from "./format.js";
import { SAME_PATH, buildVerdict } from "./verdict.js";

export interface CompareOptions {
  quick?: boolean;
  /** Where progress goes (process.stderr by default); `silent` for none. */
  progress?: ProgressStream;
  silent?: boolean;
  /** Devices on the scale run's one host (default 64 full, 8 quick), raised where needed to reach 100,000 interrupts. */
  scaleDevices?: number;
}

/** Interrupts the heap-per-interrupt figure is measured over, at least. */
export const BYTES_MEASURED_OVER = 100_000;
/** Scale run: 64 devices × 2048 IMS entries on one host. */
export const SCALE_DEVICES = 64;
export const QUICK_SCALE_DEVICES = 8;
/** Goals from the issue. */
export const DELIVER_RATIO_GOAL = 3;
export const DELIVER_SPREAD_GOAL = 0.1;
export const ALLOC_SCALING_GOAL = 1.5;
/** Passes over the allocation curve in full mode; each point keeps its lowest median. */
export const CURVE_PASSES = 2;
/** Interleaved rounds of the delivery measurement. */
export const DELIVERY_ROUNDS = 5;
export const QUICK_DELIVERY_ROUNDS = 3;

const errorOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/**
 * Delivery of every design on one hardware, in interleaved rounds (the designs' order alternating).
 * Each measurement runs in a worker thread of its own, with the baseline beside it in the same
 * isolate, so that JIT state never favours one design. From source (no built worker) the subjects
 * are measured in this process instead.
 */
async function deliveryPhase(hw: ResolvedHardware, profile: TimingProfile, rounds: number): Promise<Map<StrategyName, DeliveryFigures | string>> {
  const workerPath = deliveryWorkerPath();
  if (!workerPath || hw.source === "local") return deliveryInProcess(hw, profile, rounds);
  const out = new Map<StrategyName, DeliveryFigures | string>();
  const results = new Map<StrategyName, DeliveryFigures[]>(STRATEGY_NAMES.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [...STRATEGY_NAMES] : [...STRATEGY_NAMES].reverse();
    for (const strategy of order) {
      if (out.has(strategy)) continue;
      try {
        results.get(strategy)!.push(await measureDeliveryIsolated(workerPath, { hardware: hw.name, strategy, profile }));
      } catch (e) {
        out.set(strategy, `delivery: ${errorOf(e)}`);
      }
    }
  }
  // One baseline for every design: the median of every worker's, so that baseline noise does not
  // show up as a difference between the designs' ratios.
  const pooled = combineRounds([...results.values()].flat());
  for (const [strategy, figures] of results) if (!out.has(strategy) && figures.length > 0) out.set(strategy, { ...combineRounds(figures), baselineNs: pooled.baselineNs, floorNs: pooled.floorNs });
  return out;
}

/** The same measurement in this process (the designs side by side). */
function deliveryInProcess(hw: ResolvedHardware, profile: TimingProfile, rounds: number): Map<StrategyName, DeliveryFigures | string> {
  const out = new Map<StrategyName, DeliveryFigures | string>();
  const cells: CellInstance[] = [];
  const subjects: { strategy: StrategyName; subject: DeliverySubject }[] = [];
  try {
    for (const strategy of STRATEGY_NAMES) {
      try {
        const cell = openCell(hw.adapter, STRATEGIES[strategy], FILL_CPUS);
        cells.push(cell);
        subjects.push({ strategy, subject: prepareDelivery(cell, `${strategy}/${hw.name}`) });
      } catch (e) {
        out.set(strategy, `delivery: ${errorOf(e)}`);
      }
    }
    if (subjects.length > 0) {
      const figures = measureDelivery(subjects.map((s) => s.subject), profile, rounds);
      subjects.forEach((s, i) => out.set(s.strategy, figures[i]!));
    }
  } catch (e) {
    for (const s of subjects) out.set(s.strategy, `delivery: ${errorOf(e)}`);
  } finally {
    for (const s of subjects) s.subject.release();
    for (const c of cells) c.close();
  }
  return out;
}

async function measureCell(
  strategy: StrategyName,
  hw: ResolvedHardware,
  delivery: DeliveryFigures | string | undefined,
  settings: { profile: TimingProfile; quick: boolean; scaleDevices: number },
  progress: Progress,
  scale: ScaleRun[],
): Promise<Cell> {
  const { profile, quick, scaleDevices } = settings;
  const factory = STRATEGIES[strategy];
  const label = cellLabel({ design: DESIGN_LETTER[strategy], strategy, hardware: hw.name });
  progress.start(`${label}: conformance`);
  const conformance = await summarizeConformance(strategy, factory, hw);
  progress.tick();

  progress.start(`${label}: five concerns`);
  let cell: CellInstance | undefined;
  const perf: CellPerf = {
    deliverRatio: null, deliverNs: null, baselineNs: null, floorNs: null, floorRatio: null, adapterRaiseNs: null, adapterRaiseRatio: null, allocScaling: null, teardownScaling: null,
    allocCurve: [], bytesPerInterrupt: null, bytesMeasuredOver: 0, heapBytesPerQueue: null,
  };
  const errors: string[] = [];
  if (typeof delivery === "string") errors.push(delivery);
  else if (delivery) {
    perf.deliverNs = delivery.deliverNs;
    perf.baselineNs = delivery.baselineNs;
    perf.deliverRatio = delivery.deliverNs / delivery.baselineNs;
    perf.floorNs = delivery.floorNs;
    perf.floorRatio = delivery.floorNs / delivery.baselineNs;
    perf.adapterRaiseNs = delivery.adapterRaiseNs;
    perf.adapterRaiseRatio = delivery.adapterRaiseNs / delivery.baselineNs;
  }
  try {
    cell = openCell(hw.adapter, factory, FILL_CPUS);
    const sysfs = measureSysfs(cell, profile);
    const expansion = measureExpansion(cell, profile);
    const iommu = measureIommu(cell);
    const pasid = measurePasid(cell, profile);
    progress.tick();

    cell.close();
    cell = undefined;

    progress.start(`${label}: allocation and teardown against store size`);
    try {
      // On the fill adapter: the NTB conformance adapter's table has only 64 entries.
      cell = openCell(hw.fillAdapter, factory, FILL_CPUS);
      perf.allocCurve = measureAllocCurve(cell, profile, quick ? 1 : CURVE_PASSES);
      perf.allocScaling = scaling(perf.allocCurve, "allocNs");
      perf.teardownScaling = scaling(perf.allocCurve, "freeNs");
    } catch (e) {
      errors.push(`allocation curve: ${errorOf(e)}`);
    }
    progress.tick();
    cell?.close();
    cell = undefined;

    progress.start(`${label}: heap and scale`);
    let storage = storageFailed("the heap run did not run");
    try {
      const entries = storeSize(hw, factory);
      const perDevice = Math.floor(entries / FILL_QUEUE) * FILL_QUEUE;
      const devices = Math.max(scaleDevices, Math.ceil(BYTES_MEASURED_OVER / perDevice));
      const fill = fillHost(hw.fillAdapter, factory, devices, (done) => progress.note(`${done}/${devices} devices filled`));
      perf.bytesPerInterrupt = fill.heapBytesPerInterrupt;
      perf.bytesMeasuredOver = fill.interrupts;
      perf.heapBytesPerQueue = fill.heapBytesPerQueue;
      storage = storageFromFill(fill);
      scale.push({
        strategy, hardware: hw.name, hosts: fill.hosts, cpusPerHost: fill.cpusPerHost, devicesPerHost: fill.devicesPerHost, entriesPerDevice: fill.entriesPerDevice,
        interrupts: fill.interrupts, activated: fill.activated, allocMs: fill.allocMs, activateMs: fill.activateMs, freeMs: fill.freeMs,
        heapBytesPerInterrupt: fill.heapBytesPerInterrupt, peakHeapBytes: fill.peakHeapBytes, peakRssBytes: fill.peakRssBytes, clean: fill.clean,
      });
    } catch (e) {
      errors.push(`heap and scale: ${errorOf(e)}`);
      storage = storageFailed(`heap and scale: ${errorOf(e)}`);
    }
    progress.tick();
    if (errors.length) perf.error = errors.join("; ");
    return { strategy, design: DESIGN_LETTER[strategy], hardware: hw.name, hardwareSource: hw.source, conformance, concerns: { storage, sysfs, expansion, iommu, pasid }, perf };
  } finally {
    cell?.close();
  }
}

/** Store size of the fill adapter's instances. */
function storeSize(hw: ResolvedHardware, factory: (typeof STRATEGIES)[StrategyName]): number {
  const c = openCell(hw.fillAdapter, factory, FILL_CPUS);
  try {
    return c.strategy.store.size;
  } finally {
    c.close();
  }
}

export function checkGoals(cells: Cell[]): GoalCheck[] {
  const goals: GoalCheck[] = [];
  for (const c of cells) {
    const r = c.perf.deliverRatio;
    const floor = c.perf.floorRatio;
    goals.push({ goal: `deliverRatio ≤ ${DELIVER_RATIO_GOAL} (${cellLabel(c)})`, ok: r !== null && r <= DELIVER_RATIO_GOAL, detail: floor === null ? fmt(r) : `${fmt(r)} (the least table dispatch: ${fmt(floor)})` });
  }
  for (const h of HARDWARE_NAMES) {
    const measured = cells.filter((c) => c.hardware === h && c.perf.deliverNs !== null);
    if (measured.length < 2) continue;
    const ns = measured.map((c) => c.perf.deliverNs!);
    const lo = Math.min(...ns);
    const spread = (Math.max(...ns) - lo) / lo;
    goals.push({
      goal: `delivery of the designs within ${DELIVER_SPREAD_GOAL * 100} % (${h})`,
      ok: spread <= DELIVER_SPREAD_GOAL,
      detail: `${(spread * 100).toFixed(1)} % (${measured.map((c) => `${c.design} ${fmt(c.perf.deliverNs, 1)}`).join(", ")} ns; the same path by construction)`,
    });
  }
  for (const c of cells) {
    const s = c.perf.allocScaling;
    goals.push({ goal: `allocScaling ≤ ${ALLOC_SCALING_GOAL} (${cellLabel(c)})`, ok: s !== null && s <= ALLOC_SCALING_GOAL, detail: fmt(s) });
  }
  for (const c of cells) {
    const e = c.concerns.expansion;
    goals.push({ goal: `expansion disturbs and loses nothing (${cellLabel(c)})`, ok: e.error === undefined && e.disturbed === 0 && e.lost === 0, detail: e.error ?? `disturbed ${e.disturbed}, lost ${e.lost} of ${e.raised}` });
  }
  for (const c of cells) {
    // Storage is measured from the heap, over enough queues and interrupts to divide noise away.
    const s = c.concerns.storage;
    const ok = s.error === undefined && s.method === "heap" && s.queues >= STORAGE_MIN_QUEUES && s.interrupts >= STORAGE_MIN_INTERRUPTS && s.bytesPerQueue !== null && s.bytesPerInterrupt !== null;
    goals.push({
      goal: `storage measured from the heap over ≥ ${STORAGE_MIN_QUEUES.toLocaleString("en-US")} queues and ≥ ${STORAGE_MIN_INTERRUPTS.toLocaleString("en-US")} interrupts (${cellLabel(c)})`,
      ok,
      detail: s.error ?? `${fmt(s.bytesPerQueue, 0)} B per queue over ${s.queues.toLocaleString("en-US")}, ${fmt(s.bytesPerInterrupt, 0)} B per interrupt over ${s.interrupts.toLocaleString("en-US")}`,
    });
  }
  for (const c of cells) {
    const f = c.conformance;
    if (f.available) goals.push({ goal: `conformance passes (${cellLabel(c)})`, ok: f.failed === 0, detail: `${f.passed} passed, ${f.failed} failed, ${f.skipped} skipped` });
  }
  return goals;
}

/** Runs the whole matrix and returns the report (nothing written). */
export async function runCompare(options: CompareOptions = {}): Promise<CompareReport> {
  const quick = options.quick ?? false;
  const profile = quick ? QUICK_TIMING : FULL_TIMING;
  const scaleDevices = options.scaleDevices ?? (quick ? QUICK_SCALE_DEVICES : SCALE_DEVICES);
  const rounds = quick ? QUICK_DELIVERY_ROUNDS : DELIVERY_ROUNDS;
  const started = performance.now();
  const progress = new Progress(HARDWARE_NAMES.length * (1 + STRATEGY_NAMES.length * 4), options.progress ?? process.stderr, { silent: options.silent ?? false });
  const hardware = new Map<HardwareName, ResolvedHardware>();
  for (const h of HARDWARE_NAMES) hardware.set(h, await resolveHardware(h));

  const cells: Cell[] = [];
  const scale: ScaleRun[] = [];
  const baselines: number[] = [];
  const floors: number[] = [];
  for (const h of HARDWARE_NAMES) {
    const hw = hardware.get(h)!;
    progress.start(`${h}: delivery of ${STRATEGY_NAMES.map((s) => DESIGN_LETTER[s]).join(", ")}, ${rounds} interleaved rounds`);
    const delivery = await deliveryPhase(hw, profile, rounds);
    for (const d of delivery.values()) {
      if (typeof d === "string") continue;
      baselines.push(d.baselineNs);
      floors.push(d.floorNs);
    }
    progress.tick();
    for (const strategy of STRATEGY_NAMES) {
      cells.push(await measureCell(strategy, hw, delivery.get(strategy), { profile, quick, scaleDevices }, progress, scale));
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  const baselineNs = mean(baselines);
  const report: CompareReport = {
    schema: 1,
    generatedAt: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    durationMs: 0,
    machine: machineInfo(),
    baseline: {
      deliverNs: baselineNs,
      floorNs: mean(floors),
      description:
        "deliverNs: an array of handlers indexed by number, each incrementing a Uint32Array counter, called in turn; floorNs: the least table dispatch, a descriptor looked up per entry, checked not running, counted, marked running around its handler's call (ns per interrupt; means of the per-hardware medians)",
    },
    hardware: [...hardware.values()].map((h) => (h.note ? { name: h.name, source: h.source, note: h.note } : { name: h.name, source: h.source })),
    cells,
    scale: {
      hosts: 1,
      cpusPerHost: SCALE_CPUS,
      devicesPerHost: Math.max(0, ...scale.map((r) => r.devicesPerHost)),
      entriesPerDevice: Math.max(0, ...scale.map((r) => r.entriesPerDevice)),
      runs: scale,
    },
    verdict: buildVerdict(cells),
    samePath: SAME_PATH,
    goals: checkGoals(cells),
  };
  report.durationMs = performance.now() - started;
  progress.finish(`measured ${cells.length} cells`);
  return report;
}

/** Writes DIR/compare.json and DIR/index.html; returns their paths. Throws OutDirError if DIR cannot be used. */
export async function writeReport(report: CompareReport, dir: string): Promise<{ json: string; html: string }> {
  prepareOutDir(dir); // bounded, unlike a recursive mkdir (which spins forever under /proc)
  const json = path.join(dir, "compare.json");
  const html = path.join(dir, "index.html");
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, await renderHtmlReport(report));
  return { json, html };
}
