import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  Entry16Store,
  FAULTED,
  HELD,
  SPURIOUS,
  StoreSlice,
  composeCompat,
  composeRemappable,
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
    expect(sys.snapshot().actions).toBe(1);
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
    expect(sys.snapshot().actions).toBe(0);
  });

  it("validates requests: ENOENT unknown virq or action, EINVAL bad arguments, EBUSY duplicate name", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    const noop = () => {};
    expectCode(() => sys.requestIrq(virq + 1, "x", noop), "ENOENT");
    expectCode(() => sys.requestIrq(0, "x", noop), "EINVAL");
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
    expect(store.isMasked(0)).toBe(true);
    expect(sys.raise(store, 0)).toBe(HELD);
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
    it(`offline moves the CPU's interrupts to other CPUs with a new vector and a re-written message${ir ? " (IRTE under remapping)" : ""}, none lost`, () => {
      const { sys, store, domain, maps, handlers } = loaded(ir);
      const onCpu1 = maps.filter((m) => sys.irqDesc(m.virq)!.effectiveCpu === 1);
      expect(onCpu1.length).toBe(3);
      // One of them is disabled with a raise held across the move.
      const held = onCpu1[0]!;
      sys.disableIrq(held.virq);
      expect(sys.raise(store, held.index)).toBe(HELD);
      const before = new Map(maps.map((m) => [m.virq, { ...sys.irqDesc(m.virq)!, writes: domain.desc(m.index)!.writes, lo: store.addressLo(m.index), data: store.data(m.index) }]));
      sys.setCpuOnline(1, false);
      expect(sys.isCpuOnline(1)).toBe(false);
      expect(sys.matrix.allocatedOn(1)).toBe(0);
      expect(sys.matrix.vectorsOf(1)).toEqual([]);
      for (const m of maps) {
        const irq = sys.irqDesc(m.virq)!;
        const old = before.get(m.virq)!;
        expect(irq.effectiveCpu).not.toBe(1);
        expect(sys.matrix.lookup(irq.effectiveCpu, irq.vector)).toBe(m.virq);
        if (old.effectiveCpu !== 1) {
          expect([irq.effectiveCpu, irq.vector]).toEqual([old.effectiveCpu, old.vector]);
          expect(domain.desc(m.index)!.writes).toBe(old.writes);
          continue;
        }
        expect(domain.desc(m.index)!.writes).toBe(old.writes + 1);
        if (ir) {
          expect(sys.irtes!.destination[irq.irte]).toBe(irq.effectiveCpu);
          expect(sys.irtes!.vector[irq.irte]).toBe(irq.vector);
          expect(store.addressLo(m.index)).toBe(old.lo); // only the IRTE changes
        } else {
          const f = decodeCompat({ addressLo: store.addressLo(m.index), addressHi: 0, data: store.data(m.index) });
          expect([f.apicId, f.vector]).toEqual([irq.effectiveCpu, irq.vector]);
        }
      }
      expect(sys.snapshot().vectorsPerCpu.reduce((a, b) => a + b, 0)).toBe(maps.length);
      for (const m of maps) if (m !== held) expect(sys.raise(store, m.index)).toBe(DELIVERED);
      sys.enableIrq(held.virq);
      handlers.forEach((h, i) => expect(h.calls).toEqual([maps[i]!.virq]));
      for (const m of onCpu1) expect(sys.irqDesc(m.virq)!.counts[1]).toBe(0);
      expect(sys.stats.faulted + sys.stats.spurious).toBe(0);
    });
  }

  it("taking the last online CPU offline is EBUSY and changes nothing", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 3);
    sys.setCpuOnline(0, false);
    const snap = sys.snapshot();
    expectCode(() => sys.setCpuOnline(1, false), "EBUSY");
    expect(sys.isCpuOnline(1)).toBe(true);
    expect(sys.snapshot()).toEqual(snap);
  });

  it("fails with no trace when the other CPUs have no room for the interrupts", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 2048);
    // Fill CPU1 completely.
    for (let i = 0; i < 203; i++) domain.allocAt(i, { affinity: 0b10 });
    expect(sys.matrix.allocatedOn(1)).toBe(203);
    const a = domain.allocAt(300, { affinity: 0b01 });
    const b = domain.allocAt(301, { affinity: 0b01 });
    const snap = sys.snapshot();
    const entries = dumpStore(store);
    const where = [a, b].map((m) => [sys.irqDesc(m.virq)!.effectiveCpu, sys.irqDesc(m.virq)!.vector]);
    let threw = false;
    try {
      sys.setCpuOnline(0, false);
    } catch (e) {
      threw = true;
      expect((e as { code?: string }).code).toBe("ENOSPC");
    }
    expect(threw).toBe(true);
    expect(sys.isCpuOnline(0)).toBe(true);
    expect(sys.snapshot()).toEqual(snap);
    expect(dumpStore(store)).toEqual(entries);
    expect([a, b].map((m) => [sys.irqDesc(m.virq)!.effectiveCpu, sys.irqDesc(m.virq)!.vector])).toEqual(where);
    const h = counter();
    sys.requestIrq(a.virq, "a", h.handler);
    expect(sys.raise(store, 300)).toBe(DELIVERED);
    expect(h.calls).toEqual([a.virq]);
  });

  it("a message write failing midway through an offline puts every interrupt back and reports the write's EIO", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    const maps = domain.allocRange(0, 5, { affinity: 0b01 });
    const snap = sys.snapshot();
    const entries = dumpStore(store);
    sys.injectFault("store-write", 2); // the third move fails
    const e = expectCode(() => sys.setCpuOnline(0, false), "EIO");
    expect(e.message).toContain("store-write");
    sys.clearInjectedFaults();
    expect(sys.isCpuOnline(0)).toBe(true);
    expect(sys.snapshot()).toEqual(snap);
    expect(dumpStore(store)).toEqual(entries);
    for (const m of maps) {
      const irq = sys.irqDesc(m.virq)!;
      expect(irq.effectiveCpu).toBe(0);
      expect(sys.matrix.lookup(0, irq.vector)).toBe(m.virq);
    }
  });

  it("keeps the disable depth of an interrupt across offline and online (kernel/irq/irq_test.c)", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: 0b10 });
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

  it("brings a CPU back online for new allocations; online twice is a no-op", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    sys.setCpuOnline(1, false);
    sys.setCpuOnline(1, false);
    expect(sys.irqDesc(domain.allocAt(0).virq)!.effectiveCpu).toBe(0);
    sys.setCpuOnline(1, true);
    sys.setCpuOnline(1, true);
    expect(sys.matrix.onlineMask).toBe(0b11);
    expect(sys.irqDesc(domain.allocAt(1).virq)!.effectiveCpu).toBe(1);
  });

  it("validates its arguments with EINVAL", () => {
    const sys = createSystem({ cpus: 2 });
    expectCode(() => sys.setCpuOnline(2, false), "EINVAL");
    expectCode(() => sys.setCpuOnline(-1, false), "EINVAL");
    expectCode(() => sys.setCpuOnline(0, "no" as never), "EINVAL");
    expect(sys.matrix.onlineMask).toBe(0b11);
  });
});

