import { describe, expect, it } from "vitest";
import {
  Entry16Store,
  SysfsView,
  createSystem,
  domainHierarchy,
  domainsView,
  procInterrupts,
  type IrqSystem,
} from "../src/index.js";
import { addMsixDevice, expectCode } from "./support/helpers.js";

/**
 * Rebuilds the situation of the /proc/interrupts lines a 6.12 kernel printed
 * (research/kernel-formats.md): virqs 24, 25 and 27 on a 2-CPU machine.
 */
function kernelExample(ir: boolean): IrqSystem {
  const sys = createSystem({ cpus: 2, interruptRemapping: ir });
  const filler = addMsixDevice(sys, "0000:00:10.0", 16);
  // Dynamic irqs start at gsi_top (24); with remapping dmar0 takes 24, so the PME port starts at 25 there.
  const pme = addMsixDevice(sys, "0000:00:04.0", 4);
  const v24 = pme.domain.allocAt(0).virq;
  const msiDev = sys.addPciDevice({ bdf: "0000:00:05.0" });
  const msi = sys.createMsiDomain(msiDev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: 0x0028, pasid: false }), kind: "msi" });
  const v25 = msi.allocAt(0).virq;
  filler.domain.allocAt(8); // virq 26
  const nvme = addMsixDevice(sys, "0000:01:00.0", 4);
  const v27 = nvme.domain.allocAt(1, { affinity: 0b01 }).virq;
  expect([v24, v25, v27]).toEqual(ir ? [25, 26, 28] : [24, 25, 27]);
  for (const v of [v24, v25]) {
    sys.requestIrq(v, "PCIe PME", () => {});
    sys.requestIrq(v, "aerdrv", () => {});
  }
  sys.requestIrq(v27, "nvme0q1", () => {});
  for (let i = 0; i < 64; i++) sys.raise(nvme.store, 1);
  return sys;
}

/** The legacy IO-APIC rows a q35 host prints before its devices (2 CPUs, no counts in the model). */
function legacyRows(ir: boolean): string[] {
  const chip = (ir ? "IR-IO-APIC" : "IO-APIC").padStart(8);
  return [
    `  0:          0          0  ${chip}   2-edge      timer`,
    `  1:          0          0  ${chip}   1-edge      i8042`,
    `  4:          0          0  ${chip}   4-edge      ttyS0`,
    `  8:          0          0  ${chip}   8-edge      rtc0`,
    `  9:          0          0  ${chip}   9-fasteoi   acpi`,
    ` 12:          0          0  ${chip}  12-edge      i8042`,
  ];
}

