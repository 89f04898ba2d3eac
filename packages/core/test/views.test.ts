import { describe, expect, it } from "vitest";
import {
  Entry16Store,
  SysfsView,
  createMsixTable,
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
  filler.domain.allocRange(0, 7); // virqs 16-23, never requested: no lines
  const pme = addMsixDevice(sys, "0000:00:04.0", 4);
  const v24 = pme.domain.allocAt(0).virq;
  const msiDev = sys.addPciDevice({ bdf: "0000:00:05.0" });
  const msi = sys.createMsiDomain(msiDev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: 0x0028, pasid: false }), kind: "msi" });
  const v25 = msi.allocAt(0).virq;
  filler.domain.allocAt(8); // virq 26
  const nvme = addMsixDevice(sys, "0000:01:00.0", 4);
  const v27 = nvme.domain.allocAt(1, { affinity: 0b01 }).virq;
  expect([v24, v25, v27]).toEqual([24, 25, 27]);
  for (const v of [v24, v25]) {
    sys.requestIrq(v, "PCIe PME", () => {});
    sys.requestIrq(v, "aerdrv", () => {});
  }
  sys.requestIrq(v27, "nvme0q1", () => {});
  for (let i = 0; i < 64; i++) sys.raise(nvme.store, 1);
  return sys;
}