describe("setAffinity", () => {
  for (const ir of [false, true]) {
    it(`moves an interrupt whose CPU leaves the mask and keeps it where it is otherwise${ir ? " (remapping)" : ""}`, () => {
      const sys = createSystem({ cpus: 4, interruptRemapping: ir });
      const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
      const { virq } = domain.allocAt(0);
      const irq = sys.irqDesc(virq)!;
      expect(irq.effectiveCpu).toBe(0);
      const oldVector = irq.vector;
      const h = counter();
      sys.requestIrq(virq, "q", h.handler);
      sys.setAffinity(virq, 0b1100);
      expect(irq.affinity).toBe(0b1100);
      expect(irq.effectiveCpu).toBe(2);
      expect(sys.matrix.lookup(0, oldVector)).toBe(0);
      expect(sys.matrix.lookup(2, irq.vector)).toBe(virq);
      expect(sys.snapshot().vectorsPerCpu).toEqual([0, 0, 1, 0]);
      if (ir) expect(sys.irtes!.destination[irq.irte]).toBe(2);
      else expect(decodeCompat({ addressLo: store.addressLo(0), addressHi: 0, data: store.data(0) }).apicId).toBe(2);
      const writes = domain.desc(0)!.writes;
      sys.setAffinity(virq, 0b0110); // still contains CPU2: no move
      expect(irq.effectiveCpu).toBe(2);
      expect(domain.desc(0)!.writes).toBe(writes);
      expect(irq.affinity).toBe(0b0110);
      expect(sys.raise(store, 0)).toBe(DELIVERED);
      expect(Array.from(irq.counts)).toEqual([0, 0, 1, 0]);
      expect(h.calls).toEqual([virq]);
    });
  }

  it("rejects an empty mask, a mask of offline CPUs only, and non-integers with EINVAL", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.setCpuOnline(1, false);
    const snap = sys.snapshot();
    expectCode(() => sys.setAffinity(virq, 0), "EINVAL");
    expectCode(() => sys.setAffinity(virq, 0b10), "EINVAL");
    expectCode(() => sys.setAffinity(virq, 0b100), "EINVAL");
    expectCode(() => sys.setAffinity(virq, 1.5), "EINVAL");
    expectCode(() => sys.setAffinity(virq + 1, 1), "ENOENT");
    expect(sys.irqDesc(virq)!.affinity).toBe(0b11);
    expect(sys.snapshot()).toEqual(snap);
  });

  it("a failed message write during a move leaves the interrupt where it was", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: 0b01 });
    const snap = sys.snapshot();
    const entries = dumpStore(store);
    sys.injectFault("store-write", 0);
    expectCode(() => sys.setAffinity(virq, 0b10), "EIO");
    const irq = sys.irqDesc(virq)!;
    expect(irq.effectiveCpu).toBe(0);
    expect(irq.affinity).toBe(0b01);
    expect(sys.snapshot()).toEqual(snap);
    expect(dumpStore(store)).toEqual(entries);
    expect(sys.matrix.lookup(0, irq.vector)).toBe(virq);
  });
});

