import { describe, expect, it } from "vitest";
import {
  DOMAIN_BUS_PCI_DEVICE_IMS,
  DOMAIN_BUS_PCI_DEVICE_MSI,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  Entry16Store,
  MANAGED_IRQ_SHUTDOWN_VECTOR,
  MSI_ANY_INDEX,
  Q35_GSI_TOP,
  MSI_DEFAULT_DOMAIN,
  MSI_SECONDARY_DOMAIN,
  StoreSlice,
  composeCompat,
  composeRemappable,
  createMsixTable,
  createSystem,
  type IrqSystem,
  type MsiDomain,
} from "../src/index.js";
import { addMsixDevice, dumpStore, expectCode } from "./support/helpers.js";

/** The first dynamic irq of a q35 host without remapping (gsi_top). */
const V = Q35_GSI_TOP;

/** Expects `fn` to fail with `code` and to leave the system's resources and the store exactly as they were. */
function expectCleanFailure(system: IrqSystem, domain: MsiDomain, fn: () => unknown, code: Parameters<typeof expectCode>[1]): void {
  const snap = system.snapshot();
  const store = dumpStore(domain.store);
  const allocated = domain.allocated;
  const stats = { ...system.stats };
  expectCode(fn, code);
  expect(system.snapshot()).toEqual(snap);
  expect(system.stats, "statistics after the failed call").toEqual(stats);
  expect(dumpStore(domain.store)).toEqual(store);
  expect(domain.allocated).toBe(allocated);
}

describe("MsiDomain allocation", () => {
  it("allocates at a given index: descriptor, virq, and the composed message in the store entry", () => {
    const sys = createSystem({ cpus: 2 });
    const { dev, store, domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    const map = domain.allocAt(3);
    expect(map).toEqual({ index: 3, virq: V }); // gsi_top: the first dynamic irq of a q35 host
    const desc = domain.desc(3)!;
    expect(desc.device).toBe(dev);
    expect(desc.msiIndex).toBe(3);
    expect(desc.storeIndex).toBe(3);
    expect(desc.virq).toBe(V);
    expect(desc.domainId).toBe(MSI_DEFAULT_DOMAIN);
    expect(domain.getVirq(3)).toBe(V);
    expect(domain.getVirq(2)).toBe(0);
    expect(domain.allocated).toBe(1);
    const irq = sys.irqDesc(V)!;
    expect(irq.hwirq).toBe(3);
    // Reservation mode: early activation wrote the message of the shutdown vector on the first online CPU.
    expect(desc.msg).toEqual(composeCompat(0, MANAGED_IRQ_SHUTDOWN_VECTOR));
    expect(store.isMasked(3)).toBe(true); // not requested yet
    sys.requestIrq(V, "q", () => {});
    const expected = composeCompat(irq.effectiveCpu, irq.vector);
    expect({ addressLo: store.addressLo(3), addressHi: store.addressHi(3), data: store.data(3) }).toEqual(expected);
    expect(desc.msg).toEqual(expected);
    expect(sys.vector.lookup(irq.effectiveCpu, irq.vector)).toBe(V);
  });

  it("MSI_ANY_INDEX takes the lowest free index", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(0);
    domain.allocAt(1);
    domain.allocAt(3);
    expect(domain.allocAt(MSI_ANY_INDEX).index).toBe(2);
    expect(domain.allocAt(MSI_ANY_INDEX).index).toBe(4);
    domain.free(1);
    expect(domain.lowestFree()).toBe(1);
    expect(domain.allocAt(MSI_ANY_INDEX).index).toBe(1);
  });

  it("MSI_ANY_INDEX on a full domain is ENOSPC and changes nothing", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 2);
    domain.allocAt(MSI_ANY_INDEX);
    domain.allocAt(MSI_ANY_INDEX);
    expect(domain.lowestFree()).toBe(-1);
    expectCleanFailure(sys, domain, () => domain.allocAt(MSI_ANY_INDEX), "ENOSPC");
  });

  it("hands out virqs lowest-free in allocation order across devices", () => {
    const sys = createSystem();
    const a = addMsixDevice(sys, "0000:01:00.0", 4);
    const b = addMsixDevice(sys, "0000:02:00.0", 4);
    expect(a.domain.allocAt(0).virq).toBe(V);
    expect(b.domain.allocAt(0).virq).toBe(V + 1);
    expect(a.domain.allocAt(1).virq).toBe(V + 2);
    a.domain.free(0);
    expect(b.domain.allocAt(1).virq).toBe(V);
  });

  it("allocates a range all at once, in index order", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    expect(domain.allocRange(2, 5)).toEqual([
      { index: 2, virq: V },
      { index: 3, virq: V + 1 },
      { index: 4, virq: V + 2 },
      { index: 5, virq: V + 3 },
    ]);
    expect([...domain.descs()].map((d) => d.msiIndex)).toEqual([2, 3, 4, 5]);
    expect(sys.snapshot()).toMatchObject({ virqs: sys.bootSnapshot.virqs + 4, descriptors: 4, storeEntries: 4 });
  });

  it("allocAny takes the lowest free indices, all or none", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 6);
    domain.allocAt(1);
    domain.allocAt(3);
    expect(domain.allocAny(3).map((m) => m.index)).toEqual([0, 2, 4]);
    expectCleanFailure(sys, domain, () => domain.allocAny(2), "ENOSPC");
    expect(domain.allocAny(1).map((m) => m.index)).toEqual([5]);
  });

  it("activates on the CPU with the most available vectors, keeping them even, and honours an affinity mask", () => {
    const sys = createSystem({ cpus: 4 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 16);
    for (const m of domain.allocRange(0, 7)) sys.requestIrq(m.virq, `q${m.index}`, () => {});
    const avl = [0, 1, 2, 3].map((c) => sys.matrix.counts(c).available);
    expect(Math.max(...avl) - Math.min(...avl)).toBeLessThanOrEqual(1);
    const pinned = domain.allocAt(8, { affinity: 0b1000 });
    sys.requestIrq(pinned.virq, "pinned", () => {});
    const irq = sys.irqDesc(pinned.virq)!;
    expect(irq.effectiveCpu).toBe(3);
    expect(irq.affinity.toList()).toBe("3");
    expect(sys.irqDesc(V)!.affinity.toList()).toBe("0-3");
  });

  it("records the instance cookie on the descriptor", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocAt(0, { cookie: 0x5a5a });
    domain.allocAt(1);
    expect(domain.desc(0)!.cookie).toBe(0x5a5a);
    expect(domain.desc(1)!.cookie).toBe(0);
  });

  it("setCookie changes a live descriptor's cookie only: nothing is written until a rewrite", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocAt(0, { cookie: 7 });
    const writes = domain.desc(0)!.writes;
    domain.setCookie(0, 9);
    expect(domain.desc(0)!.cookie).toBe(9);
    expect(domain.desc(0)!.writes).toBe(writes);
    expectCode(() => domain.setCookie(1, 9), "ENOENT");
    expectCode(() => domain.setCookie(0, -1), "EINVAL");
    expect(domain.desc(0)!.cookie).toBe(9);
  });
});

