import { describe, expect, it } from "vitest";
import { createSystem, createMsixTable, Entry16Store, SysfsView, procInterrupts, isImsimError, type IrqSystem } from "@imsim/core";
import { createStrategy } from "../src/index.js";

function setup(interruptRemapping = true) {
  const system = createSystem({ cpus: 2, interruptRemapping });
  const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size: 64, requesterId: host.requesterId, pasid: true });
  const strategy = createStrategy(system, host, store);
  return { system, host, store, strategy };
}

function count(system: IrqSystem, virq: number) {
  return system.irqDesc(virq)!.total;
}

describe("design A: a queue is a child device", () => {
  it("creates a child on the subdevice bus under the host, with its own IMS domain", () => {
    const { system, host, strategy } = setup();
    strategy.createQueue({ name: "wq0.0", nvec: 2, slice: { base: 16, count: 8 } });
    const child = system.device("wq0.0")!;
    expect(child.bus).toBe("subdevice");
    expect(child.parent).toBe(host);
    expect(child.sysfsPath).toBe("/sys/devices/pci0000:6a/0000:6a:01.0/wq0.0");
    const domains = system.domains().filter((d) => d.device === child);
    expect(domains.map((d) => d.name)).toEqual(["IR-PCI-IDXD-wq0.0-15"]);
    expect(domains[0]!.hwsize).toBe(8);
  });

  it("names a child's chip after the store, but never PCI-MSIX: a slice of an MSI-X table is MSIX-<child>", () => {
    const system = createSystem({ cpus: 2, interruptRemapping: true });
    const host = system.addPciDevice({ bdf: "0000:05:00.1" });
    const strategy = createStrategy(system, host, createMsixTable(16, host.requesterId));
    const q = strategy.createQueue({ name: "qp0", nvec: 1, slice: { base: 0, count: 4 } });
    expect(system.domains().map((d) => d.name)).toEqual(["IR-MSIX-qp0-15"]);
    system.requestIrq(strategy.irqs(q)[0]!.virq, "ntb_transport", () => {});
    expect(procInterrupts(system)).toMatch(/ IR-MSIX-qp0   0-edge      ntb_transport\n/);
    // msi_mode_show: the child is no PCI function, so its msi_irqs files read "msi".
    expect(new SysfsView(system).read(`${strategy.queueSysfsDir(q)}/${strategy.irqs(q)[0]!.virq}`)).toBe("msi\n");
  });

  it("lists a queue's interrupts in the child's own msi_irqs with nothing added", () => {
    const { system, strategy } = setup();
    const before = new SysfsView(system).files().size;
    const q = strategy.createQueue({ name: "wq0.0", nvec: 3 });
    const view = new SysfsView(system);
    const virqs = strategy.irqs(q).map((i) => String(i.virq));
    expect(view.list("/sys/bus/subdevice/devices/wq0.0/msi_irqs")).toEqual(virqs);
    expect(strategy.queueSysfsDir(q)).toBe("/sys/devices/pci0000:6a/0000:6a:01.0/wq0.0/msi_irqs");
    expect(view.read(`${strategy.queueSysfsDir(q)}/${virqs[0]}`)).toBe("msi\n");
    // Only the child's own files: msi_irqs entries, its uevent, and the seven /sys/kernel/irq files
    // per virq (no /proc/irq/N before request_irq).
    const added = [...view.files().keys()].length - before;
    expect(added).toBe(3 + 1 + 3 * 7);
    expect(view.read("/sys/bus/subdevice/devices/wq0.0/uevent")).toBe("");
  });

  it("numbers hwirq within the child's domain (the slice), not the host store", () => {
    const { system, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0", slice: { base: 40, count: 4 } });
    const [irq] = strategy.allocIrqs(q, 1);
    system.requestIrq(irq!.virq, "guest", () => {});
    expect(irq!.msiIndex).toBe(0);
    expect(irq!.storeIndex).toBe(40);
    expect(procInterrupts(system)).toMatch(/IR-PCI-IDXD-wq0\.0\s+0-edge\s+guest/);
  });

  it("resolves the requester id once, when the child is created", () => {
    const { system, strategy, host } = setup();
    const before = system.stats.sourceIdResolutions;
    const q = strategy.createQueue({ name: "wq0.0" });
    expect(system.stats.sourceIdResolutions).toBe(before + 1);
    strategy.allocIrqs(q, 10);
    strategy.allocIrq(q);
    expect(system.stats.sourceIdResolutions).toBe(before + 1);
    expect(strategy.requesterId(q)).toBe(host.requesterId);
  });

  it("keeps the PASID on the child device and rewrites every entry when it changes", () => {
    const { system, store, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0", pasid: 0x11, nvec: 2 });
    expect(system.device("wq0.0")!.properties.get("pasid")).toBe(0x11);
    // An IMS entry (and its PASID) is written when the interrupt is requested.
    for (const irq of strategy.irqs(q)) system.requestIrq(irq.virq, "guest", () => {});
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([0x11, 0x11]);
    expect(strategy.setPasid(q, 0x22)).toBe(2);
    expect(system.device("wq0.0")!.properties.get("pasid")).toBe(0x22);
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([0x22, 0x22]);
    strategy.setPasid(q, undefined);
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([-1, -1]);
  });

  it("finds the queue of a virq through the descriptor's device", () => {
    const { strategy } = setup();
    const a = strategy.createQueue({ name: "a", nvec: 1 });
    const b = strategy.createQueue({ name: "b", nvec: 1 });
    expect(strategy.queueOfVirq(strategy.irqs(b)[0]!.virq)).toBe(b);
    expect(strategy.queueOfVirq(strategy.irqs(a)[0]!.virq)).toBe(a);
  });

  it("destroying a queue removes its child device and returns the system to its start", () => {
    const { system, strategy } = setup();
    const start = system.snapshot();
    const q = strategy.createQueue({ name: "wq0.0", nvec: 4 });
    strategy.destroyQueue(q);
    expect(system.device("wq0.0")).toBeUndefined();
    expect(system.snapshot()).toEqual(start);
    expect(strategy.records().records.filter((r) => r.per !== "fixed").map((r) => r.count)).toEqual([0]);
    expect(strategy.records().queues).toBe(0);
  });

  it("removing the host removes the children with it; the queue handles then fail with ENODEV", () => {
    const { system, host, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0", nvec: 2 });
    system.removeDevice(host);
    const boot = system.bootSnapshot;
    expect(system.snapshot()).toMatchObject({ devices: 0, virqs: boot.virqs, irtes: boot.irtes, descriptors: 0, storeEntries: 0 });
    expect(() => strategy.allocIrq(q)).toThrowError(expect.objectContaining({ code: "ENODEV" }));
  });

  it("refuses to create queues on a host without interrupt remapping: no IMS domain there (v6.2-v6.9), nothing changed", () => {
    const system = createSystem({ cpus: 2 });
    const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
    const store = new Entry16Store({ chipName: "PCI-IDXD", size: 64, requesterId: host.requesterId, pasid: true });
    const strategy = createStrategy(system, host, store);
    const before = system.snapshot();
    expect(() => strategy.createQueue({ name: "wq0.0", nvec: 1 })).toThrowError(expect.objectContaining({ code: "EOPNOTSUPP" }));
    expect(system.snapshot()).toEqual(before);
    expect(strategy.queues()).toEqual([]);
  });

  it("expanding a queue allocates in the child's domain and never rewrites its live interrupts", () => {
    const { system, store, strategy } = setup();
    const q = strategy.createQueue({ name: "guest", nvec: 1 });
    const first = strategy.irqs(q)[0]!;
    let hits = 0;
    system.requestIrq(first.virq, "vfio-0", () => hits++);
    const writes = system.irqDesc(first.virq)!.msiDesc!.writes;
    for (let n = 1; n < 16; n++) {
      strategy.allocIrq(q);
      system.raise(store, first.storeIndex);
    }
    expect(hits).toBe(15);
    expect(count(system, first.virq)).toBe(15);
    expect(system.irqDesc(first.virq)!.msiDesc!.writes).toBe(writes);
    expect(strategy.irqs(q)).toHaveLength(16);
  });

  it("refuses a queue whose child name is taken on the subdevice bus, changing nothing", () => {
    const { system, strategy } = setup();
    // Names are unique per bus: the same name elsewhere is no conflict.
    system.addDevice({ name: "taken", bus: "platform" });
    strategy.destroyQueue(strategy.createQueue({ name: "taken", nvec: 1 }));
    system.addDevice({ name: "taken", bus: "subdevice" });
    const before = system.snapshot();
    let caught: unknown;
    try {
      strategy.createQueue({ name: "taken", nvec: 1 });
    } catch (e) {
      caught = e;
    }
    expect(isImsimError(caught, "EEXIST")).toBe(true);
    expect(system.snapshot()).toEqual(before);
    expect(strategy.queues()).toEqual([]);
  });
});