describe("/proc/interrupts", () => {
  it("prints the header and lines exactly as a 6.12 kernel without remapping", () => {
    expect(procInterrupts(kernelExample(false))).toBe(
      [
        "           CPU0       CPU1       ",
        " 24:          0          0  PCI-MSIX-0000:00:04.0   0-edge      PCIe PME, aerdrv",
        " 25:          0          0  PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv",
        " 27:         64          0  PCI-MSIX-0000:01:00.0   1-edge      nvme0q1",
        "ERR:          0",
        "MIS:          0",
        "",
      ].join("\n"),
    );
  });

  it("prefixes chip names with IR- under interrupt remapping", () => {
    const text = procInterrupts(kernelExample(true));
    expect(text.split("\n")).toContain(" 27:         64          0  IR-PCI-MSIX-0000:01:00.0   1-edge      nvme0q1");
    expect(text.split("\n")).toContain(" 25:          0          0  IR-PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv");
    expect(text.startsWith("           CPU0       CPU1       \n")).toBe(true);
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
    expect(lines[1]).toBe(" 16:          0          1          0  PCI-MSIX-0000:01:00.0   0-edge      q");
  });

  it("keeps a line for an interrupt with counts after its last action is freed, and none for never-requested ones", () => {
    const sys = createSystem({ cpus: 1 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const [a, b] = domain.allocRange(0, 1);
    sys.requestIrq(a!.virq, "q", () => {});
    sys.raise(store, 0);
    sys.freeIrq(a!.virq, "q");
    const text = procInterrupts(sys);
    expect(text).toMatch(/^ 16:          1  PCI-MSIX-0000:01:00\.0   0-edge\s*$/m);
    expect(text).not.toMatch(new RegExp(`^ ?${b!.virq}:`, "m"));
  });

  it("widens the irq and hwirq columns when the highest irq needs four digits", () => {
    const sys = createSystem({ cpus: 5 }); // 1000 interrupts need more vectors than one CPU has
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 2048);
    domain.allocRange(0, 999); // virqs 16-1015
    sys.requestIrq(16, "first", () => {});
    sys.requestIrq(1015, "last", () => {});
    const zeros = "          0".repeat(5);
    const lines = procInterrupts(sys).split("\n");
    expect(lines[0]).toBe(`            ${[0, 1, 2, 3, 4].map((c) => `CPU${c}       `).join("")}`);
    expect(lines[1]).toBe(`  16:${zeros}  PCI-MSIX-0000:01:00.0    0-edge      first`);
    expect(lines[2]).toBe(`1015:${zeros}  PCI-MSIX-0000:01:00.0  999-edge      last`);
    expect(lines[3]).toBe(" ERR:          0");
  });

  it("right-aligns chip names shorter than 8 characters", () => {
    const sys = createSystem({ cpus: 1 });
    const dev = sys.addDevice({ name: "d", bus: "platform" });
    const d = sys.createMsiDomain(dev, { domainId: 0, store: new Entry16Store({ chipName: "X", size: 1, requesterId: 0, pasid: false }), kind: "msi" });
    sys.requestIrq(d.allocAt(0).virq, "a", () => {});
    expect(procInterrupts(sys).split("\n")[1]).toBe(" 16:          0       X-d   0-edge      a");
  });

  it("counts faults and spurious interrupts in the ERR row", () => {
    const sys = createSystem({ cpus: 1 });
    sys.msiWrite(0x1000, 0, 0, 0, -1);
    sys.msiWrite(0xfee00000, 0, 0x60, 0, -1);
    expect(procInterrupts(sys)).toContain("\nERR:          2\n");
  });
});

describe("sysfs view", () => {
  it("lists a PCI device's msi_irqs by virq, each reading 'msix\\n'", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 128);
    domain.allocRange(0, 89); // virqs 16-105: numeric, not lexical, order
    const view = new SysfsView(sys);
    const names = view.list("/sys/bus/pci/devices/0000:01:00.0/msi_irqs");
    expect(names.length).toBe(90);
    expect(names[0]).toBe("16");
    expect(names.slice(-3)).toEqual(["103", "104", "105"]);
    expect(names.map(Number)).toEqual(Array.from({ length: 90 }, (_, i) => 16 + i));
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/msi_irqs/16")).toBe("msix\n");
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/msi_irqs/105")).toBe("msix\n");
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/irq")).toBe("0\n");
  });

  it("shows msi_irqs only while interrupts are allocated, and drops freed ones", () => {
    const sys = createSystem();
    const { dev, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const view = new SysfsView(sys);
    const dir = "/sys/bus/pci/devices/0000:01:00.0/msi_irqs";
    expectCode(() => view.list(dir), "ENOENT");
    domain.allocRange(0, 2);
    domain.free(1);
    expect(view.list(dir)).toEqual(["16", "18"]);
    expectCode(() => view.read(`${dir}/17`), "ENOENT");
    domain.freeAll();
    expectCode(() => view.list(dir), "ENOENT");
    expect(view.read(`${dev.sysfsPath}/irq`)).toBe("0\n");
  });

  it("reads 'msi' for MSI devices and for non-PCI children; leaves out domains without DEV_SYSFS", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:05:00.0" });
    const msi = sys.createMsiDomain(dev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: 0x500, pasid: false }), kind: "msi" });
    const v = msi.allocAt(0).virq;
    const child = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: dev });
    const ims = sys.createMsiDomain(child, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x500, pasid: true }), kind: "ims" });
    const cv = ims.allocAt(0).virq;
    const hidden = sys.addPciDevice({ bdf: "0000:06:00.0" });
    sys.createMsiDomain(hidden, { domainId: 0, store: createMsixTable(2, 0x600), kind: "msix", devSysfs: false }).allocAt(0);
    const view = new SysfsView(sys);
    expect(view.read(`/sys/bus/pci/devices/0000:05:00.0/msi_irqs/${v}`)).toBe("msi\n");
    expect(child.sysfsPath).toBe(`${dev.sysfsPath}/wq0.0`);
    expect(view.list(`${child.sysfsPath}/msi_irqs`)).toEqual([String(cv)]);
    expect(view.read(`${child.sysfsPath}/msi_irqs/${cv}`)).toBe("msi\n");
    expectCode(() => view.list("/sys/bus/pci/devices/0000:06:00.0/msi_irqs"), "ENOENT");
    expect(view.list("/sys/bus/pci/devices/0000:05:00.0")).toContain("wq0.0");
  });

  it("a device whose MSI-X is in use reads 'msix' in every msi_irqs file, IMS ones included", () => {
    const sys = createSystem();
    const { dev, domain } = addMsixDevice(sys, "0000:6a:01.0", 4);
    const ims = sys.createMsiDomain(dev, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x6a08, pasid: true }), kind: "ims" });
    const iv = ims.allocAt(0).virq;
    const view = new SysfsView(sys);
    expect(view.read(`${dev.sysfsPath}/msi_irqs/${iv}`)).toBe("msi\n");
    domain.allocAt(0);
    expect(view.read(`${dev.sysfsPath}/msi_irqs/${iv}`)).toBe("msix\n");
  });

  it("writes /sys/kernel/irq/<virq>/* as a real kernel does", () => {
    const sys = kernelExample(true);
    const view = new SysfsView(sys);
    const k = "/sys/kernel/irq/27";
    expect(view.list(k)).toEqual(["actions", "chip_name", "hwirq", "name", "per_cpu_count", "type", "wakeup"]);
    expect(view.read(`${k}/chip_name`)).toBe("IR-PCI-MSIX-0000:01:00.0\n");
    expect(view.read(`${k}/hwirq`)).toBe("1\n");
    expect(view.read(`${k}/name`)).toBe("edge\n");
    expect(view.read(`${k}/type`)).toBe("edge\n");
    expect(view.read(`${k}/actions`)).toBe("nvme0q1\n");
    expect(view.read(`${k}/wakeup`)).toBe("disabled\n");
    expect(view.read(`${k}/per_cpu_count`)).toBe("64,0\n");
    expect(view.read("/sys/kernel/irq/24/actions")).toBe("PCIe PME,aerdrv\n");
    expect(view.read("/sys/kernel/irq/16/actions")).toBe("\n");
  });

  it("writes /proc/irq/<virq>/ affinity files: requested mask and the one effective CPU", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocAt(0);
    const { virq } = domain.allocAt(1);
    const view = new SysfsView(sys);
    const p = `/proc/irq/${virq}`;
    expect(view.read(`${p}/smp_affinity`)).toBe("3\n");
    expect(view.read(`${p}/smp_affinity_list`)).toBe("0-1\n");
    expect(view.read(`${p}/effective_affinity`)).toBe("2\n");
    expect(view.read(`${p}/effective_affinity_list`)).toBe("1\n");
    sys.setAffinity(virq, 0b01);
    expect(view.read(`${p}/smp_affinity`)).toBe("1\n");
    expect(view.read(`${p}/smp_affinity_list`)).toBe("0\n");
    expect(view.read(`${p}/effective_affinity`)).toBe("1\n");
    expect(view.read(`${p}/effective_affinity_list`)).toBe("0\n");
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
    expectCode(() => view.read("/sys/kernel/irq/16/hwirq"), "ENOENT");
    expectCode(() => view.read("/sys/bus/pci/devices/0000:99:00.0/irq"), "ENOENT");
  });
});

