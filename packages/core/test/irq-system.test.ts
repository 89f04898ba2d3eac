import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  Entry16Store,
  FAULTED,
  HELD,
  SPURIOUS,
  StoreSlice,
  composeCompat,
  createMsixTable,
  createSystem,
  decodeCompat,
  type FaultPoint,
  type IrqSystem,
} from "../src/index.js";
import { addMsixDevice, counter, dumpStore, expectCode } from "./support/helpers.js";

describe("requestIrq / freeIrq", () => {
  it("request unmasks the entry; a raise runs the handler once with (virq, devId) and counts on the effective CPU", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(1, { affinity: 0b10 });
    const seen: [number, unknown][] = [];
    const cookie = { q: 1 };
    sys.requestIrq(virq, "nvme0q1", (v, d) => void seen.push([v, d]), cookie);
    expect(store.isMasked(1)).toBe(false);
    expect(sys.raise(store, 1)).toBe(DELIVERED);
    expect(seen).toEqual([[virq, cookie]]);
    const irq = sys.irqDesc(virq)!;
    expect(Array.from(irq.counts)).toEqual([0, 1]);
    expect(irq.total).toBe(1);
    expect(sys.stats.delivered).toBe(1);
    expect(sys.snapshot().actions - sys.bootSnapshot.actions).toBe(1);
  });

  it("runs every action of a shared interrupt and counts the interrupt once", () => {
    const sys = createSystem({ cpus: 1 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const a = counter();
    const b = counter();
    sys.requestIrq(virq, "a", a.handler);
    sys.requestIrq(virq, "b", b.handler);
    sys.raise(store, 0);
    expect(a.calls).toEqual([virq]);
    expect(b.calls).toEqual([virq]);
    expect(sys.irqDesc(virq)!.total).toBe(1);
    sys.freeIrq(virq, "a");
    sys.raise(store, 0);
    expect(a.calls.length).toBe(1);
    expect(b.calls.length).toBe(2);
    expect(store.isMasked(0)).toBe(false);
  });

  it("freeing the last action masks the entry: later raises run no handler", () => {
    const sys = createSystem();
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    sys.freeIrq(virq, "q");
    expect(store.isMasked(0)).toBe(true);
    expect(sys.irqDesc(virq)!.started).toBe(false);
    expect(sys.raise(store, 0)).toBe(HELD);
    expect(h.calls).toEqual([]);
    expect(sys.snapshot().actions).toBe(sys.bootSnapshot.actions);
  });

  it("validates requests: ENOENT unknown virq or action, EINVAL bad arguments, EBUSY duplicate name", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const noop = () => {};
    expectCode(() => sys.requestIrq(virq + 1, "x", noop), "ENOENT");
    expectCode(() => sys.requestIrq(-1, "x", noop), "EINVAL");
    expectCode(() => sys.requestIrq(1.5, "x", noop), "EINVAL");
    expectCode(() => sys.requestIrq(virq, "", noop), "EINVAL");
    expectCode(() => sys.requestIrq(virq, "x".repeat(65), noop), "EINVAL");
    expectCode(() => sys.requestIrq(virq, "x", "notafunction" as never), "EINVAL");
    expect(sys.irqDesc(virq)!.started).toBe(false);
    sys.requestIrq(virq, "x", noop);
    expectCode(() => sys.requestIrq(virq, "x", noop), "EBUSY");
    expect(sys.irqDesc(virq)!.actions.length).toBe(1);
    expectCode(() => sys.freeIrq(virq, "y"), "ENOENT");
    expectCode(() => sys.freeIrq(virq + 5, "x"), "ENOENT");
  });

  it("re-requesting after freeing a disabled interrupt starts it enabled again (Linux resets depth on startup, kernel/irq/irq_test.c)", () => {
    const sys = createSystem();
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    expect(sys.irqDesc(virq)!.depth).toBe(0);
    sys.disableIrq(virq);
    expect(sys.irqDesc(virq)!.depth).toBe(1);
    sys.freeIrq(virq, "q");
    expect(sys.irqDesc(virq)!.depth).toBeGreaterThanOrEqual(1);
    sys.requestIrq(virq, "q", h.handler);
    expect(sys.irqDesc(virq)!.depth).toBe(0);
    expect(sys.raise(store, 0)).toBe(DELIVERED);
    expect(h.calls).toEqual([virq]);
  });
});

