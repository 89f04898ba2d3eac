import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystem, Entry16Store } from "@imsim/core";
import { renderHtmlReport } from "../src/report-html.js";
import { hierarchyGraph, renderPicture, sysfsGraph } from "../src/pictures.js";
import { STRATEGIES } from "../src/matrix.js";
import { findChromium, openPage } from "./support/browser.js";
import { checkPictures } from "./support/pictures.js";
import { fixtureReport } from "./support/fixture.js";

function small(strategy: keyof typeof STRATEGIES) {
  const system = createSystem({ cpus: 2, interruptRemapping: true });
  const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size: 16, requesterId: host.requesterId, pasid: true });
  const s = STRATEGIES[strategy](system, host, store);
  s.createQueue({ name: "q0", nvec: 2, pasid: 5, slice: { base: 0, count: 4 } });
  s.createQueue({ name: "q1", nvec: 1, slice: { base: 4, count: 4 } });
  return { system, s };
}

describe("the pictures' graphs", () => {
  it("link each queue's record to the domain holding its descriptors, and each domain to its parent and its device", () => {
    const { system, s } = small("flat");
    const g = hierarchyGraph(system, s, "t");
    const ims = system.domains().find((d) => d.kind === "ims")!;
    const imsId = `dom:${ims.name}`;
    expect(g.edges).toContainEqual({ from: "rec:q0", to: imsId, label: "descriptors in" });
    expect(g.edges).toContainEqual({ from: "rec:q1", to: imsId, label: "descriptors in" });
    expect(g.edges).toContainEqual({ from: `dom:${ims.irqDomain.parent!.name}`, to: imsId });
    expect(g.edges).toContainEqual({ from: "dev:0000:6a:01.0", to: imsId });
    expect(g.nodes.find((n) => n.id === imsId)!.lines).toContain("3 descriptors (msi_desc)");
    expect(g.nodes.find((n) => n.id === "rec:q0")!.lines).toContain("PASID 0x5 · cookie 0x1");
  });

  it("give design A's records their child devices, and mainline's the PASID as the descriptors' cookie", () => {
    const a = small("subdevice");
    const g = hierarchyGraph(a.system, a.s, "t");
    expect(g.edges).toContainEqual({ from: "rec:q0", to: "dev:q0", label: "is" });
    expect(g.edges).toContainEqual({ from: "dev:0000:6a:01.0", to: "dev:q0" });
    const m = small("mainline");
    expect(hierarchyGraph(m.system, m.s, "t").nodes.find((n) => n.id === "rec:q0")!.lines).toContain("PASID 0x5 · cookie 0x5");
  });

  it("build the sysfs tree from the view, without uevent and irq files, marking each queue's directory", () => {
    const { system, s } = small("subdevice");
    const dirs = new Set(s.queues().map((q) => s.queueSysfsDir(q).replace(/\/msi_irqs$/, "")));
    const g = sysfsGraph(system, s.host.sysfsPath, dirs, "t");
    const ids = g.nodes.map((n) => n.id);
    expect(ids.some((id) => id.endsWith("/uevent") || id.endsWith("/irq"))).toBe(false);
    expect(g.nodes.filter((n) => n.kind === "queue-dir").map((n) => n.lines[0])).toEqual(["q0/", "q1/"]);
    const virqs = s.irqs(s.queues()[0]!).map((i) => `${s.host.sysfsPath}/q0/msi_irqs/${i.virq}`);
    for (const v of virqs) expect(ids).toContain(v);
    expect(g.edges).toContainEqual({ from: s.host.sysfsPath, to: `${s.host.sysfsPath}/q0` });
  });

  it("are laid out by ELK: every box at a position of its own, every edge routed", async () => {
    const { system, s } = small("flat");
    const svg = await renderPicture(hierarchyGraph(system, s, "flat test"), "t1");
    const boxes = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)"/g)].map((m) => `${m[1]},${m[2]}`);
    expect(boxes.length).toBeGreaterThan(3);
    expect(new Set(boxes).size).toBe(boxes.length);
    expect(svg.match(/<polyline class="edge"/g)!.length).toBeGreaterThanOrEqual(hierarchyGraph(system, s, "x").edges.length);
    expect(svg).toContain("<title id=\"t1-title\">flat test</title>");
  });
});

const executablePath = findChromium();
const browserMissing = !executablePath && !process.env["CI"];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "imsim-pictures-"));
  await writeFile(path.join(dir, "index.html"), await renderHtmlReport(fixtureReport()));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the pictures in headless Chromium", () => {
  it.skipIf(browserMissing)(
    `are present and readable (text ≥ 10 px inside its boxes, no boxes overlapping), with no console errors${browserMissing ? " [skipped: no /usr/bin/chromium or chromium-headless-shell; apt-get install -y --no-install-recommends chromium]" : ""}`,
    async () => {
      if (!executablePath) throw new Error("no Chromium: apt-get install -y --no-install-recommends chromium");
      const { browser, page, errors } = await openPage(executablePath);
      try {
        await page.goto(pathToFileURL(path.join(dir, "index.html")).href, { waitUntil: "load" });
        await checkPictures(page);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
