import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompareReport } from "../src/compare-report.js";
import { ACTIVATE_EVERY, SCALE_CPUS } from "../src/measure-scale.js";
import { runCli, type CliResult } from "./support/cli.js";
import { findChromium, openPage } from "./support/browser.js";
import { checkPictures } from "./support/pictures.js";

// One real `imsim compare --quick` run (about 20 s on 2 cores) feeds every test of this file.
// Figures are timings: the tests check shape, finiteness and the correctness counters, never speed.

let dir: string;
let run: CliResult;
let report: CompareReport;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "imsim-compare-"));
  run = await runCli(["compare", "--quick", "--json", "--out", dir], { timeoutMs: 110_000 });
  if (run.code !== 0) throw new Error(`compare --quick exited ${run.code}: ${run.stderr}`);
  report = JSON.parse(await readFile(path.join(dir, "compare.json"), "utf8")) as CompareReport;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const finitePositive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;

describe("imsim compare --quick", () => {
  it("prints the same report as JSON on stdout that it wrote to compare.json, and plain progress lines on stderr", () => {
    expect(JSON.parse(run.stdout)).toEqual(report);
    expect(run.stderr).toMatch(/^\[1\/\d+\] idxd: delivery/m);
    expect(run.stderr).not.toContain("\r");
  });

  it("has the top-level fields: schema 1, machine, baseline, six cells, scale, verdict, same path", () => {
    expect(report.schema).toBe(1);
    expect(report.mode).toBe("quick");
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version });
    expect(finitePositive(report.baseline.deliverNs)).toBe(true);
    expect(report.cells.map((c) => `${c.strategy}/${c.hardware}`).sort()).toEqual(["flat/idxd", "flat/ntb", "mainline/idxd", "mainline/ntb", "subdevice/idxd", "subdevice/ntb"]);
    expect(report.scale.runs.length).toBeGreaterThan(0);
    expect(report.verdict.map((v) => v.concern)).toEqual(["storage", "sysfs", "expansion", "iommu", "pasid"]);
    expect(report.samePath.map((s) => s.figure)).toContain("perf.deliverNs");
  });

  it("gives every cell a conformance summary, the five concerns (each saying how it was obtained) and the perf figures", () => {
    for (const c of report.cells) {
      expect(Object.keys(c.conformance)).toEqual(expect.arrayContaining(["passed", "failed", "skipped"]));
      // the real suite ran on the real hardware package: at least its 30 bad-input cases passed, none failed
      expect(c.hardwareSource).toBe(c.hardware === "idxd" ? "@imsim/hw-idxd" : "@imsim/hw-ntb");
      expect(c.conformance).toMatchObject({ available: true, failed: 0, failures: [] });
      expect(c.conformance.passed).toBeGreaterThanOrEqual(30);
      expect(Object.keys(c.concerns).sort()).toEqual(["expansion", "iommu", "pasid", "storage", "sysfs"]);
      for (const concern of Object.values(c.concerns)) {
        expect((concern as { error?: string }).error).toBeUndefined();
        expect((concern as { how: string }).how.length).toBeGreaterThan(40);
      }
      expect(c.perf.error).toBeUndefined();
      for (const k of ["deliverRatio", "floorNs", "floorRatio", "allocScaling", "teardownScaling", "bytesPerInterrupt"] as const) {
        expect(finitePositive(c.perf[k]), `${c.strategy}/${c.hardware} perf.${k} = ${c.perf[k]}`).toBe(true);
      }
      expect(c.perf.bytesMeasuredOver).toBeGreaterThanOrEqual(100_000);
    }
  });

  it("measures storage from the heap, over at least 1,000 queues and 10,000 interrupts even in quick mode, and names the design's records", () => {
    for (const c of report.cells) {
      const s = c.concerns.storage;
      expect(s.method).toBe("heap");
      expect(s.queues).toBeGreaterThanOrEqual(1_000);
      expect(s.interrupts).toBeGreaterThanOrEqual(10_000);
      expect(finitePositive(s.bytesPerQueue) && finitePositive(s.bytesPerInterrupt)).toBe(true);
      expect(s.bytesPerInterrupt).toBe(c.perf.bytesPerInterrupt);
      expect(s.records.length).toBeGreaterThan(0);
      for (const r of s.records) expect(Object.keys(r).sort()).toEqual(["count", "per", "what"]);
      expect(report.goals.find((g) => g.goal.startsWith("storage measured from the heap") && g.goal.endsWith(`(${c.design} ${c.strategy} / ${c.hardware})`))?.ok).toBe(true);
    }
  });

  it("finds expansion disturbs and loses nothing, and every queue listable from sysfs where the design has a per-queue directory", () => {
    for (const c of report.cells) {
      const e = c.concerns.expansion;
      expect(e.raised).toBeGreaterThan(0);
      expect(e.disturbed).toBe(0);
      expect(e.lost).toBe(0);
      expect(c.concerns.sysfs.queueSysfs).toBe(c.strategy !== "mainline");
      expect(c.concerns.sysfs.listable).toBe(c.strategy !== "mainline");
    }
  });

  it("measures what separates the designs: A's child devices and single resolution, B's attribute groups and indirections, mainline's contexts", () => {
    for (const c of report.cells) {
      const { sysfs, iommu, expansion } = c.concerns;
      expect(iommu.queryResolutions).toBe(0);
      expect(iommu.aliasesHonoured).toBe(true);
      if (c.strategy === "subdevice") {
        expect(sysfs).toMatchObject({ extraNodes: 0, devicesPerQueue: 1 });
        expect(iommu.resolutionsPerAllocation).toBeLessThan(1);
        expect(expansion.recordsPerVector).toBe(0);
      } else {
        expect(sysfs.devicesPerQueue).toBe(0);
        expect(iommu.resolutionsPerAllocation).toBe(1);
      }
      if (c.strategy === "flat") {
        expect(sysfs.extraNodes).toBeGreaterThan(0);
        expect(expansion.recordsPerVector).toBe(2);
      }
      if (c.strategy === "mainline") {
        expect(sysfs).toMatchObject({ extraNodes: 0, nodesPerQueue: 0, listNs: null });
        expect(expansion.recordsPerVector).toBe(1);
      }
      if (c.hardware === "idxd") {
        expect(c.concerns.pasid).toMatchObject({ supported: true, applied: true, otherEntriesTouched: 0 });
        expect(c.concerns.pasid.entriesRewritten).toBe(c.concerns.pasid.queueInterrupts);
      }
    }
  });

  it("frees everything in the scale runs", () => {
    expect(report.scale.runs.length).toBe(6);
    for (const r of report.scale.runs) {
      expect(r.clean).toBe(true);
      expect({ hosts: r.hosts, cpusPerHost: r.cpusPerHost }).toEqual({ hosts: 1, cpusPerHost: SCALE_CPUS });
      expect(r.interrupts).toBe(r.devicesPerHost * r.entriesPerDevice);
      // A share is requested: more interrupts than the host has vectors, most of them only reserved.
      expect(r.activated).toBe(Math.ceil(r.entriesPerDevice / ACTIVATE_EVERY) * r.devicesPerHost);
      expect(finitePositive(r.peakHeapBytes) && finitePositive(r.heapBytesPerInterrupt)).toBe(true);
    }
  });

  it("writes a self-contained index.html", async () => {
    const html = await readFile(path.join(dir, "index.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    const urls = [...html.matchAll(/(?:src|href)\s*=\s*["']([^"']+)/g)].map((m) => m[1]);
    expect(urls).toEqual([]);
    expect(html.match(/<svg/g)?.length).toBe(3 + 2 * 3);
  });
});