describe("disable / enable and held interrupts", () => {
  it("nests: delivered only when every disable has been matched by an enable", () => {
    const sys = createSystem();
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    sys.disableIrq(virq);
    sys.disableIrq(virq);
    // Lazy disable: the entry is masked by the first interrupt that arrives while disabled.
    expect(store.isMasked(0)).toBe(false);
    expect(sys.raise(store, 0)).toBe(HELD);
    expect(store.isMasked(0)).toBe(true);
    sys.enableIrq(virq);
    expect(sys.irqDesc(virq)!.depth).toBe(1);
    expect(store.isMasked(0)).toBe(true);
    expect(h.calls).toEqual([]);
    sys.enableIrq(virq);
    expect(h.calls).toEqual([virq]);
    expect(store.isMasked(0)).toBe(false);
    expect(store.isPending(0)).toBe(false);
    expect(sys.raise(store, 0)).toBe(DELIVERED);
    expect(h.calls.length).toBe(2);
  });

  it("an unbalanced enable is EINVAL and changes nothing", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.requestIrq(virq, "q", () => {});
    expectCode(() => sys.enableIrq(virq), "EINVAL");
    expect(sys.irqDesc(virq)!.depth).toBe(0);
    expect(sys.irqDesc(virq)!.enabled).toBe(true);
  });

  it("a raise while masked is held and delivered exactly once when the interrupt is started", () => {
    const sys = createSystem();
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(2);
    expect(sys.raise(store, 2)).toBe(HELD);
    expect(store.isPending(2)).toBe(true);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    expect(h.calls).toEqual([virq]);
    expect(store.isPending(2)).toBe(false);
    sys.disableIrq(virq);
    sys.enableIrq(virq);
    expect(h.calls).toEqual([virq]);
  });

  it("coalesces several raises while disabled into one delivery (pending bit)", () => {
    const sys = createSystem();
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    sys.disableIrq(virq);
    for (let i = 0; i < 5; i++) expect(sys.raise(store, 0)).toBe(HELD);
    expect(sys.stats.held).toBe(5);
    sys.enableIrq(virq);
    expect(h.calls).toEqual([virq]);
    expect(sys.irqDesc(virq)!.total).toBe(1);
    expect(sys.stats.delivered).toBe(1);
  });

  it("holds a write that reaches a disabled interrupt through an unmasked path and replays it once on enable", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    const msg = { ...domain.desc(0)!.msg };
    sys.disableIrq(virq);
    expect(sys.msiWrite(msg.addressLo, msg.addressHi, msg.data, 0x100, -1)).toBe(HELD);
    expect(sys.msiWrite(msg.addressLo, msg.addressHi, msg.data, 0x100, -1)).toBe(HELD);
    expect(h.calls).toEqual([]);
    sys.enableIrq(virq);
    expect(h.calls).toEqual([virq]);
  });

  it("raises on one entry never reach another entry's handler", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const maps = domain.allocRange(0, 3);
    const hs = maps.map((m) => {
      const h = counter();
      sys.requestIrq(m.virq, `q${m.index}`, h.handler);
      return h;
    });
    sys.raise(store, 2);
    sys.raise(store, 2);
    sys.raise(store, 0);
    expect(hs.map((h) => h.calls)).toEqual([[maps[0]!.virq], [], [maps[2]!.virq, maps[2]!.virq], []]);
  });
});