describe("interrupt remapping faults", () => {
  function irSystem() {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const fx = addMsixDevice(sys, "0000:6a:01.0", 4);
    const { virq } = fx.domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    return { sys, ...fx, virq, h };
  }

  it("a write to an IRTE that is not present faults with irte-not-present", () => {
    const { sys, domain, h } = irSystem();
    const { virq: v1 } = domain.allocAt(1);
    const stale = { ...domain.desc(1)!.msg };
    const irte = sys.irqDesc(v1)!.irte;
    domain.free(1);
    expect(sys.msiWrite(stale.addressLo, stale.addressHi, stale.data, 0x6a08, -1)).toBe(FAULTED);
    const far = composeRemappable(3000);
    expect(sys.msiWrite(far.addressLo, 0, 0, 0x6a08, -1)).toBe(FAULTED);
    expect(sys.faults.count("irte-not-present")).toBe(2);
    expect(sys.faults.entries()[0]).toMatchObject({ reason: "irte-not-present", irte, requesterId: 0x6a08 });
    expect(sys.stats.faulted).toBe(2);
    expect(h.calls).toEqual([]);
  });

  it("a write carrying another requester id faults with source-id-mismatch", () => {
    const sys = createSystem({ interruptRemapping: true });
    // The store's writes carry 6b:01.0 but the device is 6a:01.0.
    const { store, domain } = addMsixDevice(sys, "0000:6a:01.0", 4, { storeRequesterId: 0x6b08 });
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "q", h.handler);
    expect(sys.raise(store, 0)).toBe(FAULTED);
    expect(sys.faults.count("source-id-mismatch")).toBe(1);
    expect(sys.faults.describeLast()).toBe("DMAR: [INTR-REMAP] Request device [6b:01.0] fault index 0x0 [fault reason source-id-mismatch]");
    expect(h.calls).toEqual([]);
    expect(sys.irqDesc(virq)!.total).toBe(0);
  });

  it("proxy-id aliases on one bus validate by bus: any function on that bus passes, another bus faults", () => {
    const sys = createSystem({ interruptRemapping: true });
    const aliases = [(0x03 << 8) | 1, (0x03 << 8) | 2];
    const { domain } = addMsixDevice(sys, "0000:03:00.0", 4, { dmaAliases: aliases });
    const { virq } = domain.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "ntb", h.handler);
    const m = domain.desc(0)!.msg;
    expect(sys.msiWrite(m.addressLo, m.addressHi, m.data, (0x03 << 8) | 2, -1)).toBe(DELIVERED);
    expect(sys.msiWrite(m.addressLo, m.addressHi, m.data, (0x03 << 8) | 0x7f, -1)).toBe(DELIVERED);
    expect(sys.msiWrite(m.addressLo, m.addressHi, m.data, (0x04 << 8) | 2, -1)).toBe(FAULTED);
    expect(sys.faults.count("source-id-mismatch")).toBe(1);
    expect(h.calls.length).toBe(2);
  });

  it("a write with a PASID the IRTE does not carry faults with pasid-mismatch", () => {
    const { sys, domain, h } = irSystem();
    const m = domain.desc(0)!.msg;
    expect(sys.msiWrite(m.addressLo, m.addressHi, m.data, 0x6a08, 7)).toBe(FAULTED);
    expect(sys.faults.count("pasid-mismatch")).toBe(1);
    expect(sys.faults.entries()[0]).toMatchObject({ reason: "pasid-mismatch", pasid: 7 });
    expect(sys.msiWrite(m.addressLo, m.addressHi, m.data, 0x6a08, -1)).toBe(DELIVERED);
    expect(h.calls.length).toBe(1);
  });

  it("PASID-tagged IMS entries deliver when the IRTE carries the same PASID and fault on a change behind its back", () => {
    const sys = createSystem({ interruptRemapping: true });
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const store = new Entry16Store({ chipName: "PCI-IDXD", size: 8, requesterId: 0x6a08, pasid: true });
    const domain = sys.createMsiDomain(dev, { domainId: 1, store, kind: "ims", pasidOf: () => 0x42 });
    const { virq } = domain.allocAt(3);
    const h = counter();
    sys.requestIrq(virq, "wq", h.handler);
    expect(sys.irtes!.pasid[sys.irqDesc(virq)!.irte]).toBe(0x42);
    expect(sys.raise(store, 3)).toBe(DELIVERED);
    store.setPasid(3, 0x43);
    expect(sys.raise(store, 3)).toBe(FAULTED);
    expect(sys.faults.count("pasid-mismatch")).toBe(1);
    expect(h.calls).toEqual([virq]);
  });

  it("a compatibility-format write is blocked under remapping", () => {
    const { sys, h } = irSystem();
    const irq = sys.irqDesc(16)!;
    const compat = composeCompat(irq.effectiveCpu, irq.vector);
    expect(sys.msiWrite(compat.addressLo, compat.addressHi, compat.data, 0x6a08, -1)).toBe(FAULTED);
    expect(sys.faults.count("compat-format-blocked")).toBe(1);
    expect(h.calls).toEqual([]);
  });

  it("without remapping, a remappable-format write and a non-MSI address fault; an unowned vector is spurious", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const h = counter();
    sys.requestIrq(domain.allocAt(0).virq, "q", h.handler);
    const r = composeRemappable(0);
    expect(sys.msiWrite(r.addressLo, 0, 0, 0x100, -1)).toBe(FAULTED);
    expect(sys.faults.count("remappable-without-ir")).toBe(1);
    expect(sys.msiWrite(0xfed00000, 0, 0x21, 0x100, -1)).toBe(FAULTED);
    expect(sys.msiWrite(0xfee00000, 1, 0x21, 0x100, -1)).toBe(FAULTED);
    expect(sys.faults.count("not-msi-address")).toBe(2);
    const free = composeCompat(1, 0x60);
    expect(sys.msiWrite(free.addressLo, 0, free.data, 0x100, -1)).toBe(SPURIOUS);
    expect(sys.stats.spurious).toBe(1);
    expect(h.calls).toEqual([]);
  });
});

