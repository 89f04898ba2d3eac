import type { CompareReport } from "./compare-report.js";
import { renderCharts } from "./charts.js";
import { fmt, fmtBytes } from "./format.js";
import { concernRows, perfRows, scaleRows } from "./report-table.js";

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function table(id: string, caption: string, t: { header: string[]; rows: string[][] }): string {
  const head = t.header.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`).join("\n");
  return `<table id="${id}"><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}
thead th{background:#f4f4f4;white-space:normal;vertical-align:bottom}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{color:#555;font-size:.9rem;max-width:640px}
.ok{color:#1a7f37}.miss{color:#b42318;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#555}
code{background:#f4f4f4;padding:0 .2rem}
`;

/** The self-contained report: tables, inline SVG charts (Vega), goals, machine. No external resource. */
export async function renderHtmlReport(report: CompareReport): Promise<string> {
  const charts = await renderCharts(report);
  const m = report.machine;
  const goals = report.goals
    .map((g) => `<li class="${g.ok ? "ok" : "miss"}">${g.ok ? "✓" : "✗"} ${escapeHtml(g.goal)}: ${escapeHtml(g.detail)}</li>`)
    .join("\n");
  const notes = report.hardware
    .filter((h) => h.source === "local")
    .map((h) => `<p class="miss">Hardware <code>${escapeHtml(h.name)}</code> ran on the bench's local stand-in: ${escapeHtml(h.note ?? "")}</p>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imsim compare: design A (subdevice) vs design B (flat)</title>
<style>${STYLE}</style>
</head>
<body>
<h1>imsim compare: design A (subdevice) vs design B (flat)</h1>
<p>The Linux IMS storage debate, measured on simulated IDXD and NTB hardware. Mode <code>${escapeHtml(report.mode)}</code>, generated ${escapeHtml(report.generatedAt)}, ran ${escapeHtml(fmt(report.durationMs / 1000, 1))} s. Performance figures are ratios to baselines measured in the same run.</p>
${notes}
<h2>The five concerns</h2>
${table("concerns", "Per cell: conformance (passed/failed/skipped), storage, sysfs, expansion, IOMMU, PASID", concernRows(report))}
<h2>Performance</h2>
${table("perf", `deliverRatio = raise → handler / bare handler array (${fmt(report.baseline.deliverNs, 1)} ns); floor ratio = the least table dispatch (descriptor lookup, running check, count, handler call) / the same; scaling = per-interrupt cost at the largest store / at 16 entries`, perfRows(report))}
<div class="charts">
<figure class="chart" id="chart-alloc">${charts.alloc}<figcaption>Cost per interrupt allocated when the store holds N entries (N/16 queues of 16). Flat lines mean allocation does not slow down as the store fills.</figcaption></figure>
<figure class="chart" id="chart-free">${charts.free}<figcaption>Cost per interrupt freed at the same occupancies.</figcaption></figure>
<figure class="chart" id="chart-delivery">${charts.delivery}<figcaption>Raise → handler for each cell against the bare baseline (an array of handlers indexed by number).</figcaption></figure>
</div>
<h2>Scale</h2>
${table("scale", "Every device on one host; every entry of every store allocated, a share requested (activated), then all freed (heap read with forced GC)", scaleRows(report))}
<h2>Goals</h2>
<ul id="goals">
${goals}
</ul>
<h2>Machine</h2>
<dl id="machine">
<dt>CPU</dt><dd>${escapeHtml(m.cpuModel)} (${m.cpus} CPUs)</dd>
<dt>Memory</dt><dd>${escapeHtml(fmtBytes(m.totalMemoryBytes))}</dd>
<dt>OS</dt><dd>${escapeHtml(`${m.platform} ${m.release} ${m.arch}`)}</dd>
<dt>Node</dt><dd>${escapeHtml(`${m.node} (V8 ${m.v8})`)}</dd>
</dl>
</body>
</html>
`;
}