describe("CPU hotplug", () => {
  function loaded(ir: boolean) {
    const sys = createSystem({ cpus: 3, interruptRemapping: ir });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 12);
    const maps = domain.allocRange(0, 8);
    const handlers = maps.map((m) => {
      const h = counter();
      sys.requestIrq(m.virq, `q${m.index}`, h.handler);
      return h;
    });
    return { sys, store, domain, maps, handlers };
  }

  for (const ir of [false, true]) {
    it(`offline moves the CPU's interrupts to other CPUs with a new vector${ir ? " (only the IRTE changes under remapping)" : " and a re-written message"}, none lost`, () => {
      const { sys, store, domain, maps, handlers } = loaded(ir);
      const onCpu1 = maps.filter((m) => sys.irqDesc(m.virq)!.effectiveCpu === 1);
      expect(onCpu1.length).toBeGreaterThan(1);
      // One of them is disabled with a raise held across the move.
      const held = onCpu1[0]!;
      sys.disableIrq(held.virq);
      expect(sys.raise(store, held.index)).toBe(HELD);
      const before = new Map(maps.map((m) => [m.virq, { cpu: sys.irqDesc(m.virq)!.effectiveCpu, vector: sys.irqDesc(m.virq)!.vector, writes: domain.desc(m.index)!.writes, lo: store.addressLo(m.index) }]));
      sys.setCpuOnline(1, false);
      expect(sys.isCpuOnline(1)).toBe(false);
      expect(sys.matrix.counts(1).online).toBe(false);
      for (const m of maps) {
        const irq = sys.irqDesc(m.virq)!;
        const old = before.get(m.virq)!;
        expect(irq.effectiveCpu).not.toBe(1);
        expect(sys.vector.lookup(irq.effectiveCpu, irq.vector)).toBe(m.virq);
        if (old.cpu !== 1) {
          expect([irq.effectiveCpu, irq.vector, domain.desc(m.index)!.writes]).toEqual([old.cpu, old.vector, old.writes]);
          continue;
        }
        if (ir) {
          expect(sys.irtes!.destination[irq.irte]).toBe(irq.effectiveCpu);
          expect(sys.irtes!.vector[irq.irte]).toBe(irq.vector);
          expect([store.addressLo(m.index), domain.desc(m.index)!.writes]).toEqual([old.lo, old.writes]);
        } else {
          const f = decodeCompat({ addressLo: store.addressLo(m.index), addressHi: 0, data: store.data(m.index) });
          expect([f.apicId, f.vector]).toEqual([irq.effectiveCpu, irq.vector]);
          expect(domain.desc(m.index)!.writes).toBe(old.writes + 1);
        }
      }
      for (const m of maps) if (m !== held) expect(sys.raise(store, m.index)).toBe(DELIVERED);
      sys.enableIrq(held.virq);
      handlers.forEach((h, i) => expect(h.calls).toEqual([maps[i]!.virq]));
      for (const m of onCpu1) expect(sys.irqDesc(m.virq)!.counts[1]).toBe(0);
      expect(sys.stats.faulted + sys.stats.spurious).toBe(0);
    });
  }

  it("a message write failing midway through an offline puts the CPU back online and reports the write's EIO", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    const maps = domain.allocRange(0, 5, { affinity: [0] });
    for (const m of maps) sys.requestIrq(m.virq, `q${m.index}`, () => {});
    sys.injectFault("store-write", 2); // the third move fails
    const e = expectCode(() => sys.setCpuOnline(0, false), "EIO");
    expect(e.message).toContain("store-write");
    sys.clearInjectedFaults();
    expect(sys.isCpuOnline(0)).toBe(true);
    for (const m of maps) {
      const irq = sys.irqDesc(m.virq)!;
      expect(sys.vector.lookup(irq.effectiveCpu, irq.vector)).toBe(m.virq);
      expect(sys.raise(store, m.index)).toBe(DELIVERED);
    }
  });

  it("keeps the disable depth of an interrupt across offline and online (kernel/irq/irq_test.c)", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: [1] });
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    sys.disableIrq(virq);
    sys.setCpuOnline(1, false);
    expect(sys.irqDesc(virq)!.depth).toBe(1);
    expect(sys.irqDesc(virq)!.effectiveCpu).toBe(0);
    sys.setCpuOnline(1, true);
    expect(sys.irqDesc(virq)!.depth).toBe(1);
    expect(sys.raise(store, 0)).toBe(HELD);
    sys.enableIrq(virq);
    expect(h.calls).toEqual([virq]);
  });

  it("brings a CPU back online for new activations; online twice is a no-op", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    sys.setCpuOnline(1, false);
    sys.setCpuOnline(1, false);
    const a = domain.allocAt(0);
    sys.requestIrq(a.virq, "a", () => {});
    expect(sys.irqDesc(a.virq)!.effectiveCpu).toBe(0);
    sys.setCpuOnline(1, true);
    sys.setCpuOnline(1, true);
    expect(sys.onlineCpus.toList()).toBe("0-1");
    const b = domain.allocAt(1, { affinity: [1] });
    sys.requestIrq(b.virq, "b", () => {});
    expect(sys.irqDesc(b.virq)!.effectiveCpu).toBe(1);
  });

  it("validates its arguments with EINVAL", () => {
    const sys = createSystem({ cpus: 2 });
    expectCode(() => sys.setCpuOnline(2, false), "EINVAL");
    expectCode(() => sys.setCpuOnline(-1, false), "EINVAL");
    expectCode(() => sys.setCpuOnline(0, "no" as never), "EINVAL");
    expect(sys.onlineCpus.toList()).toBe("0-1");
  });
});