describe("MsiDomain freeing", () => {
  it("frees one index: virq, vector and entry released, entry cleared and masked", () => {
    const sys = createSystem({ cpus: 2 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const before = sys.snapshot();
    const storeBefore = dumpStore(store);
    const { virq } = domain.allocAt(2);
    const irq = sys.irqDesc(virq)!;
    const { effectiveCpu, vector } = irq;
    domain.free(2);
    expect(sys.irqDesc(virq)).toBeUndefined();
    expect(sys.irqs.isAllocated(virq)).toBe(false);
    expect(sys.vector.lookup(effectiveCpu, vector)).toBe(0);
    expect(domain.desc(2)).toBeUndefined();
    expect(sys.snapshot()).toEqual(before);
    expect(dumpStore(store)).toEqual(storeBefore);
  });

  it("a double free is ENOENT and changes nothing", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocAt(0);
    domain.allocAt(1);
    domain.free(1);
    expectCleanFailure(sys, domain, () => domain.free(1), "ENOENT");
    expect(domain.getVirq(0)).toBe(V);
  });

  it("frees the allocated indices of a range and says how many", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocRange(0, 6);
    domain.free(3);
    expect(domain.freeRange(2, 5)).toBe(3);
    expect([...domain.descs()].map((d) => d.msiIndex)).toEqual([0, 1, 6]);
    expect(sys.snapshot()).toMatchObject({ virqs: sys.bootSnapshot.virqs + 3, descriptors: 3, storeEntries: 3 });
  });

  it("freeRange over a range with nothing allocated is ENOENT and frees nothing (as documented)", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(0);
    domain.allocAt(7);
    expectCleanFailure(sys, domain, () => domain.freeRange(1, 6), "ENOENT");
  });

  it("freeAll frees everything and returns how many", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    const initial = sys.snapshot();
    domain.allocRange(1, 4);
    domain.allocAt(7);
    expect(domain.freeAll()).toBe(5);
    expect(domain.allocated).toBe(0);
    expect(sys.snapshot()).toEqual(initial);
    expect(domain.freeAll()).toBe(0);
  });
});

