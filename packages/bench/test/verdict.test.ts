import { describe, expect, it } from "vitest";
import { buildVerdict, CLAIMS, SAME_PATH } from "../src/verdict.js";
import { fixtureReport } from "./support/fixture.js";

const row = (cells: ReturnType<typeof fixtureReport>["cells"], concern: string) => buildVerdict(cells).find((r) => r.concern === concern)!;

describe("the verdict", () => {
  it("has one row per concern with the thread's claims for A and B", () => {
    const v = buildVerdict(fixtureReport().cells);
    expect(v.map((r) => r.concern)).toEqual(["storage", "sysfs", "expansion", "iommu", "pasid"]);
    for (const r of v) {
      expect(r.claims).toEqual(CLAIMS[r.concern]);
      expect(Object.keys(r.measured).sort()).toEqual(["flat", "mainline", "subdevice"]);
      expect(r.how.length).toBeGreaterThan(20);
    }
    expect(CLAIMS.storage.A).toContain("falls in place");
    expect(CLAIMS.storage.B).toContain("requires extra storage");
    expect(CLAIMS.sysfs.B).toContain("extra mechanisms");
    expect(CLAIMS.expansion.B).toContain("extra indirections");
    expect(CLAIMS.pasid.B).toContain("custom hackery");
    expect(CLAIMS.iommu.B).toContain("no change");
  });

  it("names the cheaper design and by how much, as ranges over the hardware when they rank alike", () => {
    const cells = fixtureReport().cells;
    const storage = row(cells, "storage").cheaper;
    // Per queue B (460) and mainline (470) are equal within 3 %; both 3,040 B or more below A.
    expect(storage).toContain("per queue: B flat and M mainline (equal): 3,040 B per queue less than A (7.61×) (idxd and ntb alike)");
    expect(storage).toContain("Per interrupt: A subdevice: 60 B per interrupt less than B (1.06×), 140 B per interrupt less than M (1.15×)");
    cells.find((c) => c.strategy === "flat" && c.hardware === "ntb")!.concerns.storage.bytesPerQueue = 400;
    expect(row(cells, "storage").cheaper).toMatch(/idxd: B flat and M mainline \(equal\)[^;]*; ntb: B flat: 70 B per queue less than M/);
  });

  it("reads designs closer than their measured spreads as equal", () => {
    const cells = fixtureReport().cells;
    for (const c of cells) if (c.strategy !== "subdevice") c.concerns.storage.spread.bytesPerQueue = 60;
    cells.find((c) => c.strategy === "flat" && c.hardware === "ntb")!.concerns.storage.bytesPerQueue = 400;
    // 470 - 400 = 70 B is within 60 + 60 B of spread: equal on ntb as on idxd.
    expect(row(cells, "storage").cheaper).toContain("per queue: B flat and M mainline (equal)");
    expect(row(cells, "storage").measured.flat).toContain("± 60 B/queue");
  });

  it("says equal when every design is within the tolerance", () => {
    const cells = fixtureReport().cells;
    for (const c of cells) c.concerns.storage.bytesPerInterrupt = 1000 + (c.strategy === "mainline" ? 5 : 0);
    expect(row(cells, "storage").cheaper).toContain("Per interrupt: equal (A 1,000, B 1,000, M 1,005 B per interrupt)");
  });

  it("compares sysfs only among the designs that list a queue's interrupts, and says which list none", () => {
    const r = row(fixtureReport().cells, "sysfs");
    expect(r.cheaper).toContain("A subdevice: 8.25 nodes per queue less than B");
    expect(r.cheaper).not.toMatch(/M mainline:/);
    expect(r.cheaper).toContain("M mainline lists none per queue");
    expect(r.measured.mainline).toContain("not listable per queue");
  });

  it("counts B's indirections on expansion and A's single resolution per queue", () => {
    const cells = fixtureReport().cells;
    expect(row(cells, "expansion").cheaper).toContain("A subdevice: 1 record per vector less than M, 2 records per vector less than B");
    expect(row(cells, "expansion").cheaper).toContain("same path");
    expect(row(cells, "iommu").cheaper).toContain("A subdevice: 0.969 resolutions per interrupt less than B (32×), 0.969 resolutions per interrupt less than M (32×) (idxd and ntb alike)");
    expect(row(cells, "iommu").cheaper).toContain("B and mainline: same path");
  });

  it("judges the PASID lookup on hardware with PASIDs only", () => {
    const r = row(fixtureReport().cells, "pasid");
    expect(r.cheaper).toMatch(/^M mainline: 2 ns per write less than B \(2×\), 6 ns per write less than A \(4×\) \(idxd\)/);
    expect(r.measured.flat).not.toContain("ntb");
  });

  it("lists delivery and expansion among the figures that are the same path by construction", () => {
    const figures = SAME_PATH.map((s) => s.figure).join(" ");
    expect(figures).toContain("perf.deliverNs");
    expect(figures).toContain("concerns.expansion.disturbed");
    for (const s of SAME_PATH) expect(s.reason.length).toBeGreaterThan(40);
  });
});