describe("setAffinity", () => {
  it("moves an interrupt whose CPU leaves the mask and keeps it where it is otherwise (remapping: at once)", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const irq = sys.irqDesc(virq)!;
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    sys.setAffinity(virq, "2-3");
    expect(irq.affinity.toList()).toBe("2-3");
    expect([2, 3]).toContain(irq.effectiveCpu);
    const cpu = irq.effectiveCpu;
    expect(sys.vector.lookup(cpu, irq.vector)).toBe(virq);
    expect(sys.irtes!.destination[irq.irte]).toBe(cpu);
    const writes = domain.desc(0)!.writes;
    sys.tick();
    sys.setAffinity(virq, [1, cpu]); // still contains the CPU: no move
    expect(irq.effectiveCpu).toBe(cpu);
    expect(domain.desc(0)!.writes).toBe(writes);
    expect(irq.affinity.toList()).toBe(`1,${cpu}`);
    expect(sys.raise(store, 0)).toBe(DELIVERED);
    expect(irq.counts[cpu]).toBe(1);
    expect(h.calls).toEqual([virq]);
  });

  it("of an interrupt that is not activated only records the mask (IRQD_AFFINITY_ON_ACTIVATE), used at activation", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.setAffinity(virq, [3]);
    expect([sys.irqDesc(virq)!.affinity.toList(), sys.irqDesc(virq)!.effectiveMask?.toList(), sys.irqDesc(virq)!.vector]).toEqual(["3", "3", 0]);
    sys.requestIrq(virq, "q", () => {});
    expect(sys.irqDesc(virq)!.effectiveCpu).toBe(3);
  });

  it("rejects an empty mask, a mask of offline CPUs only, and malformed masks with EINVAL", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.setCpuOnline(1, false);
    const snap = sys.snapshot();
    expectCode(() => sys.setAffinity(virq, 0), "EINVAL");
    expectCode(() => sys.setAffinity(virq, [1]), "EINVAL");
    expectCode(() => sys.setAffinity(virq, 0b100), "EINVAL");
    expectCode(() => sys.setAffinity(virq, 1.5), "EINVAL");
    expectCode(() => sys.setAffinity(virq, "1-0"), "EINVAL");
    expectCode(() => sys.setAffinity(1234, 1), "ENOENT");
    expect(sys.irqDesc(virq)!.affinity.toList()).toBe("0-1");
    expect(sys.snapshot()).toEqual(snap);
  });

  it("a failed message write during a move leaves the interrupt where it was", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: [0] });
    sys.requestIrq(virq, "q", () => {});
    sys.setAffinity(virq, [1]); // without remapping: pending until the next interrupt
    const irq = sys.irqDesc(virq)!;
    const entries = dumpStore(store);
    sys.injectFault("store-write", 0);
    const vector = irq.vector;
    sys.raise(store, 0); // the move at the ack fails: the interrupt stays, the move is dropped
    sys.clearInjectedFaults();
    expect([irq.effectiveCpu, irq.vector, irq.moveP]).toEqual([0, vector, false]);
    expect(dumpStore(store)).toEqual(entries);
    expect(sys.vector.lookup(0, irq.vector)).toBe(virq);
  });
});

