import type { Cell, CompareReport } from "./compare-report.js";
import { fmt, fmtBytes, textTable, yesNo } from "./format.js";

export const cellLabel = (c: Pick<Cell, "design" | "strategy" | "hardware">): string => `${c.design} ${c.strategy} / ${c.hardware}`;

/** Rows of the five-concern table, shared by the terminal and the HTML report. */
export function concernRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = [
    "cell",
    "conformance",
    "storage B/queue",
    "B/irq",
    "sysfs listable",
    "extra nodes/queue",
    "expand ns/vec",
    "disturbed",
    "lost",
    "RID res/alloc",
    "aliases ok",
    "PASID lookup ns",
    "rewritten",
  ];
  const rows = report.cells.map((c) => {
    const { storage, sysfs, expansion, iommu, pasid } = c.concerns;
    const conf = c.conformance.available ? `${c.conformance.passed}/${c.conformance.failed}/${c.conformance.skipped}` : "n/a";
    return [
      cellLabel(c),
      conf,
      fmtBytes(storage.perQueue.bytes),
      fmtBytes(storage.perInterrupt.bytes),
      yesNo(sysfs.listable),
      fmt(sysfs.extraNodesPerQueue),
      fmt(expansion.costPerVectorNs, 0),
      String(expansion.disturbed),
      String(expansion.lost),
      fmt(iommu.resolutionsPerAllocation, 3),
      yesNo(iommu.aliasesHonoured),
      pasid.supported ? fmt(pasid.lookupNs, 1) : "n/a",
      pasid.supported ? String(pasid.entriesRewritten) : "n/a",
    ];
  });
  return { header, rows };
}

export function perfRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = ["cell", "deliver ns", "deliverRatio", "floor ratio", "adapter raise ratio", "allocScaling", "teardownScaling", "bytes/irq (heap)", "alloc ns @16", "alloc ns @max"];
  const rows = report.cells.map((c) => {
    const p = c.perf;
    const first = p.allocCurve[0];
    const last = p.allocCurve[p.allocCurve.length - 1];
    return [
      cellLabel(c),
      fmt(p.deliverNs, 1),
      fmt(p.deliverRatio),
      fmt(p.floorRatio),
      fmt(p.adapterRaiseRatio),
      fmt(p.allocScaling),
      fmt(p.teardownScaling),
      fmt(p.bytesPerInterrupt, 0),
      fmt(first?.allocNs, 0),
      last && last !== first ? `${fmt(last.allocNs, 0)} @${last.storeEntries}` : "–",
    ];
  });
  return { header, rows };
}

export function scaleRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = ["cell", "host", "devices", "entries/device", "interrupts", "activated", "alloc ms", "free ms", "heap/interrupt", "peak heap", "peak RSS", "clean"];
  const rows = report.scale.runs.map((r) => [
    cellLabel({ design: r.strategy === "subdevice" ? "A" : "B", strategy: r.strategy, hardware: r.hardware }),
    `${r.hosts} × ${r.cpusPerHost} CPUs`,
    String(r.devicesPerHost),
    String(r.entriesPerDevice),
    r.interrupts.toLocaleString("en-US"),
    r.activated.toLocaleString("en-US"),
    fmt(r.allocMs, 0),
    fmt(r.freeMs, 0),
    `${fmt(r.heapBytesPerInterrupt, 0)} B`,
    fmtBytes(r.peakHeapBytes),
    fmtBytes(r.peakRssBytes),
    yesNo(r.clean),
  ]);
  return { header, rows };
}

/** The readable summary `imsim compare` prints. */
export function renderTextReport(report: CompareReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`imsim compare (${report.mode}): design A (subdevice) vs design B (flat) on idxd and ntb`);
  out.push(`machine: ${m.cpuModel}, ${m.cpus} CPUs, ${fmtBytes(m.totalMemoryBytes)}, ${m.platform}/${m.arch}, Node ${m.node}; ran ${(report.durationMs / 1000).toFixed(1)} s`);
  for (const h of report.hardware) if (h.source === "local") out.push(`note: ${h.name} is the bench's local stand-in (${h.note ?? ""})`);
  out.push("");
  out.push("Five concerns (conformance = passed/failed/skipped)");
  const c = concernRows(report);
  out.push(textTable(c.header, c.rows));
  out.push("");
  out.push(`Performance (deliverRatio: per interrupt / bare handler array, ${fmt(report.baseline.deliverNs, 1)} ns; floor ratio: the least table dispatch / the same; scaling: per-interrupt cost at 2048 entries / at 16)`);
  const p = perfRows(report);
  out.push(textTable(p.header, p.rows));
  out.push("");
  out.push("Scale and heap (every device on one host; every entry of every store allocated, a share requested, then all freed; heap with forced GC)");
  const s = scaleRows(report);
  out.push(textTable(s.header, s.rows));
  out.push("");
  out.push("Goals");
  for (const g of report.goals) out.push(`  ${g.ok ? "ok  " : "MISS"} ${g.goal}: ${g.detail}`);
  return `${out.join("\n")}\n`;
}