describe("MsiDomain errors leave no trace", () => {
  it("allocating an occupied index is EBUSY", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(4);
    expectCleanFailure(sys, domain, () => domain.allocAt(4), "EBUSY");
  });

  it("a range with one occupied index is EBUSY and allocates none of the others", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(5);
    expectCleanFailure(sys, domain, () => domain.allocRange(2, 6), "EBUSY");
    for (const i of [2, 3, 4, 6]) expect(domain.desc(i)).toBeUndefined();
  });

  it("non-integer, negative and out-of-range indices are EINVAL", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(0);
    for (const bad of [1.5, -1, 8, 100, Number.NaN, Infinity, 0xfffffffe]) {
      expectCleanFailure(sys, domain, () => domain.allocAt(bad), "EINVAL");
      expectCleanFailure(sys, domain, () => domain.free(bad), "EINVAL");
      expectCleanFailure(sys, domain, () => domain.allocRange(0, bad), "EINVAL");
      expectCleanFailure(sys, domain, () => domain.freeRange(bad, 7), "EINVAL");
      expectCleanFailure(sys, domain, () => domain.rewrite(bad), "EINVAL");
    }
    for (const bad of ["1", null, undefined, {}]) {
      expectCleanFailure(sys, domain, () => domain.allocAt(bad as unknown as number), "EINVAL");
    }
  });

  it("an empty range (first > last) is EINVAL", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(0);
    expectCleanFailure(sys, domain, () => domain.allocRange(5, 4), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.freeRange(5, 0), "EINVAL");
  });

  it("bad allocation options are EINVAL", () => {
    const sys = createSystem({ cpus: 4 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocAt(0);
    expectCleanFailure(sys, domain, () => domain.allocAt(1, { affinity: 0 }), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocAt(1, { affinity: 1.5 }), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocAt(1, { affinity: 0x10 }), "EINVAL"); // names no CPU of 4
    expectCleanFailure(sys, domain, () => domain.allocAt(1, { cookie: -1 }), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocAt(1, 5 as never), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocRange(1, 3, { affinity: 0x10 }), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocAny(0), "EINVAL");
    expectCleanFailure(sys, domain, () => domain.allocAny(9), "EINVAL");
  });

  it("an affinity whose CPUs are all offline is accepted, and activation falls back to an online CPU (assign_irq_vector_any)", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    sys.setCpuOnline(1, false);
    const { virq } = domain.allocAt(0, { affinity: 0b10 });
    sys.requestIrq(virq, "q", () => {});
    expect(sys.irqDesc(virq)!.effectiveCpu).toBe(0);
  });

  for (const ir of [false, true]) {
    for (const point of ["vector-alloc", "irte-alloc", "store-write"] as const) {
      if (point === "irte-alloc" && !ir) continue;
      it(`an injected ${point} failure at any step of a range keeps pending bits and statistics (remapping ${ir})`, () => {
        for (let nth = 0; nth < 4; nth++) {
          const sys = createSystem({ cpus: 2, interruptRemapping: ir });
          const { domain, store } = addMsixDevice(sys, "0000:01:00.0", 8);
          domain.allocAt(0);
          // Raises that hit entries 2 and 4 while nobody owned them: the device holds them in its PBA.
          for (const i of [2, 4]) sys.raise(store, i);
          expect([store.isPending(2), store.isPending(4)]).toEqual([true, true]);
          sys.injectFault(point, nth);
          expectCleanFailure(sys, domain, () => domain.allocRange(1, 4), "EIO");
          sys.clearInjectedFaults();
        }
      });
    }
  }

  it("rewrite of an unallocated index is ENOENT", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    expectCleanFailure(sys, domain, () => domain.rewrite(2), "ENOENT");
  });
});

