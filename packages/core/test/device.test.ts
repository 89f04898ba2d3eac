import { describe, expect, it } from "vitest";
import { Device, checkDeviceName, createSystem } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

describe("device tree", () => {
  it("a PCI function is named by its address and carries its requester id and DMA aliases", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:6A:01.0", dmaAliases: [0x6a01, 0x6a02] });
    expect(dev).toBeInstanceOf(Device);
    expect(dev.name).toBe("0000:6a:01.0");
    expect(dev.bus).toBe("pci");
    expect(dev.requesterId).toBe(0x6a08);
    expect(dev.dmaAliases).toEqual([0x6a01, 0x6a02]);
    expect(Object.isFrozen(dev.dmaAliases)).toBe(true);
    expect(dev.pciFunction).toBe(dev);
    expect(dev.sysfsPath).toBe("/sys/devices/pci0000:6a/0000:6a:01.0");
    expect(dev.busPath).toBe("/sys/bus/pci/devices/0000:6a:01.0");
    expect(sys.device("0000:6a:01.0")).toBe(dev);
  });

  it("children hang under their parent in sysfs and find the PCI function above them", () => {
    const sys = createSystem();
    const pci = sys.addPciDevice({ bdf: "0000:03:00.0" });
    const ntb = sys.addDevice({ name: "0000:03:00.0-ntb", bus: "ntb", parent: pci });
    const q = sys.addDevice({ name: "q0", bus: "subdevice", parent: ntb });
    expect(pci.children).toEqual([ntb]);
    expect(ntb.children).toEqual([q]);
    expect(q.parent).toBe(ntb);
    expect(q.requesterId).toBe(-1);
    expect(q.pciFunction).toBe(pci);
    expect(q.sysfsPath).toBe("/sys/devices/pci0000:03/0000:03:00.0/0000:03:00.0-ntb/q0");
    expect(q.busPath).toBe("/sys/bus/subdevice/devices/q0");
    const lone = sys.addDevice({ name: "plat0", bus: "platform" });
    expect(lone.sysfsPath).toBe("/sys/devices/platform/plat0");
    expect(lone.pciFunction).toBeUndefined();
  });

  it("refuses duplicate names (EEXIST), foreign or removed parents (ENODEV), and bad options (EINVAL)", () => {
    const sys = createSystem();
    const other = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:01:00.0" });
    expectCode(() => sys.addPciDevice({ bdf: "0000:01:00.0" }), "EEXIST");
    const twin = sys.addDevice({ name: "0000:01:00.0", bus: "ntb", parent: dev });
    expectCode(() => sys.addDevice({ name: "0000:01:00.0", bus: "ntb" }), "EEXIST");
    sys.removeDevice(twin);
    const foreign = other.addPciDevice({ bdf: "0000:02:00.0" });
    expectCode(() => sys.addDevice({ name: "x", bus: "ntb", parent: foreign }), "ENODEV");
    const gone = sys.addDevice({ name: "gone", bus: "ntb" });
    sys.removeDevice(gone);
    expect(gone.removed).toBe(true);
    expectCode(() => gone.assertPresent(), "ENODEV");
    expectCode(() => sys.addDevice({ name: "y", bus: "ntb", parent: gone }), "ENODEV");
    expectCode(() => sys.addDevice({ name: "z", bus: "pci" }), "EINVAL");
    expectCode(() => sys.addDevice({ name: "bad name", bus: "ntb" }), "EINVAL");
    expectCode(() => sys.addPciDevice({ bdf: "nope" }), "EINVAL");
    expectCode(() => sys.addPciDevice({ bdf: "0000:05:00.0", dmaAliases: [0x10000] }), "EINVAL");
    expectCode(() => sys.addPciDevice(null as never), "EINVAL");
    expectCode(() => sys.removeDevice(foreign), "ENODEV");
    expect(sys.devices()).toEqual([dev]);
    expect(sys.snapshot().devices).toBe(1);
  });

  it("keeps names unique per bus, not per host: an NTB device shares its PCI function's name", () => {
    const sys = createSystem();
    const fn = sys.addPciDevice({ bdf: "0000:05:00.1" });
    // ntb_register_device: dev_set_name(&ntb->dev, "%s", pci_name(ntb->pdev)).
    const ntb = sys.addDevice({ name: "0000:05:00.1", bus: "ntb", parent: fn, driver: "ntb_transport" });
    expect(sys.device("0000:05:00.1")).toBe(fn);
    expect(sys.device("0000:05:00.1", "pci")).toBe(fn);
    expect(sys.device("0000:05:00.1", "ntb")).toBe(ntb);
    expect(sys.device("0000:05:00.1", "dsa")).toBeUndefined();
    expect(ntb.sysfsPath).toBe("/sys/devices/pci0000:05/0000:05:00.1/0000:05:00.1");
    expect(ntb.busPath).toBe("/sys/bus/ntb/devices/0000:05:00.1");
    const only = sys.addDevice({ name: "dsa0", bus: "dsa", parent: fn, busUevent: ["MODALIAS=idxd:t0"] });
    expect(sys.device("dsa0")).toBe(only);
    expect(only.busUevent).toEqual(["MODALIAS=idxd:t0"]);
    expectCode(() => sys.addDevice({ name: "x", bus: "dsa", busUevent: ["lower=case"] }), "EINVAL");
    expectCode(() => sys.addDevice({ name: "x", bus: "dsa", driver: "a b" }), "EINVAL");
    sys.removeDevice(fn);
    expect(sys.device("0000:05:00.1", "ntb")).toBeUndefined();
    expect(sys.devices()).toEqual([]);
  });

  it("accepts device names of 1-64 characters of [A-Za-z0-9_.:-]", () => {
    expect(checkDeviceName("wq0.0")).toBe("wq0.0");
    expect(checkDeviceName("a".repeat(64))).toBe("a".repeat(64));
    for (const bad of ["", "a".repeat(65), "a/b", "a b", 5, null]) expectCode(() => checkDeviceName(bad), "EINVAL");
  });

  it("runs removal hooks before the device's interrupts are released, and not after unregistering", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:01:00.0" });
    const calls: string[] = [];
    sys.onRemove(dev, () => calls.push("a"));
    const off = sys.onRemove(dev, () => calls.push("b"));
    sys.onRemove(dev, () => calls.push("c"));
    off();
    sys.removeDevice(dev);
    expect(calls).toEqual(["c", "a"]);
  });
});
