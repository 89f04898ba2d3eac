import { describe, expect, test } from "vitest";
import { SysfsView, procInterrupts } from "@imsim/core";
import { IdxdUserQueue, IdxdVdev, Memory, OPCODE_NOOP, OP_FLAG_RCI } from "../src/index.js";
import { STRATEGIES, boot, bootState } from "./support/boot.js";

describe.each(STRATEGIES)("views and teardown with the %s strategy", (name, strategy) => {
  test("/proc/interrupts and sysfs show the device's MSI-X and IMS interrupts with Linux's chip names", () => {
    const { system, driver, device } = boot(strategy);
    const vdev = IdxdVdev.create(driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g"), vectors: 3 });
    vdev.guest.enableVector(1, () => {});
    const user = IdxdUserQueue.open(driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "p") });
    user.submit({ opcode: OPCODE_NOOP, flags: OP_FLAG_RCI });
    device.run();
    const proc = procInterrupts(system);
    const lines = proc.split("\n");
    const line = (action: string) => lines.find((l) => l.endsWith(`  ${action}`))!;
    expect(line("idxd-misc")).toMatch(/^ *\d+: +0 +0 +0 +0 +IR-PCI-MSIX-0000:6a:01\.0 +0-edge +idxd-misc$/);
    expect(line("idxd-portal")).toMatch(/IR-PCI-MSIX-0000:6a:01\.0 +1-edge +idxd-portal$/);
    const imsOwner = (q: string) => (name === "subdevice" ? q : "0000:6a:01.0");
    expect(line("vfio-msix[1](vdsa0)")).toContain(`IR-PCI-IDXD-${imsOwner("vdsa0")} `);
    const userLine = line(user.actionName);
    expect(userLine).toContain(`IR-PCI-IDXD-${imsOwner(user.name)} `);
    expect(userLine.trim().split(/\s+/).slice(1, 5).map(Number).reduce((a, b) => a + b)).toBe(1);

    const sysfs = new SysfsView(system);
    const msixVirqs = [driver.miscVirq, driver.kernelWq(0).virq].map(String);
    const pciIrqs = sysfs.list("/sys/bus/pci/devices/0000:6a:01.0/msi_irqs");
    for (const v of msixVirqs) expect(pciIrqs).toContain(v);
    expect(sysfs.read(`/sys/bus/pci/devices/0000:6a:01.0/msi_irqs/${driver.miscVirq}`)).toBe("msix\n");
    const guestVirq = driver.strategy.irqs(vdev.queue)[0]!.virq;
    expect(sysfs.list(driver.strategy.queueSysfsDir(vdev.queue))).toEqual([String(guestVirq)]);
    expect(sysfs.read(`/sys/kernel/irq/${guestVirq}/chip_name`)).toBe(`IR-PCI-IDXD-${imsOwner("vdsa0")}\n`);
    expect(sysfs.read(`/sys/kernel/irq/${guestVirq}/actions`)).toBe("vfio-msix[1](vdsa0)\n");
    // The kernel's names: dsa0 on the dsa bus under the PCI function, its WQs under it (wq0.1 is
    // dsa0/wq0.1 in sysfs), each bound to the dsa-bus driver of its type once enabled.
    const pciPath = "/sys/devices/pci0000:6a/0000:6a:01.0";
    expect(sysfs.read("/sys/bus/dsa/devices/dsa0/uevent")).toBe("DRIVER=idxd\nMODALIAS=idxd:t0\n");
    expect(sysfs.read(`${pciPath}/dsa0/wq0.1/uevent`)).toBe("DRIVER=user\nMODALIAS=idxd:t0\n");
    expect(sysfs.read("/sys/bus/dsa/devices/wq0.0/uevent")).toBe("DRIVER=dmaengine\nMODALIAS=idxd:t0\n");
    expect(sysfs.read("/sys/bus/dsa/devices/wq0.5/uevent")).toBe("MODALIAS=idxd:t0\n");
    expect(sysfs.links().get(`${pciPath}/dsa0/wq0.1/driver`)).toBe("../../../../../bus/dsa/drivers/user");
    expect(sysfs.read(`${pciPath}/uevent`)).toBe(
      "DRIVER=idxd\nPCI_CLASS=88000\nPCI_ID=8086:0B25\nPCI_SUBSYS_ID=8086:0000\nPCI_SLOT_NAME=0000:6a:01.0\nMODALIAS=pci:v00008086d00000B25sv00008086sd00000000bc08sc80i00\n",
    );
    expect(driver.confDevice.name).toBe("dsa0");
    expect(driver.wqDevice(1)!.sysfsPath).toBe(`${pciPath}/dsa0/wq0.1`);
    // The guest's second vector appears in the queue's directory only once the guest enables it.
    vdev.guest.enableVector(2, () => {});
    expect(sysfs.list(driver.strategy.queueSysfsDir(vdev.queue))).toHaveLength(2);
    driver.remove();
    expect(system.device("dsa0", "dsa")).toBeUndefined();
    expect(system.device("0000:6a:01.0")!.driver).toBeUndefined();
  });

  const live = () => {
    const b = boot(strategy);
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g"), vectors: 3 });
    vdev.guest.enableVector(1, () => {});
    vdev.guest.enableVector(2, () => {});
    vdev.guest.maskVector(2);
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "p"), nvec: 2 });
    const other = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 8, memory: new Memory(1 << 16, "p2") });
    expect(b.device.boundPasids).toBe(3);
    return { ...b, vdev, user, other };
  };

  test("guest gone, then queue disabled, then device removed: back to the system as it booted", () => {
    const s = live();
    s.vdev.close();
    expect(s.device.wqEnabled(2)).toBe(false);
    s.driver.disableWq(1);
    expect(s.user.closed && s.other.closed).toBe(true);
    expect(s.device.wqEnabled(1)).toBe(false);
    expect(s.device.boundPasids).toBe(0);
    expect(s.system.snapshot().storeEntries).toBe(1 + 1); // misc + kernel WQ vector remain
    s.system.removeDevice(s.device.pci);
    expect(s.system.snapshot()).toEqual(bootState(s.system));
    expect(() => s.driver.remove()).not.toThrow();
  });

  test("device removed first with everything live: later closes are harmless and nothing leaks", () => {
    const s = live();
    s.system.removeDevice(s.device.pci);
    expect(s.system.snapshot()).toEqual(bootState(s.system));
    expect(() => {
      s.vdev.close();
      s.user.close();
      s.driver.remove();
    }).not.toThrow();
    expect(s.system.snapshot()).toEqual(bootState(s.system));
    expect(s.device.read(0, 4)).toBe(0xffffffff);
  });

  test("driver unbind with everything live returns to the state before probe; a new probe works", () => {
    const s = live();
    s.driver.remove();
    expect(s.system.snapshot()).toEqual(bootState(s.system, 1));
    expect(s.device.enabled).toBe(false);
    expect(s.device.boundPasids).toBe(0);
    expect(s.vdev.closed && s.user.closed).toBe(true);
    for (let i = 0; i < s.device.ims!.size; i++) if (!s.device.ims!.isMasked(i)) throw new Error(`IMS entry ${i} left unmasked`);
    s.system.removeDevice(s.device.pci);
    expect(s.system.snapshot()).toEqual(bootState(s.system));
  });

  test("queue disabled first, guest and device after", () => {
    const s = live();
    s.user.close();
    s.driver.disableWq(2);
    expect(s.vdev.closed).toBe(true);
    s.driver.remove();
    s.system.removeDevice(s.device.pci);
    expect(s.system.snapshot()).toEqual(bootState(s.system));
  });
});