describe("device removal", () => {
  it("releases every interrupt, vector, IRTE and entry of the device and its children", () => {
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
    sys.disableIrq(16);
    expect(sys.snapshot()).toMatchObject({ devices: 3, domains: 3, virqs: 11, irtes: 11, descriptors: 11, storeEntries: 11, actions: 9 });
    const order: string[] = [];
    sys.onRemove(host, () => order.push(`host:${msix.allocated}`));
    sys.onRemove(child, () => order.push(`child:${childDomain.allocated}`));
    sys.removeDevice(host);
    expect(order).toEqual(["child:5", "host:4"]);
    expect(sys.snapshot()).toEqual(initial);
    expect(sys.devices()).toEqual([]);
    expect(sys.device("wq0.0")).toBeUndefined();
    expect([host.removed, child.removed, grandchild.removed]).toEqual([true, true, true]);
    expect(msix.removed && childDomain.removed && gcDomain.removed).toBe(true);
    expect([...sys.irqDescs()]).toEqual([]);
    for (let i = 0; i < 16; i++) expect([ims.isMasked(i), ims.addressLo(i), ims.data(i)]).toEqual([true, 0, 0]);
    expectCode(() => sys.removeDevice(host), "ENODEV");
    expectCode(() => childDomain.allocAt(0), "ENODEV");
  });

  it("removing a child leaves the parent and its interrupts alone", () => {
    const sys = createSystem();
    const host = addMsixDevice(sys, "0000:01:00.0", 4);
    const child = sys.addDevice({ name: "q0", bus: "subdevice", parent: host.dev });
    const cd = sys.createMsiDomain(child, { domainId: 0, store: createMsixTable(2, 0x100), kind: "msix" });
    const { virq } = host.domain.allocAt(0);
    cd.allocAt(0);
    const h = counter();
    sys.requestIrq(virq, "host", h.handler);
    sys.removeDevice(child);
    expect(host.dev.children).toEqual([]);
    expect(sys.snapshot()).toMatchObject({ devices: 1, domains: 1, virqs: 1 });
    expect(sys.raise(host.store, 0)).toBe(DELIVERED);
    expect(h.calls).toEqual([virq]);
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
        expect(domain.allocRange(1, N).map((m) => m.virq)).toEqual([17, 18, 19, 20]);
        if (sys.irtes) expect([17, 18, 19, 20].map((v) => sys.irqDesc(v)!.irte)).toEqual([1, 2, 3, 4]);
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
    expectCode(() => createSystem({ cpus: 33 }), "EINVAL");
    expectCode(() => createSystem({ interruptRemapping: "yes" as never }), "EINVAL");
    expectCode(() => createSystem({ interruptRemapping: true, irteCount: 0 }), "EINVAL");
    expectCode(() => createSystem(null as never), "EINVAL");
    const s = createSystem();
    expect([s.cpus, s.interruptRemapping, s.irtes, s.name]).toEqual([4, false, undefined, "host"]);
    expect(createSystem({ interruptRemapping: true }).irtes!.size).toBe(65536);
  });

  it("runs out of IRTEs with ENOSPC and no trace", () => {
    const sys: IrqSystem = createSystem({ interruptRemapping: true, irteCount: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 1);
    const snap = sys.snapshot();
    const entries = dumpStore(store);
    expectCode(() => domain.allocAt(2), "ENOSPC");
    expect(sys.snapshot()).toEqual(snap);
    expect(dumpStore(store)).toEqual(entries);
  });

  it("runs out of virqs with ENOSPC and no trace", () => {
    const sys = createSystem({ maxVirqs: 32 }); // virqs 16..31
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 20);
    domain.allocRange(0, 15);
    const snap = sys.snapshot();
    expectCode(() => domain.allocAt(16), "ENOSPC");
    expect(sys.snapshot()).toEqual(snap);
  });
});
