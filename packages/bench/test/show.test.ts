import { describe, expect, it } from "vitest";
import { renderView, show } from "../src/show.js";
import { defaultScenario, idxdScenario, ntbScenario } from "../src/scenario.js";
import { STRATEGIES } from "../src/matrix.js";
import { runCli } from "./support/cli.js";

const PROC_LINE = /^\s*(\d+):((?:\s+\d+){4})\s+(\S+)\s+(\d+)-edge\s+(\S.*)$/;

describe("imsim show", () => {
  it("prints /proc/interrupts of the IDXD scenario: kernel queue on MSI-X, guest and user queue on IMS", async () => {
    const r = await runCli(["show", "--hardware", "idxd", "--strategy", "subdevice"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^\s+CPU0\s+CPU1\s+CPU2\s+CPU3\s*$/);
    // The device's rows: those of the host's own legacy and DMAR interrupts come first.
    const irqs = lines.filter((l) => PROC_LINE.test(l)).map((l) => PROC_LINE.exec(l)!).filter((m) => m[3]!.startsWith("IR-PCI-"));
    expect(irqs.map((m) => m[5])).toEqual(["idxd-misc", "idxd-portal", "vfio-msix[1](vdsa0)", "vfio-msix[2](vdsa0)", "vfio-msix[3](vdsa0)", "dsa0-wq1-u0"]);
    // The guest's vectors, enabled one by one, sit on IMS under its child device (design A).
    for (const m of irqs.filter((m) => m[5]!.includes("vdsa0"))) expect(m[3]).toBe("IR-PCI-IDXD-vdsa0");
    // Every completion interrupt fired (idxd-misc has no event to report).
    for (const m of irqs.slice(1)) expect(m[2]!.trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(lines.at(-2)).toMatch(/^ERR:\s+0$/);
  });

  it("puts design B's IMS interrupts on the host's domain", () => {
    const out = show("idxd", "flat", "proc-interrupts");
    expect(out).toMatch(/IR-PCI-IDXD-0000:6a:01\.0\s+\d+-edge\s+vfio-msix\[3\]\(vdsa0\)/);
    expect(out).not.toMatch(/PCI-IDXD-vdsa0/);
  });

  it("shows both NTB hosts, each with its client's interrupts", async () => {
    const r = await runCli(["show", "--hardware", "ntb", "--strategy", "flat", "--view", "proc-interrupts"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/==> hostA \(flat\) <==/);
    expect(r.stdout).toMatch(/==> hostB \(flat\) <==/);
    expect(r.stdout.match(/ net-qp1\.1$/gm)?.length).toBe(2);
    expect(r.stdout).not.toMatch(/ERR:\s+[1-9]/);
  });

  it("lists a queue's interrupts under its own directory in the sysfs view, per design", () => {
    const a = show("idxd", "subdevice", "sysfs");
    expect(a).toMatch(/^\/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/vdsa0\/msi_irqs\/\d+:msi$/m);
    expect(a).not.toMatch(/ims_queues\/vdsa0\/msi_irqs/);
    const b = show("idxd", "flat", "sysfs");
    expect(b).toMatch(/^\/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/ims_queues\/vdsa0\/msi_irqs\/\d+:/m);
    expect(b).toMatch(/^\/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/ims_queues\/dsa0-wq1-u\d+\/pasid:7$/m);
  });

  it("prints the irq and domains views in the kernel's format", () => {
    const irq = show("ntb", "subdevice", "irq");
    const virq = /^\/sys\/kernel\/irq\/(\d+)\/chip_name:IR-PCI-MSIX-net-qp0$/m.exec(irq)?.[1];
    expect(Number(virq)).toBeGreaterThanOrEqual(24); // dynamic irqs start at gsi_top
    expect(irq).toContain(`/proc/irq/${virq}/smp_affinity_list:0-3\n`);
    const domains = show("idxd", "subdevice", "domains");
    expect(domains).toMatch(/^name:\s+IR-PCI-IDXD-vdsa0-\d+$/m);
    expect(domains).toMatch(/parent: INTEL-IR-0-13/);
  });

  it("prints every view for both hardware models under both designs, each marked by its design", () => {
    const marks = {
      "proc-interrupts": /^\s+CPU0\s+CPU1/m,
      sysfs: /^\/sys\/devices\/\S+\/msi_irqs\/\d+:msix?$/m,
      irq: /^\/sys\/kernel\/irq\/\d+\/chip_name:IR-\S+$/m,
      domains: /^name:\s+\S+/m,
    } as const;
    for (const hardware of ["idxd", "ntb"] as const) {
      const outputs: Record<string, string> = {};
      for (const strategy of ["subdevice", "flat"] as const) {
        for (const [view, mark] of Object.entries(marks) as [keyof typeof marks, RegExp][]) {
          const out = show(hardware, strategy, view);
          expect(out, `${hardware} ${strategy} ${view}`).toMatch(mark);
          expect(out, `${hardware} ${strategy} ${view}`).not.toMatch(/undefined|NaN|\[object /);
          outputs[`${strategy} ${view}`] = out;
        }
        // design B lists a queue's interrupts through its extra per-queue group, design A never does
        if (strategy === "flat") expect(outputs["flat sysfs"]).toMatch(/\/ims_queues\/[^/\s]+\/msi_irqs\/\d+:/);
        else expect(outputs["subdevice sysfs"]).not.toMatch(/ims_queues/);
      }
      for (const view of Object.keys(marks)) expect(outputs[`subdevice ${view}`], `${hardware} ${view}: A and B differ`).not.toBe(outputs[`flat ${view}`]);
    }
  });

  it("leaves nothing behind in the scenario's systems after teardown", () => {
    for (const hardware of ["idxd", "ntb"] as const) {
      const s = defaultScenario(hardware, STRATEGIES.subdevice);
      const systems = s.hosts.map((h) => h.system);
      expect(renderView(systems[0]!, "proc-interrupts")).toMatch(/IR-/);
      s.teardown();
      // Back to the host as it booted: its own legacy and DMAR interrupts only.
      for (const sys of systems) expect(sys.snapshot()).toEqual(sys.bootSnapshot);
    }
  });

  it("--cpus N builds the scenario on hosts of N CPUs; on 256, the unrequested guest vectors show as reserved in the vector matrix", async () => {
    const r = await runCli(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus", "256"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]!.trim().split(/\s+/)).toEqual(Array.from({ length: 256 }, (_, i) => `CPU${i}`));
    for (const [strategy, hardware] of [["flat", "idxd"], ["subdevice", "idxd"], ["subdevice", "ntb"]] as const) {
      const s = defaultScenario(hardware, STRATEGIES[strategy], 256);
      try {
        const system = s.hosts[0]!.system;
        expect(system.cpus).toBe(256);
        const reservedBefore = system.bootSnapshot.reservedVectors;
        const domains = renderView(system, "domains");
        const reserved = Number(/^Global reserved:\s+(\d+)$/m.exec(domains)?.[1]);
        expect(reserved).toBe(system.matrix.globalReserved);
        // IDXD: the second guest's four vectors are allocated (vfio_msi_enable) but not requested.
        if (hardware === "idxd") expect(reserved - reservedBefore).toBe(4);
      } finally {
        s.teardown();
      }
    }
  });

  it("builds the same views from core alone with the local scenarios", () => {
    for (const build of [idxdScenario, ntbScenario]) {
      const s = build(STRATEGIES.flat);
      try {
        expect(renderView(s.hosts[0]!.system, "proc-interrupts")).toMatch(/ERR:\s+0/);
      } finally {
        s.teardown();
      }
    }
  });
});
