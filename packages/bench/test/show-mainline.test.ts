import { describe, expect, it } from "vitest";
import { show } from "../src/show.js";
import { defaultScenario } from "../src/scenario.js";
import { STRATEGIES } from "../src/matrix.js";
import { runCli } from "./support/cli.js";

// `imsim show --strategy mainline`: the same scenarios with the design Linux v6.2-v6.9 shipped.
describe("imsim show --strategy mainline", () => {
  it("puts every IMS interrupt on the host's secondary domain and lists none of them in sysfs", async () => {
    const r = await runCli(["show", "--hardware", "idxd", "--strategy", "mainline"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/IR-PCI-IDXD-0000:6a:01\.0\s+\d+-edge\s+vfio-msix\[3\]\(vdsa0\)/);
    expect(r.stdout).not.toMatch(/PCI-IDXD-vdsa0/);
    const sysfs = show("idxd", "mainline", "sysfs");
    expect(sysfs).not.toMatch(/ims_queues/);
    // The host's msi_irqs/ holds its MSI-X vectors only: the IMS domain asks for no msi_irqs/ files.
    const listed = [...sysfs.matchAll(/^==> \/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/msi_irqs\/(\d+) <==\nmsix$/gm)].map((m) => Number(m[1]));
    const s = defaultScenario("idxd", STRATEGIES.mainline);
    try {
      const host = s.hosts[0]!;
      const ims = host.strategy.queues().flatMap((q) => host.strategy.irqs(q).map((i) => i.virq));
      expect(ims.length).toBeGreaterThan(0);
      expect(listed.length).toBeGreaterThan(0);
      for (const virq of ims) expect(listed).not.toContain(virq);
    } finally {
      s.teardown();
    }
  });

  it("prints every view of both hardware models", () => {
    for (const hardware of ["idxd", "ntb"] as const) {
      for (const view of ["proc-interrupts", "sysfs", "irq", "domains", "debug-irqs"] as const) {
        const out = show(hardware, "mainline", view);
        expect(out.length, `${hardware} ${view}`).toBeGreaterThan(0);
        expect(out, `${hardware} ${view}`).not.toMatch(/undefined|NaN|\[object /);
      }
    }
  });
});