const executablePath = findChromium();
const browserMissing = !executablePath && !process.env["CI"];

describe("the HTML report in headless Chromium", () => {
  it.skipIf(browserMissing)(
    `renders the verdict, the concern table, the three charts and the six pictures, readable and without console errors${browserMissing ? " [skipped: no /usr/bin/chromium or chromium-headless-shell; apt-get install -y --no-install-recommends chromium]" : ""}`,
    async () => {
      if (!executablePath) throw new Error("no Chromium: apt-get install -y --no-install-recommends chromium");
      const { browser, page, errors: consoleErrors } = await openPage(executablePath);
      try {
        const requests: string[] = [];
        page.on("request", (r) => requests.push(r.url()));
        await page.goto(pathToFileURL(path.join(dir, "index.html")).href, { waitUntil: "load" });
        expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);

        const rows = await page.locator("#concerns tbody tr").allTextContents();
        expect(rows).toHaveLength(6);
        expect(rows.join("\n")).toMatch(/A subdevice \/ idxd/);
        expect(rows.join("\n")).toMatch(/M mainline \/ ntb/);
        expect(await page.locator("#perf tbody tr").count()).toBe(6);
        expect(await page.locator("#machine").textContent()).toContain(report.machine.node);
        // The verdict is the first table of the page, one row per concern.
        expect(await page.locator("table").first().getAttribute("id")).toBe("verdict");
        expect(await page.locator("#verdict tbody tr").count()).toBe(5);

        for (const id of ["chart-alloc", "chart-free", "chart-delivery"]) {
          const svg = page.locator(`#${id} svg`);
          const box = await svg.boundingBox();
          expect(box?.width, id).toBeGreaterThan(200);
          expect(box?.height, id).toBeGreaterThan(100);
        }
        // Marks drawn: one line per cell in the allocation chart, one bar per cell plus the baseline and the least table dispatch.
        expect(await page.locator("#chart-alloc svg .mark-line path").count()).toBe(6);
        expect(await page.locator("#chart-delivery svg .mark-rect path").count()).toBe(8);
        const legend = await page.locator("#chart-alloc svg").textContent();
        expect(legend).toContain("M mainline / ntb");
        await checkPictures(page);
        expect(consoleErrors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
