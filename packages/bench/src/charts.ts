import type * as Vega from "vega";
import type { CompareReport } from "./compare-report.js";
import { cellLabel } from "./report-table.js";
import { ALLOC_CURVE_SIZES } from "./measure-perf.js";

// Chart specs in the Vega grammar, rendered headless to SVG strings (renderer "none" + toSVG):
// no canvas, no DOM, no network. The HTML report inlines the SVG.

const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"];

// vega's ESM build has top-level await, so require() cannot load it: the CJS build of this package
// imports it lazily. The specifier is a variable so that the bundler keeps a real import().
const VEGA = "vega";
let vegaModule: Promise<typeof Vega> | undefined;
function loadVega(): Promise<typeof Vega> {
  vegaModule ??= import(VEGA) as Promise<typeof Vega>;
  return vegaModule;
}

/** Renders a Vega spec to an SVG string. */
export async function renderSvg(spec: Vega.Spec): Promise<string> {
  const vega = await loadVega();
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Cost per interrupt against store occupancy, one line per cell (x on a log2 scale). */
export function curveSpec(report: CompareReport, key: "allocNs" | "freeNs", title: string, yTitle: string): Vega.Spec {
  const values = report.cells.flatMap((c) => c.perf.allocCurve.map((p) => ({ cell: cellLabel(c), entries: p.storeEntries, ns: p[key] })));
  const most = Math.max(...values.map((v) => v.entries));
  const ticks = ALLOC_CURVE_SIZES.filter((n) => n <= most);
  return {
    width: 520,
    height: 260,
    padding: 8,
    background: "white",
    title: { text: title, anchor: "start", fontSize: 14 },
    data: [{ name: "points", values }],
    scales: [
      { name: "x", type: "log", base: 2, domain: { data: "points", field: "entries" }, range: "width" },
      { name: "y", type: "linear", domain: { data: "points", field: "ns" }, range: "height", nice: true, zero: true },
      { name: "color", type: "ordinal", domain: { data: "points", field: "cell" }, range: COLORS },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "IMS entries in use (log scale)", values: ticks, format: "d" },
      { orient: "left", scale: "y", title: yTitle, grid: true },
    ],
    legends: [{ stroke: "color", title: "cell", orient: "right", symbolType: "stroke" }],
    marks: [
      {
        type: "group",
        from: { facet: { name: "series", data: "points", groupby: "cell" } },
        marks: [
          {
            type: "line",
            from: { data: "series" },
            sort: { field: "datum.entries" },
            encode: {
              enter: {
                x: { scale: "x", field: "entries" },
                y: { scale: "y", field: "ns" },
                stroke: { scale: "color", field: "cell" },
                strokeWidth: { value: 2 },
              },
            },
          },
          {
            type: "symbol",
            from: { data: "series" },
            encode: {
              enter: {
                x: { scale: "x", field: "entries" },
                y: { scale: "y", field: "ns" },
                fill: { scale: "color", field: "cell" },
                size: { value: 36 },
                tooltip: { signal: "datum.cell + ': ' + format(datum.ns, '.0f') + ' ns at ' + datum.entries" },
              },
            },
          },
        ],
      },
    ],
  };
}

/** Delivery cost per interrupt of each cell beside the bare baseline, with the ratio printed. */
export function deliverySpec(report: CompareReport): Vega.Spec {
  const values = [
    { label: "baseline (handler array)", ns: report.baseline.deliverNs, kind: "baseline", note: "1.00×" },
    { label: "least table dispatch", ns: report.baseline.floorNs, kind: "baseline", note: `${(report.baseline.floorNs / report.baseline.deliverNs).toFixed(2)}×` },
    ...report.cells
      .filter((c) => c.perf.deliverNs !== null)
      .map((c) => ({ label: cellLabel(c), ns: c.perf.deliverNs!, kind: "cell", note: `${(c.perf.deliverRatio ?? 0).toFixed(2)}×` })),
  ];
  return {
    width: 520,
    height: values.length * 30,
    padding: 8,
    background: "white",
    title: { text: "Delivery: raise → handler, ns per interrupt", anchor: "start", fontSize: 14 },
    data: [{ name: "bars", values }],
    scales: [
      { name: "y", type: "band", domain: { data: "bars", field: "label" }, range: "height", padding: 0.25 },
      { name: "x", type: "linear", domain: { data: "bars", field: "ns" }, range: "width", nice: true, zero: true },
      { name: "color", type: "ordinal", domain: ["baseline", "cell"], range: ["#9d9d9d", "#4c78a8"] },
    ],
    axes: [
      { orient: "left", scale: "y" },
      { orient: "bottom", scale: "x", title: "ns per interrupt (ratio to the baseline at the bar's end)", grid: true },
    ],
    marks: [
      {
        type: "rect",
        from: { data: "bars" },
        encode: {
          enter: {
            y: { scale: "y", field: "label" },
            height: { scale: "y", band: 1 },
            x: { scale: "x", value: 0 },
            x2: { scale: "x", field: "ns" },
            fill: { scale: "color", field: "kind" },
          },
        },
      },
      {
        type: "text",
        from: { data: "bars" },
        encode: {
          enter: {
            y: { scale: "y", field: "label", band: 0.5 },
            x: { scale: "x", field: "ns", offset: 4 },
            baseline: { value: "middle" },
            text: { field: "note" },
            fontSize: { value: 11 },
          },
        },
      },
    ],
  };
}

export interface RenderedCharts {
  alloc: string;
  free: string;
  delivery: string;
}

export async function renderCharts(report: CompareReport): Promise<RenderedCharts> {
  const [alloc, free, delivery] = await Promise.all([
    renderSvg(curveSpec(report, "allocNs", "Allocation cost against store size", "ns per interrupt allocated")),
    renderSvg(curveSpec(report, "freeNs", "Teardown cost against store size", "ns per interrupt freed")),
    renderSvg(deliverySpec(report)),
  ]);
  return { alloc, free, delivery };
}