describe("delivery without remapping", () => {
  it("decodes the compatibility format whatever bit 4 says; a non-MSI address faults; an unowned vector is spurious", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const h = counter();
    sys.requestIrq(domain.allocAt(0).virq, "q", h.handler);
    expect(sys.msiWrite(0xfed00000, 0, 0x21, 0x100)).toBe(FAULTED);
    expect(sys.msiWrite(0xfee00000, 1, 0x21, 0x100)).toBe(FAULTED);
    expect(sys.faults.count("not-msi-address")).toBe(2);
    const free = composeCompat(1, 0x60);
    expect(sys.msiWrite(free.addressLo, 0, free.data, 0x100)).toBe(SPURIOUS);
    expect(sys.stats.spurious).toBe(1);
    const shutdown = composeCompat(0, 0xef);
    expect(sys.msiWrite(shutdown.addressLo, 0, shutdown.data, 0x100)).toBe(SPURIOUS);
    expect(sys.arch.spurious[0]).toBe(1); // a system-range vector: spurious_interrupt counts it (SPU)
    expect(h.calls).toEqual([]);
  });
});

describe("device removal", () => {
  it("releases every interrupt, vector, IRTE and entry of the device and its children, requested handlers included", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const initial = sys.snapshot();
    const host = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const msix = sys.createMsiDomain(host, { domainId: 0, store: createMsixTable(4, 0x6a08), kind: "msix" });
    const ims = new Entry16Store({ chipName: "PCI-IDXD", size: 16, requesterId: 0x6a08, pasid: true });
    const child = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: host });
    const grandchild = sys.addDevice({ name: "wq0.0.0", bus: "subdevice", parent: child });
    const childDomain = sys.createMsiDomain(child, { domainId: 1, store: new StoreSlice(ims, 0, 8), kind: "ims" });
    const gcDomain = sys.createMsiDomain(grandchild, { domainId: 1, store: new StoreSlice(ims, 8, 8), kind: "ims" });
    for (const m of msix.allocRange(0, 3)) sys.requestIrq(m.virq, `msix${m.index}`, () => {});
    for (const m of childDomain.allocRange(0, 4)) sys.requestIrq(m.virq, `wq${m.index}`, () => {});
    gcDomain.allocAny(2);
    const d = sys.snapshot();
    expect({ devices: d.devices, domains: d.domains, virqs: d.virqs - initial.virqs, irtes: d.irtes - initial.irtes, descriptors: d.descriptors, storeEntries: d.storeEntries, actions: d.actions - initial.actions }).toEqual({
      devices: 3,
      domains: 3,
      virqs: 11,
      irtes: 11,
      descriptors: 11,
      storeEntries: 11,
      actions: 9,
    });
    const order: string[] = [];
    sys.onRemove(host, () => order.push(`host:${msix.allocated}`));
    sys.onRemove(child, () => order.push(`child:${childDomain.allocated}`));
    sys.removeDevice(host);
    expect(order).toEqual(["child:5", "host:4"]);
    expect(sys.snapshot()).toEqual(initial);
    expect(sys.devices()).toEqual([]);
    expect([host.removed, child.removed, grandchild.removed]).toEqual([true, true, true]);
    expect(msix.removed && childDomain.removed && gcDomain.removed).toBe(true);
    for (let i = 0; i < 16; i++) expect([ims.isMasked(i), ims.addressLo(i), ims.data(i)]).toEqual([true, 0, 0]);
    expectCode(() => sys.removeDevice(host), "ENODEV");
    expectCode(() => childDomain.allocAt(0), "ENODEV");
  });
});

