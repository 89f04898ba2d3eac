import { describe, expect, it } from "vitest";
import { Entry16Store, SysfsView, createMsixTable, createSystem, msiMode } from "../src/index.js";
import { addMsixDevice, expectCode } from "./support/helpers.js";

describe("device files under /sys/devices", () => {
  it("gives a PCI function its standard attributes, a uevent with the PCI variables and a driver link", () => {
    const sys = createSystem({ cpus: 4 });
    const dev = sys.addPciDevice({ bdf: "0000:01:00.0", driver: "nvme", ids: { vendor: 0x8086, device: 0x0b25, classCode: 0x010802, subsystemVendor: 0x8086, subsystemDevice: 0x1234, revision: 2 } });
    const view = new SysfsView(sys);
    const p = dev.sysfsPath;
    const read = (f: string) => view.read(`/sys/bus/pci/devices/0000:01:00.0/${f}`);
    expect([read("vendor"), read("device"), read("subsystem_vendor"), read("subsystem_device"), read("revision"), read("class")]).toEqual([
      "0x8086\n",
      "0x0b25\n",
      "0x8086\n",
      "0x1234\n",
      "0x02\n",
      "0x010802\n",
    ]);
    expect([read("irq"), read("msi_bus"), read("enable"), read("numa_node"), read("local_cpus"), read("local_cpulist")]).toEqual(["0\n", "1\n", "1\n", "-1\n", "f\n", "0-3\n"]);
    const modalias = "pci:v00008086d00000B25sv00008086sd00001234bc01sc08i02";
    expect(read("modalias")).toBe(`${modalias}\n`);
    // dev_uevent: DRIVER= first, then pci_uevent's variables (PCI_CLASS "%04X": no padding to 6).
    expect(read("uevent")).toBe(`DRIVER=nvme\nPCI_CLASS=10802\nPCI_ID=8086:0B25\nPCI_SUBSYS_ID=8086:1234\nPCI_SLOT_NAME=0000:01:00.0\nMODALIAS=${modalias}\n`);
    expect(view.links()).toEqual(new Map([[`${p}/driver`, "../../../bus/pci/drivers/nvme"]]));
    expect(view.list(p)).toContain("driver");
    // Unbound: no DRIVER=, no link, not enabled.
    dev.driver = undefined;
    expect(read("uevent").startsWith("PCI_CLASS=10802\n")).toBe(true);
    expect(read("enable")).toBe("0\n");
    expect(view.links().size).toBe(0);
  });

  it("shows the first MSI virq in `irq` while MSI is enabled, 0 (no INTx line) for MSI-X", () => {
    const sys = createSystem({ cpus: 2 });
    const msiDev = sys.addPciDevice({ bdf: "0000:00:05.0" });
    const msi = sys.createMsiDomain(msiDev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: msiDev.requesterId, pasid: false }), kind: "msi" });
    const [first, second] = msi.allocRange(0, 1);
    const { dev, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocAt(0);
    const view = new SysfsView(sys);
    expect(view.read(`${msiDev.sysfsPath}/irq`)).toBe(`${first!.virq}\n`);
    expect(view.read(`${msiDev.sysfsPath}/msi_irqs/${second!.virq}`)).toBe("msi\n");
    expect(view.read(`${dev.sysfsPath}/irq`)).toBe("0\n");
  });

  it("lists a PCI device's msi_irqs by virq in numeric order, each reading 'msix' (msi_mode_show: per device, not per interrupt)", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 128);
    const maps = domain.allocRange(0, 89);
    const view = new SysfsView(sys);
    const names = view.list("/sys/bus/pci/devices/0000:01:00.0/msi_irqs");
    expect(names.map(Number)).toEqual(maps.map((m) => m.virq));
    expect(view.read(`/sys/bus/pci/devices/0000:01:00.0/msi_irqs/${maps[0]!.virq}`)).toBe("msix\n");
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

  it("lists IMS interrupts only where the domain's template asks for device sysfs (MSI_FLAG_DEV_SYSFS); a child device reads 'msi'", () => {
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
    expect(msiMode(sys, child)).toBe("msi\n");
    // A child without a driver or bus variables: an empty uevent file.
    expect(view.read("/sys/bus/subdevice/devices/wq0.0/uevent")).toBe("");
  });

  it("reads 'msix' for a PCI function whose MSI-X table an IMS domain allocates from (pci_dev::msix_enabled)", () => {
    const sys = createSystem({ interruptRemapping: true });
    const fn = sys.addPciDevice({ bdf: "0000:05:00.1" });
    const d = sys.createMsiDomain(fn, { domainId: 1, store: createMsixTable(8, fn.requesterId), kind: "ims", devSysfs: true });
    const { virq } = d.allocAt(0);
    expect(new SysfsView(sys).read(`${fn.sysfsPath}/msi_irqs/${virq}`)).toBe("msix\n");
    const other = sys.addPciDevice({ bdf: "0000:05:00.2" });
    const e = sys.createMsiDomain(other, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: other.requesterId, pasid: false }), kind: "ims", devSysfs: true });
    expect(new SysfsView(sys).read(`${other.sysfsPath}/msi_irqs/${e.allocAt(0).virq}`)).toBe("msi\n");
  });

  it("gives non-PCI devices DRIVER= and their bus's variables, and resolves /sys/bus/<bus>/devices/<name> per bus", () => {
    const sys = createSystem();
    const fn = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const dsa = sys.addDevice({ name: "dsa0", bus: "dsa", parent: fn, driver: "idxd", busUevent: ["MODALIAS=idxd:t0"] });
    sys.addDevice({ name: "0000:6a:01.0", bus: "ntb", parent: fn });
    const view = new SysfsView(sys);
    expect(view.read("/sys/bus/dsa/devices/dsa0/uevent")).toBe("DRIVER=idxd\nMODALIAS=idxd:t0\n");
    expect(view.links().get(`${dsa.sysfsPath}/driver`)).toBe("../../../../bus/dsa/drivers/idxd");
    expect(view.read("/sys/bus/ntb/devices/0000:6a:01.0/uevent")).toBe("");
    expect(view.read("/sys/bus/pci/devices/0000:6a:01.0/uevent")).toContain("PCI_SLOT_NAME=0000:6a:01.0\n");
    expectCode(() => view.read("/sys/bus/dsa/devices/0000:6a:01.0/uevent"), "ENOENT");
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