describe("MsiDomain creation and removal", () => {
  it("names the domain like Linux's debugfs: chip, device, bus token", () => {
    const sys = createSystem();
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    expect(domain.chipName).toBe("PCI-MSIX-0000:01:00.0");
    expect(domain.name).toBe(`PCI-MSIX-0000:01:00.0-${DOMAIN_BUS_PCI_DEVICE_MSIX}`);
    expect(DOMAIN_BUS_PCI_DEVICE_MSIX).toBe(12);
    expect(DOMAIN_BUS_PCI_DEVICE_MSI).toBe(11);
    expect(domain.hwsize).toBe(4);
    const ir = createSystem({ interruptRemapping: true });
    expect(addMsixDevice(ir, "0000:01:00.0", 4).domain.name).toBe("IR-PCI-MSIX-0000:01:00.0-12");
  });

  it("derives the bus token from the kind (an IMS domain needs a remapping parent)", () => {
    const sys = createSystem({ interruptRemapping: true });
    const dev = sys.addPciDevice({ bdf: "0000:05:00.0" });
    const msi = sys.createMsiDomain(dev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 2, requesterId: 0x500, pasid: false }), kind: "msi" });
    const ims = sys.createMsiDomain(dev, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 2, requesterId: 0x500, pasid: true }), kind: "ims" });
    expect(msi.busToken).toBe(DOMAIN_BUS_PCI_DEVICE_MSI);
    expect(ims.busToken).toBe(DOMAIN_BUS_PCI_DEVICE_IMS);
    expect(ims.name).toBe("IR-PCI-IDXD-0000:05:00.0-15");
    expect(msi.name).toBe("IR-PCI-MSI-0000:05:00.0-11");
    expect(sys.msiDomain(dev, MSI_SECONDARY_DOMAIN)).toBe(ims);
  });

  it("refuses a taken domain id (EEXIST), a bad id, kind or store (EINVAL), a removed device (ENODEV)", () => {
    const sys = createSystem();
    const { dev } = addMsixDevice(sys, "0000:01:00.0", 4);
    const snap = sys.snapshot();
    expectCode(() => sys.createMsiDomain(dev, { domainId: 0, store: createMsixTable(4, 0x100), kind: "msix" }), "EEXIST");
    expectCode(() => sys.createMsiDomain(dev, { domainId: 2, store: createMsixTable(4, 0x100), kind: "msix" }), "EINVAL");
    expectCode(() => sys.createMsiDomain(dev, { domainId: 1, store: createMsixTable(4, 0x100), kind: "bogus" as never }), "EINVAL");
    expectCode(() => sys.createMsiDomain(dev, { domainId: 1, store: {} as never, kind: "ims" }), "EINVAL");
    expect(sys.snapshot()).toEqual(snap);
    const gone = sys.addPciDevice({ bdf: "0000:02:00.0" });
    sys.removeDevice(gone);
    expectCode(() => sys.createMsiDomain(gone, { domainId: 0, store: createMsixTable(4, 0x200), kind: "msix" }), "ENODEV");
  });

  it("removing a domain frees its interrupts; using it afterwards is ENODEV", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:01:00.0" });
    const initial = sys.snapshot();
    const domain = sys.createMsiDomain(dev, { domainId: 0, store: createMsixTable(4, 0x100), kind: "msix" });
    domain.allocRange(0, 3);
    sys.removeMsiDomain(dev, 0);
    expect(domain.removed).toBe(true);
    expect(sys.snapshot()).toEqual(initial);
    expectCode(() => domain.allocAt(0), "ENODEV");
    expectCode(() => domain.free(0), "ENODEV");
    expectCode(() => sys.removeMsiDomain(dev, 0), "ENOENT");
    // The id can be used again.
    const again = sys.createMsiDomain(dev, { domainId: 0, store: createMsixTable(4, 0x100), kind: "msix" });
    expect(again.allocAt(0).virq).toBe(V);
  });

  it("two domains over overlapping slices of one store never hand out one entry twice", () => {
    const sys = createSystem({ interruptRemapping: true });
    const host = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const store = new Entry16Store({ chipName: "PCI-IDXD", size: 16, requesterId: 0x6a08, pasid: true });
    const whole = sys.createMsiDomain(host, { domainId: 1, store, kind: "ims" });
    const child = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: host });
    const slice = sys.createMsiDomain(child, { domainId: 1, store: new StoreSlice(store, 4, 4), kind: "ims" });
    expect(slice.storeBase).toBe(4);
    const m = slice.allocAt(1);
    sys.requestIrq(m.virq, "q", () => {}); // an IMS entry is written when its interrupt is requested
    expect(slice.desc(1)!.storeIndex).toBe(5);
    expect(store.addressLo(5)).toBe(slice.desc(1)!.msg.addressLo);
    expectCleanFailure(sys, whole, () => whole.allocAt(5), "EBUSY");
    expect(whole.allocRange(0, 3).length).toBe(4);
    expect(whole.allocAt(MSI_ANY_INDEX).index).toBe(4);
    expect(whole.allocAt(MSI_ANY_INDEX).index).toBe(6);
    expectCleanFailure(sys, slice, () => slice.allocAt(0), "EBUSY");
    expect(slice.lowestFree()).toBe(3);
    expect(sys.snapshot().storeEntries).toBe(7);
    expect(m.virq).toBe(V + 1); // DMAR-MSI's dmar0 took 24
  });
});

