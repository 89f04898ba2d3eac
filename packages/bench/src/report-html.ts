import type { CompareReport } from "./compare-report.js";
import { renderCharts } from "./charts.js";
import { fmt, fmtBytes } from "./format.js";
import { REPORT_TITLE, concernHow, concernRows, perfRows, scaleRows, verdictRows } from "./report-table.js";
import { renderDesignPictures } from "./pictures.js";
import { DESIGN_LETTER } from "./matrix.js";

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
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1680px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}
thead th{background:#f4f4f4;white-space:normal;vertical-align:bottom}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
#verdict td,#verdict th{white-space:normal;text-align:left;vertical-align:top;max-width:15rem}
#verdict td.cheaper{background:#eef6ee;max-width:28rem}
.pictures{display:flex;flex-wrap:nowrap;gap:1rem;align-items:flex-start;margin-bottom:1.5rem;overflow-x:auto}
.pictures figure{margin:0;flex:none}
.pictures svg{display:block;border:1px solid #eee}
dl.samepath{display:block}.samepath dt{font-weight:600;color:#222}.samepath dd{margin:0 0 .6rem 1.5rem}
figure{margin:0}figcaption{color:#555;font-size:.9rem;max-width:640px}
.ok{color:#1a7f37}.miss{color:#b42318;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#555}
code{background:#f4f4f4;padding:0 .2rem}
`;

function verdictTable(report: CompareReport): string {
  const t = verdictRows(report);
  const head = t.header.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  const body = t.rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td${i === r.length - 1 ? ' class="cheaper"' : ""}>${escapeHtml(c)}</td>`)).join("")}</tr>`)
    .join("\n");
  const how = report.verdict.map((v) => `<dt>${escapeHtml(v.concern)}</dt><dd>${escapeHtml(v.how)}</dd>`).join("\n");
  return `<table id="verdict"><caption>The five concerns: what the thread claimed for A and B (tglx, 1 Dec 2021), what imsim measured for A, B and mainline (M), and the cheaper design</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>\n<dl id="verdict-how">\n${how}\n</dl>`;
}

/** The self-contained report: verdict, tables, pictures, inline SVG charts (Vega), goals, machine. No external resource. */
export async function renderHtmlReport(report: CompareReport): Promise<string> {
  const charts = await renderCharts(report);
  const pictures = await renderDesignPictures();
  const pictureHtml = pictures
    .map(
      (p) =>
        `<h3>${escapeHtml(`${DESIGN_LETTER[p.strategy]} ${p.strategy}`)}</h3>\n<div class="pictures" id="pictures-${p.strategy}"><figure>${p.hierarchy}</figure><figure>${p.sysfs}</figure></div>\n<p>${escapeHtml(p.caption)}</p>`,
    )
    .join("\n");
  const samePath = report.samePath.map((s) => `<dt>${escapeHtml(s.what)} <code>${escapeHtml(s.figure)}</code>: same path</dt><dd>${escapeHtml(s.reason)}</dd>`).join("\n");
  const how = concernHow(report).map((h) => `<dt>${escapeHtml(h.concern)}</dt><dd>${escapeHtml(h.how)}</dd>`).join("\n");
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
<title>imsim compare: ${escapeHtml(REPORT_TITLE)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>imsim compare: ${escapeHtml(REPORT_TITLE)}</h1>
<p>The Linux IMS storage debate, measured on simulated IDXD and NTB hardware. Mode <code>${escapeHtml(report.mode)}</code>, generated ${escapeHtml(report.generatedAt)}, ran ${escapeHtml(fmt(report.durationMs / 1000, 1))} s. Performance figures are ratios to baselines measured in the same run.</p>
${notes}
<h2>Verdict</h2>
${verdictTable(report)}
<h2>The five concerns</h2>
${table("concerns", "Per cell: conformance (passed/failed/skipped), storage (forced-GC heap deltas), sysfs, expansion, IOMMU, PASID", concernRows(report))}
<h3>How each figure was obtained</h3>
<dl id="concern-how">
${how}
</dl>
<h3>Same path</h3>
<p>Figures every design obtains through the same code by construction; a difference between them is the run's noise, not the design.</p>
<dl class="samepath" id="same-path">
${samePath}
</dl>
<h2>Pictures: the default IDXD scenario per design</h2>
<p>The scenario of <code>imsim show --hardware idxd</code>. Left (the pair scrolls sideways where the window is narrower): devices (grey) and irq domains (blue), each arrow from parent to child (VECTOR → remapping unit → per-device domain, device → its domain, device → child device); each per-device domain shows its descriptor count, where the descriptors live; the design's record for each queue (orange) points to the domain holding its descriptors, with the queue's PASID and the instance cookie its descriptors carry. Right: the sysfs tree under the PCI function a user would browse (without each device's <code>uevent</code> and <code>irq</code> files), a queue's own directory in orange. Laid out by ELK's layered algorithm (elkjs).</p>
<div id="pictures">
${pictureHtml}
</div>
<h2>Performance</h2>
${table("perf", `deliverRatio = raise → handler / bare handler array (${fmt(report.baseline.deliverNs, 1)} ns); floor ratio = the least table dispatch (descriptor lookup, running check, count, handler call) / the same; scaling = per-interrupt cost at the largest store / at 16 entries`, perfRows(report))}
<div class="charts">
<figure class="chart" id="chart-alloc">${charts.alloc}<figcaption>Cost per interrupt allocated when the store holds N entries (N/16 queues of 16). Flat lines mean allocation does not slow down as the store fills.</figcaption></figure>
<figure class="chart" id="chart-free">${charts.free}<figcaption>Cost per interrupt freed at the same occupancies.</figcaption></figure>
<figure class="chart" id="chart-delivery">${charts.delivery}<figcaption>Raise → handler for each cell against the bare baseline (an array of handlers indexed by number). Same path for every design: after allocation no design code runs, so the designs' bars differ only by the run's noise.</figcaption></figure>
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
