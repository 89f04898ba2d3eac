import { describe, expect, it } from "vitest";
import { createSystem, createMsixTable, Entry16Store, SysfsView, procInterrupts, MSI_DEFAULT_DOMAIN, isImsimError } from "@imsim/core";
import { createStrategy } from "../src/index.js";

function setup(interruptRemapping = true) {
  const system = createSystem({ cpus: 2, interruptRemapping });
  const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size: 64, requesterId: host.requesterId, pasid: true });
  const strategy = createStrategy(system, host, store);
  return { system, host, store, strategy };
}

describe("design B: the host keeps every descriptor", () => {
  it("allocates every queue's interrupts in the host's secondary domain; no child devices", () => {
    const { system, host, strategy } = setup();
    strategy.createQueue({ name: "wq0.0", nvec: 2 });
    strategy.createQueue({ name: "wq0.1", nvec: 2 });
    expect(system.devices()).toEqual([host]);
    const ims = system.msiDomain(host, 1)!;
    expect(ims.name).toBe("IR-PCI-IDXD-0000:6a:01.0-15");
    expect(ims.allocated).toBe(4);
  });

  it("numbers hwirq by the host store index", () => {
    const { system, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0", slice: { base: 40, count: 4 } });
    const irq = strategy.allocIrq(q);
    system.requestIrq(irq.virq, "guest", () => {});
    expect(irq.msiIndex).toBe(40);
    expect(irq.index).toBe(0);
    expect(procInterrupts(system)).toMatch(/IR-PCI-IDXD-0000:6a:01\.0\s+40-edge\s+guest/);
  });

  it("lists every interrupt in the host's msi_irqs, and one queue's in its extra attribute group", () => {
    const { system, host, strategy } = setup();
    const table = createMsixTable(4, host.requesterId);
    system.createMsiDomain(host, { domainId: MSI_DEFAULT_DOMAIN, store: table, kind: "msix" }).allocAt(0);
    const a = strategy.createQueue({ name: "a", nvec: 2 });
    const b = strategy.createQueue({ name: "b", nvec: 3, pasid: 9 });
    const view = new SysfsView(system);
    expect(view.list(`/sys/bus/pci/devices/${host.name}/msi_irqs`)).toHaveLength(1 + 5);
    expect(view.read(`/sys/bus/pci/devices/${host.name}/msi_irqs/${strategy.irqs(a)[0]!.virq}`)).toBe("msix\n");
    expect(view.list(strategy.queueSysfsDir(b))).toEqual(strategy.irqs(b).map((i) => String(i.virq)));
    expect(view.list(`${host.sysfsPath}/ims_queues`)).toEqual(["a", "b"]);
    expect(view.read(`${host.sysfsPath}/ims_queues/b/pasid`)).toBe("9\n");
    expect(view.read(`${host.sysfsPath}/ims_queues/a/pasid`)).toBe("none\n");
  });

  it("looks the PASID up in the per-queue table at every message write", () => {
    const { system, store, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0", pasid: 0x11, nvec: 2 });
    const other = strategy.createQueue({ name: "wq0.1", pasid: 0x33, nvec: 1 });
    // IMS messages are written when the interrupt is activated (request_irq), not at allocation.
    for (const irq of [...strategy.irqs(q), ...strategy.irqs(other)]) system.requestIrq(irq.virq, "wq", () => {});
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([0x11, 0x11]);
    expect(strategy.setPasid(q, 0x22)).toBe(2);
    expect(strategy.irqs(q).map((i) => store.pasid(i.storeIndex))).toEqual([0x22, 0x22]);
    expect(strategy.irqs(other).map((i) => store.pasid(i.storeIndex))).toEqual([0x33]);
    const grown = strategy.allocIrq(q);
    system.requestIrq(grown.virq, "wq", () => {});
    expect(store.pasid(grown.storeIndex)).toBe(0x22);
  });

  it("resolves the host's requester id on every allocation", () => {
    const { system, host, strategy } = setup();
    const q = strategy.createQueue({ name: "wq0.0" });
    const before = system.stats.sourceIdResolutions;
    strategy.allocIrqs(q, 5);
    expect(system.stats.sourceIdResolutions - before).toBe(5);
    expect(strategy.requesterId(q)).toBe(host.requesterId);
  });

  it("keeps queues whose slices overlap from touching each other's entries", () => {
    const { strategy } = setup();
    const a = strategy.createQueue({ name: "a" });
    const b = strategy.createQueue({ name: "b" });
    strategy.allocIrqs(a, 2);
    const [bi] = strategy.allocIrqs(b, 1);
    expect(bi!.storeIndex).toBe(2);
    let caught: unknown;
    try {
      strategy.freeIrq(b, 0);
    } catch (e) {
      caught = e;
    }
    expect(isImsimError(caught, "ENOENT")).toBe(true);
    expect(() => strategy.allocIrq(b, 0)).toThrowError(expect.objectContaining({ code: "EBUSY" }));
    expect(strategy.irqs(a).map((i) => i.index)).toEqual([0, 1]);
    expect(strategy.irqs(b).map((i) => i.index)).toEqual([2]);
    expect(strategy.queueOfVirq(bi!.virq)).toBe(b);
  });

  it("dispose removes the host's IMS domain and the extra sysfs group", () => {
    const { system, host, strategy } = setup();
    const start = system.snapshot();
    strategy.createQueue({ name: "a", nvec: 2 });
    strategy.dispose();
    expect(system.msiDomain(host, 1)).toBeUndefined();
    expect([...new SysfsView(system).files().keys()].some((p) => p.includes("ims_queues"))).toBe(false);
    expect(system.snapshot()).toEqual({ ...start, domains: start.domains - 1 });
  });

  it("counts its records per interrupt from the index sets, and per queue from the table rows", () => {
    const { strategy } = setup();
    const empty = strategy.records();
    const q = strategy.createQueue({ name: "a", nvec: 4 });
    const r = strategy.records();
    expect(r.queues).toBe(1);
    expect(r.interrupts).toBe(4);
    const count = (per: string) => r.records.filter((x) => x.per === per).reduce((n, x) => n + x.count, 0);
    expect(count("interrupt")).toBe(8);
    expect(count("queue")).toBe(2);
    expect(r.objects).toBe(empty.objects + 10);
    strategy.destroyQueue(q);
    expect(strategy.records()).toEqual(empty);
  });

  it("carries the queue id as each interrupt's cookie and has a per-queue sysfs directory", () => {
    const { strategy, system } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 2, pasid: 5 });
    for (const irq of strategy.irqs(q)) expect(system.irqDesc(irq.virq)!.msiDesc!.cookie).toBe(q.id);
    expect(strategy.supports.queueSysfs).toBe(true);
  });
});
