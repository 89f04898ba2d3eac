import { describe, expect, it } from "vitest";
import { DELIVERED, Entry16Store, HELD, MSI_SECONDARY_DOMAIN, createSystem, type IrqSystem, type MsiMap } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// Handlers that raise, free, allocate or move interrupts while they run. The delivery path caches
// each store entry's route; whatever a handler does, a later raise of an entry must run that
// entry's own handler, and handlers of one interrupt never nest (handle_edge_irq).

function setup(interruptRemapping: boolean, entries = 8) {
  const system = createSystem({ cpus: 2, interruptRemapping });
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "IMS", size: entries, requesterId: dev.requesterId, pasid: true });
    // IMS needs a remapping parent (v6.2-v6.9); without remapping the same store serves as an MSI-X table.
  const domain = system.createMsiDomain(dev, interruptRemapping ? { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" } : { domainId: 0, store, kind: "msix" });
  const maps = domain.allocRange(0, entries - 1);
  return { system, dev, store, domain, maps };
}

/** Requests a handler on every interrupt that records (virq) and then runs `inside(index)`. */
function handlers(system: IrqSystem, maps: MsiMap[], inside: (index: number, run: number) => void): number[] {
  const log: number[] = [];
  const runs = new Map<number, number>();
  for (const m of maps) {
    system.requestIrq(m.virq, `h${m.index}`, () => {
      log.push(m.index);
      const run = (runs.get(m.index) ?? 0) + 1;
      runs.set(m.index, run);
      inside(m.index, run);
    });
  }
  return log;
}

describe.each([false, true])("nested delivery (interrupt remapping %s)", (ir) => {
  it("a handler that raises another entry once does not misroute later raises of its own", () => {
    const { system, store, maps } = setup(ir);
    let nested = true;
    const log = handlers(system, maps, (i) => {
      if (i === 0 && nested) {
        nested = false;
        system.raise(store, 1);
      }
    });
    expect(system.raise(store, 0)).toBe(DELIVERED);
    expect(log).toEqual([0, 1]);
    log.length = 0;
    for (let n = 0; n < 3; n++) expect(system.raise(store, 0)).toBe(DELIVERED);
    expect(log).toEqual([0, 0, 0]);
    expect(system.raise(store, 1)).toBe(DELIVERED);
    expect(log).toEqual([0, 0, 0, 1]);
  });

  it("isolation holds at any nesting depth: a chain 0 → 1 → … → 7 and every entry afterwards", () => {
    const { system, store, maps } = setup(ir);
    let chain = true;
    const log = handlers(system, maps, (i) => {
      if (chain && i < 7) system.raise(store, i + 1);
    });
    system.raise(store, 0);
    expect(log).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    chain = false;
    for (let round = 0; round < 2; round++) {
      for (let i = 7; i >= 0; i--) {
        log.length = 0;
        expect(system.raise(store, i)).toBe(DELIVERED);
        expect(log, `raise of entry ${i}, round ${round}`).toEqual([i]);
      }
    }
  });

  it("an interrupt raised while its own handler runs is marked pending and runs once more afterwards, never nested", () => {
    const { system, store, maps } = setup(ir);
    let depth = 0;
    let maxDepth = 0;
    const results: number[] = [];
    let runs = 0;
    system.requestIrq(maps[0]!.virq, "self", () => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      runs++;
      if (runs === 1) results.push(system.raise(store, 0));
      depth--;
    });
    expect(system.raise(store, 0)).toBe(DELIVERED);
    expect(results).toEqual([HELD]);
    expect(runs).toBe(2);
    expect(maxDepth).toBe(1);
    const desc = system.irqDesc(maps[0]!.virq)!;
    expect(desc.pending).toBe(false);
    expect(desc.masked).toBe(false);
    // Linux counts the replay inside handle_edge_irq's loop as part of the first interrupt.
    expect(desc.total).toBe(1);
    // And the route still works afterwards.
    expect(system.raise(store, 0)).toBe(DELIVERED);
    expect(runs).toBe(3);
  });

  it("writes that bypass the store's mask while the handler runs coalesce into one more run (IRQS_PENDING)", () => {
    const { system, store, maps, dev } = setup(ir);
    let runs = 0;
    let depth = 0;
    system.requestIrq(maps[2]!.virq, "peer", () => {
      depth++;
      expect(depth).toBe(1);
      runs++;
      if (runs === 1) {
        // an NTB peer writes the message itself: the table's mask cannot hold it back
        for (let n = 0; n < 3; n++) {
          expect(system.msiWrite(store.addressLo(2), store.addressHi(2), store.data(2), dev.requesterId, store.pasid(2))).toBe(HELD);
        }
      }
      depth--;
    });
    system.raise(store, 2);
    expect(runs).toBe(2);
  });

  it("a handler that frees another interrupt, allocates in its place and moves a third leaves every route right", () => {
    const { system, store, domain, maps } = setup(ir);
    let act = true;
    const log = handlers(system, maps.slice(0, 6), (i) => {
      if (!act || i !== 0) return;
      act = false;
      system.freeIrq(maps[1]!.virq, "h1");
      domain.free(1);
      const again = domain.allocAt(1);
      system.requestIrq(again.virq, "h1-again", () => log.push(100 + 1));
      const cpu = system.irqDesc(maps[2]!.virq)!.effectiveCpu;
      system.setAffinity(maps[2]!.virq, 1 << (1 - cpu));
      system.raise(store, 1);
      system.raise(store, 2);
    });
    system.raise(store, 0);
    expect(log).toEqual([0, 101, 2]);
    for (const [i, want] of [[0, 0], [1, 101], [2, 2], [3, 3], [1, 101], [0, 0]] as const) {
      log.length = 0;
      system.raise(store, i);
      expect(log, `raise of entry ${i}`).toEqual([want]);
    }
  });

  it("freeing an interrupt from its own handler is refused with EBUSY and changes nothing", () => {
    const { system, domain, store, maps } = setup(ir);
    const errors: string[] = [];
    system.requestIrq(maps[0]!.virq, "self-free", () => {
      const before = system.snapshot();
      try {
        system.freeIrq(maps[0]!.virq, "self-free");
      } catch (e) {
        errors.push((e as { code: string }).code);
      }
      expectCode(() => domain.free(0), "EBUSY");
      expectCode(() => domain.freeRange(0, 3), "EBUSY");
      expect(system.snapshot()).toEqual(before);
    });
    system.raise(store, 0);
    expect(errors).toEqual(["EBUSY"]);
    expect(system.irqDesc(maps[0]!.virq)!.actions.map((a) => a.name)).toEqual(["self-free"]);
    system.freeIrq(maps[0]!.virq, "self-free");
    domain.free(0);
    expect(system.irqDesc(maps[0]!.virq)).toBeUndefined();
  });
});
