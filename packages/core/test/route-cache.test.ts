import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  FAULTED,
  HELD,
  MSI_SECONDARY_DOMAIN,
  SPURIOUS,
  Entry16Store,
  createSystem,
  type IrqSystem,
} from "../src/index.js";

// IrqSystem.raise keeps the route each store entry last reached and reuses it while nothing has
// changed. These tests change things between two raises and check the second raise sees the change.

function setup(interruptRemapping: boolean, buffer?: DataView) {
  const system = createSystem({ cpus: 2, interruptRemapping });
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "IMS", size: 8, requesterId: dev.requesterId, pasid: true, ...(buffer ? { view: buffer } : {}) });
    // IMS needs a remapping parent (v6.2-v6.9); without remapping the same store serves as an MSI-X table.
  const domain = system.createMsiDomain(dev, interruptRemapping ? { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" } : { domainId: 0, store, kind: "msix" });
  const hits: number[] = [];
  const [a, b] = domain.allocRange(0, 1);
  system.requestIrq(a!.virq, "a", (virq) => hits.push(virq));
  system.requestIrq(b!.virq, "b", (virq) => hits.push(virq));
  return { system, dev, store, domain, hits, a: a!, b: b! };
}

function warm(system: IrqSystem, store: Entry16Store, index: number) {
  expect(system.raise(store, index)).toBe(DELIVERED);
  expect(system.raise(store, index)).toBe(DELIVERED);
}

describe.each([false, true])("the delivery route cache (interrupt remapping %s)", (ir) => {
  it("keeps per-CPU counts exact across fast-path deliveries, a move of the interrupt and reads in between", () => {
    const { system, store, a } = setup(ir);
    const irq = system.irqDesc(a.virq)!;
    const first = irq.effectiveCpu;
    for (let n = 0; n < 7; n++) system.raise(store, 0);
    expect(irq.counts[first]).toBe(7); // a read folds what the fast path counted
    for (let n = 0; n < 3; n++) system.raise(store, 0);
    const other = 1 - first;
    system.tick();
    system.setAffinity(a.virq, 1 << other);
    // Without remapping the move waits for the next interrupt, which still arrives on the old CPU.
    if (!ir) expect(system.raise(store, 0)).toBe(DELIVERED);
    const onOld = ir ? 10 : 11;
    expect(irq.effectiveCpu).toBe(other);
    for (let n = 0; n < 4; n++) system.raise(store, 0);
    expect(Array.from(irq.counts)).toEqual(other === 1 ? [onOld, 4] : [4, onOld]);
    expect(irq.total).toBe(onOld + 4);
  });

  it("delivers repeated raises once each, counted on the effective CPU", () => {
    const { system, store, hits, a } = setup(ir);
    for (let n = 0; n < 5; n++) system.raise(store, 0);
    expect(hits).toEqual([a.virq, a.virq, a.virq, a.virq, a.virq]);
    const irq = system.irqDesc(a.virq)!;
    expect(irq.counts[irq.effectiveCpu]).toBe(5);
    expect(system.stats.delivered).toBe(5);
  });

  it("a disable between two raises holds the second", () => {
    const { system, store, hits, a } = setup(ir);
    warm(system, store, 0);
    system.disableIrq(a.virq);
    expect(system.raise(store, 0)).toBe(HELD);
    expect(hits).toHaveLength(2);
    system.enableIrq(a.virq);
    expect(hits).toHaveLength(3);
  });

  it("a message rewritten by the device model itself is read again", () => {
    const { system, store, hits } = setup(ir);
    warm(system, store, 0);
    store.writeMessage(0, 0x12345678, 0, 0);
    expect(system.raise(store, 0)).toBe(FAULTED);
    expect(hits).toHaveLength(2);
  });

  it("a mask set directly in the store holds the next raise in the pending bit", () => {
    const { system, store, hits } = setup(ir);
    warm(system, store, 1);
    store.setMasked(1, true);
    expect(system.raise(store, 1)).toBe(HELD);
    expect(store.isPending(1)).toBe(true);
    expect(hits).toHaveLength(2);
  });

  it("an affinity change moves the next delivery to the new CPU", () => {
    const { system, store, a } = setup(ir);
    warm(system, store, 0);
    const irq = system.irqDesc(a.virq)!;
    const other = irq.effectiveCpu === 0 ? 1 : 0;
    system.setAffinity(a.virq, 1 << other);
    // Without remapping the move happens at the next interrupt (counted where it arrived), then it is on the new CPU.
    system.raise(store, 0);
    system.raise(store, 0);
    expect(irq.effectiveCpu).toBe(other);
    expect(irq.counts[other]).toBeGreaterThanOrEqual(1);
  });

  it("a freed interrupt is not reached through its old route", () => {
    const { system, store, domain, hits } = setup(ir);
    warm(system, store, 0);
    system.freeIrq(domain.getVirq(0), "a");
    domain.free(0);
    expect(system.raise(store, 0)).toBe(HELD); // a freed entry is masked
    expect(hits).toHaveLength(2);
  });

  it("memory written behind the store's back is seen after touch()", () => {
    const view = new DataView(new ArrayBuffer(8 * 16));
    const { system, store, hits } = setup(ir, view);
    warm(system, store, 0);
    view.setUint32(8, 0xee, true); // the data word of entry 0, as an MMIO write would change it
    store.touch();
    const r = system.raise(store, 0);
    expect([FAULTED, SPURIOUS]).toContain(r);
    expect(hits).toHaveLength(2);
  });
});
