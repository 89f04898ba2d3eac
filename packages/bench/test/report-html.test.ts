import { describe, expect, it } from "vitest";
import { escapeHtml, renderHtmlReport } from "../src/report-html.js";
import { renderTextReport } from "../src/report-table.js";
import { checkGoals } from "../src/compare.js";
import { STRATEGY_NAMES } from "../src/matrix.js";
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

  it("inlines one SVG per chart (Vega) and two pictures per design (ELK), with no external resource", async () => {
    const html = await renderHtmlReport(fixtureReport());
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(3 + 2 * STRATEGY_NAMES.length);
    expect(svgs.filter((svg) => /class="marks"/.test(svg))).toHaveLength(3);
    for (const s of STRATEGY_NAMES) {
      for (const kind of ["hierarchy", "sysfs"]) {
        const svg = svgs.find((x) => x.includes(`id="pic-${s}-${kind}"`));
        expect(svg, `pic-${s}-${kind}`).toBeDefined();
        expect(svg).toMatch(/<title id="pic-[a-z]+-[a-z]+-title">[^<]+<\/title>/);
        expect(svg!.match(/<rect /g)!.length).toBeGreaterThan(2);
      }
    }
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/);
    expect(html).toContain("A subdevice / idxd");
    expect(html).toContain("M mainline / ntb");
  });

  it("puts the verdict first: its table comes before the concern table, one row per concern", async () => {
    const html = await renderHtmlReport(fixtureReport());
    expect(html.indexOf('id="verdict"')).toBeGreaterThan(0);
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('id="concerns"'));
    const verdict = /<table id="verdict">[\s\S]*?<\/table>/.exec(html)![0];
    expect(verdict.match(/<tr>/g)).toHaveLength(1 + 5);
    for (const concern of ["storage", "sysfs", "expansion", "iommu", "pasid"]) expect(verdict).toContain(`<th scope="row">${concern}</th>`);
    expect(verdict).toContain("falls in place");
    expect(verdict).toContain("custom hackery");
  });

  it("says how every concern figure was obtained and which figures are the same path", async () => {
    const html = await renderHtmlReport(fixtureReport());
    for (const how of ["fixture storage how", "fixture sysfs how", "fixture expansion how", "fixture iommu how", "fixture pasid how"]) expect(html).toContain(how);
    const same = /<dl class="samepath" id="same-path">[\s\S]*?<\/dl>/.exec(html)![0];
    expect(same).toContain("perf.deliverNs");
    expect(same).toContain("same path");
  });

  it("draws each design's own structure: child devices for A, a queue table for B, vector contexts for mainline", async () => {
    const html = await renderHtmlReport(fixtureReport());
    const pic = (s: string, kind: string) => new RegExp(`<svg[^>]*id="pic-${s}-${kind}"[\\s\\S]*?</svg>`).exec(html)![0];
    expect(pic("subdevice", "hierarchy")).toContain("device on bus subdevice");
    expect(pic("flat", "hierarchy")).not.toContain("device on bus subdevice");
    expect(pic("flat", "hierarchy")).toContain("queue row");
    expect(pic("mainline", "hierarchy")).toContain("per-vector context");
    expect(pic("flat", "sysfs")).toContain("ims_queues/");
    expect(pic("mainline", "sysfs")).not.toContain("ims_queues/");
    expect(pic("mainline", "sysfs")).not.toContain('class="node queue-dir"');
    expect(pic("subdevice", "sysfs")).toContain('class="node queue-dir"');
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
    expect(goals.find((g) => g.goal.startsWith("delivery of the designs within 10 % (idxd)"))?.ok).toBe(false);
    expect(goals.find((g) => g.goal.startsWith("delivery of the designs within 10 % (ntb)"))?.ok).toBe(true);
  });

  it("flags a disturbed interrupt during expansion", () => {
    const report = fixtureReport();
    report.cells[4]!.concerns.expansion.disturbed = 1;
    const goal = checkGoals(report.cells).find((g) => g.goal === "expansion disturbs and loses nothing (B flat / ntb)");
    expect(goal).toMatchObject({ ok: false, detail: "disturbed 1, lost 0 of 100" });
  });

  it("requires storage from the heap over at least 1,000 queues and 10,000 interrupts", () => {
    const report = fixtureReport();
    const goal = (label: string) => checkGoals(report.cells).find((g) => g.goal === `storage measured from the heap over ≥ 1,000 queues and ≥ 10,000 interrupts (${label})`);
    expect(goal("A subdevice / idxd")).toMatchObject({ ok: true, detail: "3,500 B per queue over 1,568, 940 B per interrupt over 100,352" });
    report.cells[0]!.concerns.storage.queues = 999;
    report.cells[1]!.concerns.storage.bytesPerInterrupt = null;
    expect(goal("A subdevice / idxd")?.ok).toBe(false);
    expect(goal("B flat / idxd")?.ok).toBe(false);
    expect(goal("M mainline / idxd")?.ok).toBe(true);
  });

  it("prints the verdict first, then every cell in both tables", () => {
    const text = renderTextReport(fixtureReport());
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^imsim compare \(quick\): design A \(subdevice\), design B \(flat\) and mainline/);
    expect(text.indexOf("Verdict")).toBeLessThan(text.indexOf("Five concerns"));
    for (const concern of ["storage", "sysfs", "expansion", "iommu", "pasid"]) expect(lines).toContain(concern);
    for (const label of ["A subdevice / idxd", "B flat / idxd", "M mainline / idxd", "A subdevice / ntb", "B flat / ntb", "M mainline / ntb"]) {
      expect(text.split(label).length - 1).toBeGreaterThanOrEqual(2);
    }
  });
});
