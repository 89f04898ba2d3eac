import { describe, expect, it } from "vitest";
import { Entry16Store, MSI_ANY_INDEX, MSI_SECONDARY_DOMAIN, SysfsView, createMsixTable, createSystem, isImsimError, procInterrupts, MSI_DEFAULT_DOMAIN } from "@imsim/core";
import { NO_PASID_COOKIE, cookieOfPasid, createStrategy, pasidOfCookie } from "../src/index.js";

function setup(interruptRemapping = true) {
  const system = createSystem({ cpus: 2, interruptRemapping });
  const host = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "PCI-IDXD", size: 64, requesterId: host.requesterId, pasid: true });
  const strategy = createStrategy(system, host, store);
  return { system, host, store, strategy };
}

const noop = (): void => {};

describe("design mainline: IMS as the PCI device's secondary domain (v6.2-v6.9)", () => {
  it("allocates every queue's interrupts in the host's MSI_SECONDARY_DOMAIN; no child devices", () => {
    const { system, host, strategy } = setup();
    strategy.createQueue({ name: "wq0.0", nvec: 2 });
    strategy.createQueue({ name: "wq0.1", nvec: 3 });
    expect(system.devices()).toEqual([host]);
    const ims = system.msiDomain(host, MSI_SECONDARY_DOMAIN)!;
    expect(ims.kind).toBe("ims");
    expect(ims.allocated).toBe(5);
    expect(system.msiDomain(host, MSI_DEFAULT_DOMAIN)).toBeUndefined();
  });

  it("gives a queue without a slice the index allocAt(MSI_ANY_INDEX) would: the lowest free of the whole domain", () => {
    const { system, host, strategy } = setup();
    const ims = system.msiDomain(host, MSI_SECONDARY_DOMAIN)!;
    const a = strategy.createQueue({ name: "a", nvec: 2 });
    const b = strategy.createQueue({ name: "b", nvec: 1 });
    strategy.freeIrq(a, 0);
    // Entry 0 is free again; entries 1 (a) and 2 (b) are taken.
    for (const q of [b, a, b]) {
      const expected = ims.lowestFree();
      expect(strategy.allocIrq(q).storeIndex).toBe(expected);
    }
    expect(strategy.irqs(a).map((i) => i.storeIndex)).toEqual([1, 3]);
    expect(strategy.irqs(b).map((i) => i.storeIndex)).toEqual([0, 2, 4]);
    // The domain's own MSI_ANY_INDEX picks the next one the strategy would have.
    const next = ims.lowestFree();
    const map = ims.allocAt(MSI_ANY_INDEX);
    expect(map.index).toBe(next);
    ims.free(map.index);
  });

  it("carries the PASID as each interrupt's instance cookie, and the chip writes it from there at activation", () => {
    const { system, store, strategy } = setup();
    const q = strategy.createQueue({ name: "vdsa0", nvec: 2, pasid: 0x42 });
    const none = strategy.createQueue({ name: "wq0.0", nvec: 1 });
    for (const irq of strategy.irqs(q)) {
      const desc = system.irqDesc(irq.virq)!.msiDesc!;
      expect(desc.cookie).toBe(0x42);
      // IMS entries are written when the interrupt is requested, not at allocation.
      expect(store.pasid(irq.storeIndex)).toBe(-1);
      system.requestIrq(irq.virq, "guest", noop);
      expect(store.pasid(irq.storeIndex)).toBe(0x42);
    }
    const irq = strategy.irqs(none)[0]!;
    expect(system.irqDesc(irq.virq)!.msiDesc!.cookie).toBe(NO_PASID_COOKIE);
    system.requestIrq(irq.virq, "kernel", noop);
    expect(store.pasid(irq.storeIndex)).toBe(-1);
  });

  it("reads the PASID from the descriptor alone: the domain's pasidOf consults no queue table", () => {
    const { system, host, strategy } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 1, pasid: 5 });
    const pasidOf = system.msiDomain(host, MSI_SECONDARY_DOMAIN)!.pasidOf!;
    const desc = system.irqDesc(strategy.irqs(q)[0]!.virq)!.msiDesc!;
    expect(pasidOf(desc)).toBe(5);
    // The same function on a descriptor-shaped object of another cookie: the answer follows the cookie only.
    expect(pasidOf({ ...desc, cookie: 0x777 } as typeof desc)).toBe(0x777);
    expect(pasidOf({ ...desc, cookie: NO_PASID_COOKIE } as typeof desc)).toBe(-1);
    expect([pasidOfCookie(cookieOfPasid(0xfffff)), pasidOfCookie(cookieOfPasid(undefined))]).toEqual([0xfffff, -1]);
  });

  it("setPasid gives every vector context and descriptor the new cookie and rewrites the written entries", () => {
    const { system, store, strategy } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 3, pasid: 7 });
    const other = strategy.createQueue({ name: "b", nvec: 1, pasid: 9 });
    for (const x of [q, other]) for (const irq of strategy.irqs(x)) system.requestIrq(irq.virq, `${x.name}${irq.index}`, noop);
    expect(strategy.setPasid(q, 0x1234)).toBe(3);
    for (const irq of strategy.irqs(q)) {
      expect(system.irqDesc(irq.virq)!.msiDesc!.cookie).toBe(0x1234);
      expect(store.pasid(irq.storeIndex)).toBe(0x1234);
    }
    expect(store.pasid(strategy.irqs(other)[0]!.storeIndex)).toBe(9);
    // Later vectors start from the queue's current cookie.
    const added = strategy.allocIrq(q);
    expect(system.irqDesc(added.virq)!.msiDesc!.cookie).toBe(0x1234);
    strategy.setPasid(q, undefined);
    expect(strategy.irqs(q).map((i) => system.irqDesc(i.virq)!.msiDesc!.cookie)).toEqual([NO_PASID_COOKIE, NO_PASID_COOKIE, NO_PASID_COOKIE, NO_PASID_COOKIE]);
  });

  it("a failed rewrite on a PASID change restores every cookie", () => {
    const { system, strategy } = setup();
    const q = strategy.createQueue({ name: "a", nvec: 2, pasid: 7 });
    for (const irq of strategy.irqs(q)) system.requestIrq(irq.virq, `a${irq.index}`, noop);
    system.injectFault("store-write", 1);
    expect(() => strategy.setPasid(q, 8)).toThrow();
    expect(strategy.irqs(q).map((i) => system.irqDesc(i.virq)!.msiDesc!.cookie)).toEqual([7, 7]);
    expect(strategy.irqs(q).map((i) => i.pasid)).toEqual([7, 7]);
  });

  it("tracks a queue's interrupts in the driver's per-vector contexts, counted in its records", () => {
    const { strategy } = setup();
    const empty = strategy.records();
    const a = strategy.createQueue({ name: "a", nvec: 3 });
    strategy.createQueue({ name: "b", nvec: 2 });
    const r = strategy.records();
    expect(r.records.find((x) => x.per === "interrupt")).toEqual({ what: "per-vector context (IMS index, cookie)", per: "interrupt", count: 5 });
    expect(r.records.find((x) => x.per === "queue")!.count).toBe(2);
    expect(r.interrupts).toBe(5);
    strategy.freeIrq(a, 1);
    expect(strategy.records().records.find((x) => x.per === "interrupt")!.count).toBe(4);
    for (const q of strategy.queues()) strategy.destroyQueue(q);
    expect(strategy.records()).toEqual(empty);
  });

  it("finds each virq's queue through the contexts, and none for an interrupt that is not the design's", () => {
    const { system, host, strategy } = setup();
    const table = createMsixTable(4, host.requesterId);
    const msix = system.createMsiDomain(host, { domainId: MSI_DEFAULT_DOMAIN, store: table, kind: "msix" }).allocAt(0);
    const a = strategy.createQueue({ name: "a", nvec: 2, slice: { base: 8, count: 8 } });
    const b = strategy.createQueue({ name: "b", nvec: 2, slice: { base: 8, count: 8 } });
    for (const q of [a, b]) for (const irq of strategy.irqs(q)) expect(strategy.queueOfVirq(irq.virq)).toBe(q);
    expect(strategy.queueOfVirq(msix.virq)).toBeUndefined();
  });

  it("has no per-queue sysfs directory: supports.queueSysfs is false, queueSysfsDir is EOPNOTSUPP, msi_irqs/ lists no IMS interrupt", () => {
    const { system, host, strategy } = setup();
    const table = createMsixTable(4, host.requesterId);
    const msix = system.createMsiDomain(host, { domainId: MSI_DEFAULT_DOMAIN, store: table, kind: "msix" }).allocAt(0);
    const q = strategy.createQueue({ name: "a", nvec: 2 });
    expect(strategy.supports.queueSysfs).toBe(false);
    let error: unknown;
    try {
      strategy.queueSysfsDir(q);
    } catch (e) {
      error = e;
    }
    expect(isImsimError(error, "EOPNOTSUPP")).toBe(true);
    const view = new SysfsView(system);
    expect(view.list(`${host.sysfsPath}/msi_irqs`)).toEqual([String(msix.virq)]);
    // Visible as interrupts all the same: /sys/kernel/irq/N and /proc/interrupts.
    for (const irq of strategy.irqs(q)) {
      expect(view.read(`/sys/kernel/irq/${irq.virq}/hwirq`)).toBe(`${irq.storeIndex}\n`);
      system.requestIrq(irq.virq, `a-${irq.index}`, noop);
    }
    expect(procInterrupts(system)).toMatch(/IR-PCI-IDXD-0000:6a:01\.0\s+1-edge\s+a-1/);
  });

  it("resolves the requester id at each IRTE allocation, as for any PCI interrupt; queries and PASID rewrites count nothing", () => {
    const { system, host, strategy } = setup();
    const before = system.stats.sourceIdResolutions;
    const q = strategy.createQueue({ name: "a", nvec: 4, pasid: 1 });
    expect(system.stats.sourceIdResolutions - before).toBe(4);
    expect(strategy.requesterId(q)).toBe(host.requesterId);
    for (const irq of strategy.irqs(q)) system.requestIrq(irq.virq, `a${irq.index}`, noop);
    strategy.setPasid(q, 2);
    expect(system.stats.sourceIdResolutions - before).toBe(4);
  });

  it("dispose removes the secondary domain; a host without a physical remapping unit is refused (EOPNOTSUPP)", () => {
    const { system, host, strategy } = setup();
    const start = system.snapshot();
    strategy.createQueue({ name: "a", nvec: 2 });
    strategy.dispose();
    expect(system.msiDomain(host, MSI_SECONDARY_DOMAIN)).toBeUndefined();
    expect(system.snapshot()).toEqual({ ...start, domains: start.domains - 1 });
    let error: unknown;
    try {
      setup(false);
    } catch (e) {
      error = e;
    }
    expect(isImsimError(error, "EOPNOTSUPP")).toBe(true);
  });
});
