import { describe, expect, it } from "vitest";
import { renderView, show } from "../src/show.js";
import { defaultScenario, idxdScenario, ntbScenario } from "../src/scenario.js";
import { STRATEGIES, STRATEGY_NAMES } from "../src/matrix.js";
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
    expect(irqs.map((m) => m[5])).toEqual(["idxd-misc", "idxd-portal", "vfio-msix[1](vdsa0)", "vfio-msix[2](vdsa0)", "vfio-msix[3](vdsa0)", "dsa/wq0.1"]);
    // The guest's vectors, enabled one by one, sit on IMS under its child device (design A); the
    // user's, under the open file's device (file0).
    for (const m of irqs.filter((m) => m[5]!.includes("vdsa0"))) expect(m[3]).toBe("IR-PCI-IDXD-vdsa0");
    expect(irqs.at(-1)![3]).toBe("IR-PCI-IDXD-file0");
    // Every completion interrupt fired (idxd-misc has no event to report).
    for (const m of irqs.slice(1)) expect(m[2]!.trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // The architecture's rows follow, ERR and MIS last.
    expect(lines.slice(-4)).toEqual([
      "MCE:          0          0          0          0   Machine check exceptions",
      "MCP:          0          0          0          0   Machine check polls",
      "ERR:          0",
      "MIS:          0",
    ]);
  });

  it("puts design B's IMS interrupts on the host's domain", () => {
    const out = show("idxd", "flat", "proc-interrupts");
    expect(out).toMatch(/IR-PCI-IDXD-0000:6a:01\.0\s+\d+-edge\s+vfio-msix\[3\]\(vdsa0\)/);
    expect(out).not.toMatch(/PCI-IDXD-vdsa0/);
  });

  it("shows both NTB hosts, each starting with a header without a leading slash, each with ntb_transport's interrupts", async () => {
    const r = await runCli(["show", "--hardware", "ntb", "--strategy", "flat", "--view", "proc-interrupts"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("==> hostA <==\n           CPU0")).toBe(true);
    expect(r.stdout).toContain("MIS:          0\n\n==> hostB <==\n           CPU0");
    expect(r.stdout.match(/ IR-PCI-MSIX-0000:(05|82):00\.1 +\d+-edge {6}ntb_transport$/gm)?.length).toBe(6);
    expect(r.stdout).not.toMatch(/ERR:\s+[1-9]/);
  });

  it("prints multi-file views as head prints them, each host's files after its header", () => {
    const out = show("ntb", "subdevice", "domains");
    expect(out.startsWith("==> hostA <==\n\n==> /sys/kernel/debug/irq/domains/VECTOR <==\nname:   VECTOR\n")).toBe(true);
    expect(out).toContain("\n\n==> hostB <==\n\n==> /sys/kernel/debug/irq/domains/VECTOR <==\n");
    // Every header but the first has an empty line before it; no file's content is altered.
    expect(out.split("\n").filter((l, i, all) => l.startsWith("==> ") && i > 0 && all[i - 1] !== "")).toEqual([]);
  });

  it("lists a queue's interrupts under its own directory in the sysfs view, per design, with msi or msix as msi_mode_show says", () => {
    const a = show("idxd", "subdevice", "sysfs");
    expect(a).toMatch(/^==> \/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/vdsa0\/msi_irqs\/\d+ <==\nmsi\n$/m);
    expect(a).toContain("==> /sys/devices/pci0000:6a/0000:6a:01.0/driver -> ../../../bus/pci/drivers/idxd <==\n");
    expect(a).toContain("==> /sys/devices/pci0000:6a/0000:6a:01.0/dsa0/wq0.1/uevent <==\nDRIVER=user\nMODALIAS=idxd:t0\n");
    // A child device without a driver: its uevent is empty, so nothing follows the header.
    expect(a).toContain("==> /sys/devices/pci0000:6a/0000:6a:01.0/vdsa0/uevent <==\n\n==> ");
    expect(a).not.toMatch(/ims_queues\/vdsa0\/msi_irqs/);
    const b = show("idxd", "flat", "sysfs");
    expect(b).toMatch(/^==> \/sys\/devices\/pci0000:6a\/0000:6a:01\.0\/ims_queues\/vdsa0\/msi_irqs\/\d+ <==\nmsix\n/m);
    expect(b).toContain("==> /sys/devices/pci0000:6a/0000:6a:01.0/ims_queues/file0/pasid <==\n7\n");
    // NTB under design B: the function's MSI-X table is in use, so its msi_irqs read msix.
    const ntb = show("ntb", "flat", "sysfs");
    expect(ntb).toMatch(/==> \/sys\/devices\/pci0000:05\/0000:05:00\.1\/msi_irqs\/\d+ <==\nmsix\n/);
    expect(ntb).toContain("==> /sys/devices/pci0000:05/0000:05:00.1/0000:05:00.1/uevent <==\nDRIVER=ntb_transport\n");
  });

  it("prints the irq view as grep -r . does, and the debug-irqs and domains views from the model's domains", () => {
    const irq = show("ntb", "subdevice", "irq");
    const virq = /^\/sys\/kernel\/irq\/(\d+)\/chip_name:IR-MSIX-net-qp0$/m.exec(irq)?.[1];
    expect(Number(virq)).toBeGreaterThanOrEqual(24); // dynamic irqs start at gsi_top
    expect(irq).toContain(`/proc/irq/${virq}/smp_affinity_list:0-3\n`);
    expect(irq).toContain(`/proc/irq/${virq}/spurious:count 4\n/proc/irq/${virq}/spurious:unhandled 0\n/proc/irq/${virq}/spurious:last_unhandled 0 ms\n`);
    expect(irq).toContain("/proc/irq/default_smp_affinity:f\n");
    const domains = show("idxd", "subdevice", "domains");
    expect(domains).toMatch(/^==> \/sys\/kernel\/debug\/irq\/domains\/IR-PCI-IDXD-vdsa0-15 <==\nname:   IR-PCI-IDXD-vdsa0-15\n/m);
    expect(domains).toMatch(/parent: INTEL-IR-0-13/);
    const debug = show("idxd", "flat", "debug-irqs");
    expect(debug.startsWith("==> /sys/kernel/debug/irq/irqs/0 <==\nhandler:  handle_edge_irq\ndevice:   (null)\n")).toBe(true);
    expect(debug).toMatch(/\n==> \/sys\/kernel\/debug\/irq\/irqs\/30 <==\nhandler: {2}handle_edge_irq\ndevice: {3}0000:6a:01\.0\n/);
  });

  it("prints every view for both hardware models under every design, and the designs differ", () => {
    const views = ["proc-interrupts", "sysfs", "irq", "domains", "debug-irqs"] as const;
    for (const hardware of ["idxd", "ntb"] as const) {
      const outputs: Record<string, string> = {};
      for (const strategy of STRATEGY_NAMES) {
        for (const view of views) {
          const out = show(hardware, strategy, view);
          expect(out, `${hardware} ${strategy} ${view}`).not.toMatch(/undefined|NaN|\[object /);
          outputs[`${strategy} ${view}`] = out;
        }
        // design B lists a queue's interrupts through its extra per-queue group, design A never does
        if (strategy === "flat") expect(outputs["flat sysfs"]).toMatch(/\/ims_queues\/[^/\s]+\/msi_irqs\/\d+ <==/);
        else expect(outputs[`${strategy} sysfs`]).not.toMatch(/ims_queues/);
      }
      for (const view of views) expect(outputs[`subdevice ${view}`], `${hardware} ${view}: A and B differ`).not.toBe(outputs[`flat ${view}`]);
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

  it("--cpus 40: masks print as comma groups of 8 hex digits, the first as wide as its bits", async () => {
    const r = await runCli(["show", "--hardware", "idxd", "--strategy", "subdevice", "--view", "irq", "--cpus", "40"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("/proc/irq/default_smp_affinity:ff,ffffffff\n");
    expect(r.stdout).toMatch(/^\/proc\/irq\/\d+\/smp_affinity:ff,ffffffff$/m);
    expect(r.stdout).toMatch(/^\/proc\/irq\/\d+\/effective_affinity:[0-9a-f]{2},[0-9a-f]{8}$/m);
    expect(r.stdout).toMatch(/^\/proc\/irq\/\d+\/smp_affinity_list:0-39$/m);
    expect(r.stdout).toMatch(/^\/sys\/kernel\/irq\/0\/per_cpu_count:0(,0){39}$/m);
  });

  it("--cpus N builds the scenario on hosts of N CPUs; on 256, the unrequested guest vectors show as reserved in the vector matrix", async () => {
    const r = await runCli(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus", "256"]);
    expect(r.code).toBe(0);
    const first = r.stdout.split("\n")[0]!;
    expect(first.startsWith(" ".repeat(12) + "CPU0 ")).toBe(true); // nr_irqs 2472: the irq column is 4 wide
    expect(first.trim().split(/\s+/)).toEqual(Array.from({ length: 256 }, (_, i) => `CPU${i}`));
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
        expect(renderView(system, "irq")).toContain(`/proc/irq/default_smp_affinity:${Array(8).fill("ffffffff").join(",")}\n`);
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