describe("/proc/interrupts", () => {
  it("prints the header, the host's legacy rows and the device lines exactly as a 6.12 kernel without remapping", () => {
    expect(procInterrupts(kernelExample(false))).toBe(
      [
        "           CPU0       CPU1       ",
        ...legacyRows(false),
        " 24:          0          0  PCI-MSIX-0000:00:04.0   0-edge      PCIe PME, aerdrv",
        " 25:          0          0  PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv",
        " 27:         64          0  PCI-MSIX-0000:01:00.0   1-edge      nvme0q1",
        "ERR:          0",
        "MIS:          0",
        "",
      ].join("\n"),
    );
  });

  it("prefixes chip names with IR- under interrupt remapping, and shows the IOMMU's own interrupt (DMAR-MSI)", () => {
    const lines = procInterrupts(kernelExample(true)).split("\n");
    expect(lines.slice(1, 7)).toEqual(legacyRows(true));
    expect(lines).toContain(" 24:          0          0  DMAR-MSI   0-edge      dmar0");
    expect(lines).toContain(" 28:         64          0  IR-PCI-MSIX-0000:01:00.0   1-edge      nvme0q1");
    expect(lines).toContain(" 26:          0          0  IR-PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv");
  });

  it("has a CPU<n> column of width 11 per online CPU only", () => {
    const sys = createSystem({ cpus: 4 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: 0b100 });
    sys.requestIrq(virq, "q", () => {});
    sys.raise(store, 0);
    sys.setCpuOnline(1, false);
    const lines = procInterrupts(sys).split("\n");
    expect(lines[0]).toBe("           CPU0       CPU2       CPU3       ");
    expect(lines).toContain(" 24:          0          1          0  PCI-MSIX-0000:01:00.0   0-edge      q");
  });

  it("has no line for never-requested interrupts", () => {
    const sys = createSystem({ cpus: 1 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const [a, b] = domain.allocRange(0, 1);
    sys.requestIrq(a!.virq, "q", () => {});
    const text = procInterrupts(sys);
    expect(text).toMatch(new RegExp(`^ ${a!.virq}:          0  PCI-MSIX-0000:01:00\\.0   0-edge      q$`, "m"));
    expect(text).not.toMatch(new RegExp(`^ ?${b!.virq}:`, "m"));
  });
});

describe("sysfs view", () => {
  it("lists a PCI device's msi_irqs by virq in numeric order, each reading 'msix\\n'", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 128);
    const maps = domain.allocRange(0, 89);
    const view = new SysfsView(sys);
    const names = view.list("/sys/bus/pci/devices/0000:01:00.0/msi_irqs");
    expect(names.map(Number)).toEqual(maps.map((m) => m.virq));
    expect(view.read(`/sys/bus/pci/devices/0000:01:00.0/msi_irqs/${maps[0]!.virq}`)).toBe("msix\n");
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/irq")).toBe("0\n");
  });

  it("shows msi_irqs only while interrupts are allocated, and drops freed ones", () => {
    const sys = createSystem();
    const { dev, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const view = new SysfsView(sys);
    const dir = "/sys/bus/pci/devices/0000:01:00.0/msi_irqs";
    expectCode(() => view.list(dir), "ENOENT");
    const maps = domain.allocRange(0, 2);
    domain.free(1);
    expect(view.list(dir)).toEqual([String(maps[0]!.virq), String(maps[2]!.virq)]);
    domain.freeAll();
    expectCode(() => view.list(dir), "ENOENT");
    expect(view.read(`${dev.sysfsPath}/irq`)).toBe("0\n");
  });

  it("lists IMS interrupts only where the domain's template asks for device sysfs (MSI_FLAG_DEV_SYSFS)", () => {
    const sys = createSystem({ interruptRemapping: true });
    const { dev, domain } = addMsixDevice(sys, "0000:6a:01.0", 4);
    domain.allocAt(0);
    const ims = sys.createMsiDomain(dev, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x6a08, pasid: true }), kind: "ims" });
    const iv = ims.allocAt(0).virq;
    const child = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: dev });
    const cd = sys.createMsiDomain(child, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x6a08, pasid: true }), kind: "ims", devSysfs: true });
    const cv = cd.allocAt(0).virq;
    const view = new SysfsView(sys);
    expect(view.list(`${dev.sysfsPath}/msi_irqs`)).not.toContain(String(iv));
    expect(view.read(`${child.sysfsPath}/msi_irqs/${cv}`)).toBe("msi\n");
  });

  it("writes /sys/kernel/irq/<virq>/* as a real kernel does", () => {
    const sys = kernelExample(true);
    const view = new SysfsView(sys);
    const k = "/sys/kernel/irq/28";
    expect(view.list(k)).toEqual(["actions", "chip_name", "hwirq", "name", "per_cpu_count", "type", "wakeup"]);
    expect(view.read(`${k}/chip_name`)).toBe("IR-PCI-MSIX-0000:01:00.0\n");
    expect(view.read(`${k}/hwirq`)).toBe("1\n");
    expect(view.read(`${k}/actions`)).toBe("nvme0q1\n");
    expect(view.read(`${k}/per_cpu_count`)).toBe("64,0\n");
    expect(view.read("/sys/kernel/irq/25/actions")).toBe("PCIe PME,aerdrv\n");
  });

  it("writes /proc/irq/<virq>/ affinity files: the requested mask and the one effective CPU", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(1);
    sys.requestIrq(virq, "q", () => {});
    const view = new SysfsView(sys);
    const p = `/proc/irq/${virq}`;
    const cpu = sys.irqDesc(virq)!.effectiveCpu;
    expect(view.read(`${p}/smp_affinity`)).toBe("3\n");
    expect(view.read(`${p}/smp_affinity_list`)).toBe("0-1\n");
    expect(view.read(`${p}/effective_affinity_list`)).toBe(`${cpu}\n`);
    sys.setAffinity(virq, [1 - cpu]);
    expect(view.read(`${p}/smp_affinity_list`)).toBe(`${1 - cpu}\n`);
    expect(view.read(`${p}/effective_affinity`)).toBe(`${1 << (1 - cpu)}\n`);
  });

  it("includes files from sysfs providers until they are unregistered", () => {
    const sys = createSystem();
    const view = new SysfsView(sys);
    const off = sys.addSysfsProvider((emit) => emit("/sys/devices/x/queue0/irqs", "16 17\n"));
    expect(view.read("/sys/devices/x/queue0/irqs")).toBe("16 17\n");
    off();
    expectCode(() => view.read("/sys/devices/x/queue0/irqs"), "ENOENT");
  });

  it("rejects non-string paths with EINVAL and unknown ones with ENOENT", () => {
    const view = new SysfsView(createSystem());
    expectCode(() => view.read(5 as never), "EINVAL");
    expectCode(() => view.list(null as never), "EINVAL");
    expectCode(() => view.read("/sys/kernel/irq/100/hwirq"), "ENOENT");
    expectCode(() => view.read("/sys/bus/pci/devices/0000:99:00.0/irq"), "ENOENT");
  });
});

