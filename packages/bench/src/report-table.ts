import type { Cell, CompareReport } from "./compare-report.js";
import { fmt, fmtBytes, textTable, yesNo } from "./format.js";
import { DESIGN_LETTER, STRATEGY_NAMES } from "./matrix.js";

export const cellLabel = (c: Pick<Cell, "design" | "strategy" | "hardware">): string => `${c.design} ${c.strategy} / ${c.hardware}`;

/** The title line of both renderings. */
export const REPORT_TITLE = "design A (subdevice), design B (flat) and mainline (M, Linux v6.2–v6.9)";

/** Rows of the verdict: per concern, the thread's claims, what each design measured, the cheaper one. */
export function verdictRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = ["concern", "claimed for A", "claimed for B", ...STRATEGY_NAMES.map((s) => `measured: ${DESIGN_LETTER[s]} ${s}`), "cheaper"];
  const rows = report.verdict.map((v) => [v.concern, v.claims.A, v.claims.B, ...STRATEGY_NAMES.map((s) => v.measured[s]), v.cheaper]);
  return { header, rows };
}

/** Rows of the five-concern table, shared by the terminal and the HTML report. */
export function concernRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = [
    "cell",
    "conformance",
    "heap B/queue",
    "heap B/irq",
    "sysfs listable",
    "sysfs nodes/queue",
    "devices/queue",
    "records/vector",
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
      `${fmt(storage.bytesPerQueue, 0)} ±${fmt(storage.spread.bytesPerQueue, 0)}`,
      `${fmt(storage.bytesPerInterrupt, 0)} ±${fmt(storage.spread.bytesPerInterrupt, 0)}`,
      sysfs.queueSysfs ? yesNo(sysfs.listable) : "no (none)",
      fmt(sysfs.nodesPerQueue),
      fmt(sysfs.devicesPerQueue),
      fmt(expansion.recordsPerVector),
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

/** How each concern's figures were obtained: one entry per concern, from the first cell that measured it. */
export function concernHow(report: CompareReport): { concern: string; how: string }[] {
  const first = report.cells[0];
  if (!first) return [];
  return (["storage", "sysfs", "expansion", "iommu", "pasid"] as const).map((k) => ({ concern: k, how: (report.cells.find((c) => !c.concerns[k].error) ?? first).concerns[k].how }));
}

export function perfRows(report: CompareReport): { header: string[]; rows: string[][] } {
  const header = ["cell", "deliver ns (same path)", "deliverRatio", "floor ratio", "adapter raise ratio", "allocScaling", "teardownScaling", "bytes/irq (heap)", "alloc ns @16", "alloc ns @max"];
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
    cellLabel({ design: DESIGN_LETTER[r.strategy], strategy: r.strategy, hardware: r.hardware }),
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

/** Wraps `text` at `width` columns, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The verdict as blocks of text, one per concern (the table is too wide for a terminal). */
export function renderVerdictText(report: CompareReport, width = 110): string {
  const out: string[] = [];
  const pad = " ".repeat(12);
  for (const v of report.verdict) {
    out.push(v.concern);
    out.push(`  claimed   ${wrap(`A: ${v.claims.A}`, width, pad)}`);
    out.push(`            ${wrap(`B: ${v.claims.B}`, width, pad)}`);
    STRATEGY_NAMES.forEach((s, i) => out.push(`  ${i === 0 ? "measured" : "        "}  ${wrap(`${DESIGN_LETTER[s]} ${s}: ${v.measured[s]}`, width, pad)}`));
    out.push(`  cheaper   ${wrap(v.cheaper, width, pad)}`);
    out.push(`  how       ${wrap(v.how, width, pad)}`);
  }
  return out.join("\n");
}

/** The readable summary `imsim compare` prints. */
export function renderTextReport(report: CompareReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`imsim compare (${report.mode}): ${REPORT_TITLE} on idxd and ntb`);
  out.push(`machine: ${m.cpuModel}, ${m.cpus} CPUs, ${fmtBytes(m.totalMemoryBytes)}, ${m.platform}/${m.arch}, Node ${m.node}; ran ${(report.durationMs / 1000).toFixed(1)} s`);
  for (const h of report.hardware) if (h.source === "local") out.push(`note: ${h.name} is the bench's local stand-in (${h.note ?? ""})`);
  out.push("");
  out.push("Verdict: what the thread claimed for A and B, what imsim measured for A, B and M (compare.json \"verdict\")");
  out.push(renderVerdictText(report));
  out.push("");
  out.push("Five concerns per cell (conformance = passed/failed/skipped; storage from forced-GC heap deltas)");
  const c = concernRows(report);
  out.push(textTable(c.header, c.rows));
  out.push("");
  out.push("Same path: figures every design obtains through the same code by construction");
  for (const s of report.samePath) out.push(`  ${s.what} (${s.figure}): ${wrap(s.reason, 100, "    ")}`);
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
