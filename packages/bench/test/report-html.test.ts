import { describe, expect, it } from "vitest";
import { escapeHtml, renderHtmlReport } from "../src/report-html.js";
import { renderTextReport } from "../src/report-table.js";
import { checkGoals } from "../src/compare.js";
import { fixtureReport } from "./support/fixture.js";

describe("the HTML report", () => {
  it("escapes the five characters that matter in content and attributes", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("escapes text from the machine it ran on", async () => {
    const report = fixtureReport();
    report.machine.cpuModel = `<script>alert("x")</script>`;
    const html = await renderHtmlReport(report);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("inlines one SVG per chart, drawn by Vega, with no external resource", async () => {
    const html = await renderHtmlReport(fixtureReport());
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(3);
    for (const svg of svgs) expect(svg).toMatch(/class="marks"/);
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/);
    expect(html).toContain("A subdevice / idxd");
  });
});

describe("goals and the text table", () => {
  it("flags a delivery ratio above 3 and a spread between the designs above 10 %", () => {
    const report = fixtureReport();
    report.cells[0]!.perf.deliverRatio = 3.5;
    report.cells[0]!.perf.deliverNs = 70;
    const goals = checkGoals(report.cells);
    expect(goals.find((g) => g.goal === "deliverRatio ≤ 3 (A subdevice / idxd)")?.ok).toBe(false);
    expect(goals.find((g) => g.goal === "deliverRatio ≤ 3 (B flat / idxd)")?.ok).toBe(true);
    expect(goals.find((g) => g.goal.startsWith("delivery of A and B within 10 % (idxd)"))?.ok).toBe(false);
    expect(goals.find((g) => g.goal.startsWith("delivery of A and B within 10 % (ntb)"))?.ok).toBe(true);
  });

  it("flags a disturbed interrupt during expansion", () => {
    const report = fixtureReport();
    report.cells[3]!.concerns.expansion.disturbed = 1;
    const goal = checkGoals(report.cells).find((g) => g.goal === "expansion disturbs and loses nothing (B flat / ntb)");
    expect(goal).toMatchObject({ ok: false, detail: "disturbed 1, lost 0 of 100" });
  });

  it("cross-checks storage: a footprint larger than the heap it was measured against is flagged", () => {
    const report = fixtureReport();
    expect(checkGoals(report.cells).find((g) => g.goal === "storage footprint within the measured heap (A subdevice / idxd)")).toMatchObject({
      ok: true,
      detail: "150 of 600 B per interrupt, 800 of 2,000 B per queue",
    });
    report.cells[0]!.concerns.storage.perInterrupt.bytes = 700;
    report.cells[1]!.concerns.storage.heapBytesPerQueue = null;
    const goals = checkGoals(report.cells);
    expect(goals.find((g) => g.goal === "storage footprint within the measured heap (A subdevice / idxd)")?.ok).toBe(false);
    expect(goals.find((g) => g.goal === "storage footprint within the measured heap (B flat / idxd)")?.ok).toBe(false);
    expect(goals.find((g) => g.goal === "storage footprint within the measured heap (A subdevice / ntb)")?.ok).toBe(true);
  });

  it("prints every cell in both tables", () => {
    const text = renderTextReport(fixtureReport());
    for (const label of ["A subdevice / idxd", "B flat / idxd", "A subdevice / ntb", "B flat / ntb"]) {
      expect(text.split(label).length - 1).toBeGreaterThanOrEqual(2);
    }
  });
});