describe("domain hierarchy (debugfs)", () => {
  it("prints a per-device domain over VECTOR from the domain objects", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 2);
    const text = domainHierarchy(sys, domain);
    expect(
      text.startsWith(
        [
          "name:   PCI-MSIX-0000:01:00.0-12",
          " size:   0",
          " mapped: 3",
          " flags:  0x00000213",
          "            IRQ_DOMAIN_FLAG_HIERARCHY",
          "            IRQ_DOMAIN_NAME_ALLOCATED",
          "            IRQ_DOMAIN_FLAG_MSI",
          "            IRQ_DOMAIN_FLAG_MSI_DEVICE",
          " parent: VECTOR",
          "    name:   VECTOR",
          "     size:   0",
          `     mapped: ${sys.vector.domain.mapped}`,
          "     flags:  0x00000103",
          "                IRQ_DOMAIN_FLAG_HIERARCHY",
          "                IRQ_DOMAIN_NAME_ALLOCATED",
          "                IRQ_DOMAIN_FLAG_MSI_PARENT",
          "Online bitmaps:        2",
          "",
        ].join("\n"),
      ),
    ).toBe(true);
    expect(text).toContain(`Global reserved:  ${String(sys.matrix.globalReserved).padStart(6)}\n`);
    expect(text).toContain("System: 35: 0-19,21,50,128,236,244,246-255\n");
  });

  it("puts INTEL-IR between the device domain and VECTOR under remapping", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 2);
    const text = domainHierarchy(sys, domain);
    expect(text.startsWith("name:   IR-PCI-MSIX-0000:01:00.0-12\n")).toBe(true);
    expect(text).toContain([" parent: INTEL-IR-0-13", "    name:   INTEL-IR-0-13", "     size:   65536", `     mapped: ${sys.iommus[0]!.domain.mapped}`, "     flags:  0x00000123"].join("\n"));
  });

  it("dumps every domain of the host, the fixed ones first", () => {
    const sys = createSystem({ cpus: 1, interruptRemapping: true });
    addMsixDevice(sys, "0000:01:00.0", 2);
    const names = domainsView(sys).match(/^name: {3}\S+$/gm)!;
    expect(names.slice(0, 6)).toEqual(["name:   VECTOR", "name:   INTEL-IR-0-13", "name:   IO-APIC-0", "name:   DMAR-MSI", "name:   HPET-MSI-0", "name:   IR-PCI-MSIX-0000:01:00.0-12"]);
  });
});