describe("domain hierarchy (debugfs)", () => {
  it("prints a per-device domain over VECTOR as a 6.x kernel does", () => {
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
          "     mapped: 3",
          "     flags:  0x00000103",
          "                IRQ_DOMAIN_FLAG_HIERARCHY",
          "                IRQ_DOMAIN_NAME_ALLOCATED",
          "                IRQ_DOMAIN_FLAG_MSI_PARENT",
          "",
        ].join("\n"),
      ),
    ).toBe(true);
    expect(text).toMatch(/^ {5}Online bitmaps:\s+2$/m);
    expect(text).toMatch(/^ {5}Global available:\s+403$/m);
    expect(text).toMatch(/^ {5}Total allocated:\s+3$/m);
    expect(text).toContain("     System: 53: 0-31,128,236-255\n");
    expect(text).toMatch(/^\s+0\s+201\s+0\s+0\s+2\s+32-33$/m);
    expect(text).toMatch(/^\s+1\s+202\s+0\s+0\s+1\s+32$/m);
  });

  it("puts INTEL-IR between the device domain and VECTOR under remapping", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 2);
    const text = domainHierarchy(sys, domain);
    expect(text.startsWith("name:   IR-PCI-MSIX-0000:01:00.0-12\n")).toBe(true);
    expect(text).toContain(
      [
        " parent: INTEL-IR-0-13",
        "    name:   INTEL-IR-0-13",
        "     size:   65536",
        "     mapped: 3",
        "     flags:  0x00000123",
        "                IRQ_DOMAIN_FLAG_HIERARCHY",
        "                IRQ_DOMAIN_NAME_ALLOCATED",
        "                IRQ_DOMAIN_FLAG_ISOLATED_MSI",
        "                IRQ_DOMAIN_FLAG_MSI_PARENT",
        "     parent: VECTOR",
        "        name:   VECTOR",
        "         size:   0",
        "         mapped: 3",
        "         flags:  0x00000003",
        "",
      ].join("\n"),
    );
  });

  it("dumps every domain, or just the vector level when there is none", () => {
    const sys = createSystem({ cpus: 1 });
    expect(domainsView(sys).startsWith("name:   VECTOR\n")).toBe(true);
    addMsixDevice(sys, "0000:01:00.0", 2);
    addMsixDevice(sys, "0000:02:00.0", 2);
    const text = domainsView(sys);
    expect(text.match(/^name: {3}PCI-MSIX-0000:0[12]:00\.0-12$/gm)).toEqual(["name:   PCI-MSIX-0000:01:00.0-12", "name:   PCI-MSIX-0000:02:00.0-12"]);
  });
});