describe("MsiDomain message rewrites", () => {
  it("writes the PASID from pasidOf with the message when it is requested, and rewrite() picks up a change", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const store = new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x6a08, pasid: true });
    let pasid = 0x1234;
    const domain = sys.createMsiDomain(dev, { domainId: 1, store, kind: "ims", pasidOf: () => pasid });
    const { virq } = domain.allocAt(2);
    expect(store.pasid(2)).toBe(-1); // nothing written before activation
    sys.requestIrq(virq, "q", () => {});
    expect(store.pasid(2)).toBe(0x1234);
    expect(store.control(2)).toBe((1 << 3) | (0x1234 << 12));
    expect(domain.desc(2)!.pasid).toBe(0x1234);
    const writes = domain.desc(2)!.writes;
    pasid = -1;
    domain.rewrite(2);
    expect(store.pasid(2)).toBe(-1);
    expect(store.control(2)).toBe(0);
    expect(domain.desc(2)!.writes).toBe(writes + 1);
  });

  it("a PASID above 20 bits from pasidOf fails the request (the message write) with EINVAL and no trace", () => {
    const sys = createSystem({ interruptRemapping: true });
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const store = new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: 0x6a08, pasid: true });
    const domain = sys.createMsiDomain(dev, { domainId: 1, store, kind: "ims", pasidOf: () => 1 << 20 });
    const { virq } = domain.allocAt(0);
    expectCleanFailure(sys, domain, () => sys.requestIrq(virq, "q", () => {}), "EINVAL");
    expect(sys.irqDesc(virq)!.actions).toEqual([]);
  });

  it("under remapping, writes the remappable format with the IRTE handle into the entry", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const before = sys.snapshot().irtes;
    for (const m of domain.allocRange(0, 2)) sys.requestIrq(m.virq, `q${m.index}`, () => {});
    for (let i = 0; i <= 2; i++) {
      const irq = sys.irqDesc(domain.getVirq(i))!;
      const irte = irq.irte;
      expect(store.addressLo(i)).toBe(composeRemappable(irte).addressLo);
      expect(store.data(i)).toBe(0);
      expect(sys.irtes!.present[irte]).toBe(1);
      expect(sys.irtes!.vector[irte]).toBe(irq.vector);
      expect(sys.irtes!.destination[irte]).toBe(irq.effectiveCpu);
      expect(sys.irtes!.sid[irte]).toBe(0x0100);
    }
    expect(sys.snapshot().irtes - before).toBe(3);
  });

  it("resolves the requester id per allocation, or once when the domain carries one", () => {
    const sys = createSystem({ interruptRemapping: true });
    const a = addMsixDevice(sys, "0000:01:00.0", 4);
    const n0 = sys.stats.sourceIdResolutions;
    a.domain.allocRange(0, 2);
    expect(sys.stats.sourceIdResolutions - n0).toBe(3);
    const dev = sys.addPciDevice({ bdf: "0000:02:00.0" });
    const n1 = sys.stats.sourceIdResolutions;
    const resolved = sys.resolveSourceId(dev); // a query: not counted
    expect(sys.stats.sourceIdResolutions).toBe(n1);
    const b = sys.createMsiDomain(dev, { domainId: 0, store: createMsixTable(4, 0x200), kind: "msix", sourceId: resolved });
    expect(sys.stats.sourceIdResolutions).toBe(n1 + 1); // resolved once, for the domain
    b.allocRange(0, 3);
    expect(sys.stats.sourceIdResolutions).toBe(n1 + 1);
    expect(sys.irtes!.sid[sys.irqDesc(b.getVirq(0))!.irte]).toBe(0x200);
  });
});