describe("fault injection rolls allocation back", () => {
  const N = 4;
  function withExisting(ir: boolean) {
    const sys = createSystem({ cpus: 2, interruptRemapping: ir });
    const fx = addMsixDevice(sys, "0000:01:00.0", 8);
    const { virq } = fx.domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q0", h.handler);
    return { sys, ...fx, virq, h };
  }
  const points: [FaultPoint, boolean][] = [
    ["store-write", false],
    ["vector-alloc", false],
    ["store-write", true],
    ["vector-alloc", true],
    ["irte-alloc", true],
  ];

  for (const [point, ir] of points) {
    for (let n = 0; n < N; n++) {
      it(`${point} failing at interrupt ${n + 1} of a ${N}-interrupt allocRange${ir ? " (remapping)" : ""} restores the exact prior state`, () => {
        const { sys, store, domain, virq, h } = withExisting(ir);
        const snap = sys.snapshot();
        const entries = dumpStore(store);
        const irtes = sys.irtes ? Array.from(sys.irtes.present) : [];
        sys.injectFault(point, n);
        expectCode(() => domain.allocRange(1, N), "EIO");
        sys.clearInjectedFaults();
        expect(sys.snapshot()).toEqual(snap);
        expect(dumpStore(store)).toEqual(entries);
        if (sys.irtes) expect(Array.from(sys.irtes.present)).toEqual(irtes);
        expect(domain.allocated).toBe(1);
        for (let i = 1; i <= N; i++) expect(domain.desc(i)).toBeUndefined();
        // The next allocation gets exactly what it would have got without the failure.
        const first = virq + 1;
        expect(domain.allocRange(1, N).map((m) => m.virq)).toEqual([first, first + 1, first + 2, first + 3]);
        expect(sys.raise(store, 0)).toBe(DELIVERED);
        expect(h.calls).toEqual([virq]);
      });
    }
  }

  it("a countdown past the last operation does not fire", () => {
    const { sys, domain } = withExisting(true);
    sys.injectFault("store-write", N);
    expect(domain.allocRange(1, N).length).toBe(N);
    expectCode(() => domain.allocAt(5), "EIO");
    sys.clearInjectedFaults();
    expect(domain.allocAt(5).index).toBe(5);
  });

  it("allocAny and allocAt roll back the same way", () => {
    for (const point of ["store-write", "vector-alloc", "irte-alloc"] as const) {
      const { sys, store, domain } = withExisting(true);
      const snap = sys.snapshot();
      const entries = dumpStore(store);
      sys.injectFault(point, 2);
      expectCode(() => domain.allocAny(3), "EIO");
      expect(sys.snapshot()).toEqual(snap);
      expect(dumpStore(store)).toEqual(entries);
      sys.injectFault(point, 0);
      expectCode(() => domain.allocAt(7), "EIO");
      expect(sys.snapshot()).toEqual(snap);
      expect(dumpStore(store)).toEqual(entries);
    }
  });

  it("irte-alloc never fires without remapping", () => {
    const { sys, domain } = withExisting(false);
    sys.injectFault("irte-alloc", 0);
    expect(domain.allocRange(1, N).length).toBe(N);
  });

  it("a negative or fractional countdown is EINVAL", () => {
    const sys = createSystem();
    expectCode(() => sys.injectFault("store-write", -1), "EINVAL");
    expectCode(() => sys.injectFault("store-write", 0.5), "EINVAL");
  });
});

describe("system options", () => {
  it("validates CPU count, options and IRTE count with EINVAL", () => {
    expectCode(() => createSystem({ cpus: 0 }), "EINVAL");
    expectCode(() => createSystem({ cpus: 8193 }), "EINVAL");
    expectCode(() => createSystem({ interruptRemapping: "yes" as never }), "EINVAL");
    expectCode(() => createSystem({ interruptRemapping: true, irteCount: 0 }), "EINVAL");
    expectCode(() => createSystem({ iommus: 0 }), "EINVAL");
    expectCode(() => createSystem({ virtualIommu: 1 as never }), "EINVAL");
    expectCode(() => createSystem(null as never), "EINVAL");
    const s = createSystem();
    expect([s.cpus, s.interruptRemapping, s.irtes, s.name]).toEqual([4, false, undefined, "host"]);
    expect(createSystem({ interruptRemapping: true }).irtes!.size).toBe(65536);
  });

  it("runs out of IRTEs with ENOSPC and no trace", () => {
    const sys: IrqSystem = createSystem({ interruptRemapping: true, irteCount: 64 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 64);
    const free = 64 - sys.irtes!.inUse;
    domain.allocRange(0, free - 1);
    const snap = sys.snapshot();
    const entries = dumpStore(store);
    expectCode(() => domain.allocAt(free), "ENOSPC");
    expect(sys.snapshot()).toEqual(snap);
    expect(dumpStore(store)).toEqual(entries);
  });

  it("runs out of virqs with ENOSPC and no trace", () => {
    const sys = createSystem({ maxVirqs: 96 }); // virqs 24..95 are dynamic
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 100);
    domain.allocRange(0, 71);
    const snap = sys.snapshot();
    expectCode(() => domain.allocAt(72), "ENOSPC");
    expect(sys.snapshot()).toEqual(snap);
  });
});
