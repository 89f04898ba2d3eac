import { describe, expect, it, vi } from "vitest";
import { DELIVERED, Entry16Store, MSI_SECONDARY_DOMAIN, createSystem, type HandlerErrorRecord } from "../src/index.js";

// A handler that throws must break nothing else: the interrupt's other actions run, the flow
// handler finishes (pending replays included), delivery returns normally, and the error is kept
// in system.handlerErrors and reported through the onHandlerError option.

function setup(onHandlerError?: (r: HandlerErrorRecord) => void) {
  const system = createSystem(onHandlerError ? { cpus: 2, interruptRemapping: true, onHandlerError } : { cpus: 2, interruptRemapping: true });
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "IMS", size: 4, requesterId: dev.requesterId, pasid: false });
  const domain = system.createMsiDomain(dev, { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" });
  const maps = domain.allocRange(0, 3);
  return { system, store, domain, maps };
}

describe("a throwing interrupt handler", () => {
  it("does not skip the later actions of the same interrupt, and raise returns normally", () => {
    const seen: HandlerErrorRecord[] = [];
    const { system, store, maps } = setup((r) => seen.push(r));
    const ran: string[] = [];
    const boom = new Error("boom");
    system.requestIrq(maps[0]!.virq, "first", () => {
      ran.push("first");
      throw boom;
    });
    system.requestIrq(maps[0]!.virq, "second", () => ran.push("second"));
    expect(system.raise(store, 0)).toBe(DELIVERED);
    expect(system.raise(store, 0)).toBe(DELIVERED); // the cached route too
    expect(ran).toEqual(["first", "second", "first", "second"]);
    expect(seen).toEqual([
      { virq: maps[0]!.virq, action: "first", error: boom },
      { virq: maps[0]!.virq, action: "first", error: boom },
    ]);
    expect(system.handlerErrors.total).toBe(2);
    expect(system.irqDesc(maps[0]!.virq)!.inProgress).toBe(false);
    expect(system.irqDesc(maps[0]!.virq)!.total).toBe(2);
  });

  it("still gets its pending replay and leaves the interrupt unmasked", () => {
    const { system, store, maps } = setup(() => {});
    let runs = 0;
    system.requestIrq(maps[1]!.virq, "throws-after-raising-itself", () => {
      runs++;
      if (runs === 1) system.raise(store, 1);
      throw new Error(`run ${runs}`);
    });
    system.raise(store, 1);
    expect(runs).toBe(2);
    const d = system.irqDesc(maps[1]!.virq)!;
    expect([d.pending, d.masked, d.inProgress, store.isMasked(1)]).toEqual([false, false, false, false]);
  });

  it("requestIrq replaying a pending interrupt into it succeeds and keeps the handler installed", () => {
    const seen: HandlerErrorRecord[] = [];
    const { system, store, maps } = setup((r) => seen.push(r));
    expect(system.raise(store, 2)).not.toBe(DELIVERED); // held: nobody requested it yet
    system.requestIrq(maps[2]!.virq, "replayed", () => {
      throw new TypeError("replay");
    });
    expect(system.irqDesc(maps[2]!.virq)!.actions.map((a) => a.name)).toEqual(["replayed"]);
    expect(seen.map((r) => [r.action, (r.error as Error).message])).toEqual([["replayed", "replay"]]);
  });

  it("is warned about once per action without a hook, and kept in handlerErrors", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    try {
      const { system, store, maps } = setup();
      system.requestIrq(maps[3]!.virq, "noisy", () => {
        throw new Error("again");
      });
      for (let n = 0; n < 3; n++) system.raise(store, 3);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain(`handler noisy of virq ${maps[3]!.virq}`);
      expect(system.handlerErrors.entries().map((r) => r.action)).toEqual(["noisy", "noisy", "noisy"]);
      expect(system.handlerErrors.drain()).toHaveLength(3);
      expect(system.handlerErrors.entries()).toEqual([]);
      expect(system.handlerErrors.total).toBe(3);
    } finally {
      warn.mockRestore();
    }
  });

  it("keeps a bounded log: the last 64 errors", () => {
    const { system, store, maps } = setup(() => {});
    let n = 0;
    system.requestIrq(maps[0]!.virq, "counting", () => {
      throw new Error(String(n++));
    });
    for (let i = 0; i < 100; i++) system.raise(store, 0);
    const kept = system.handlerErrors.entries();
    expect(kept).toHaveLength(64);
    expect((kept[0]!.error as Error).message).toBe("36");
    expect((kept[63]!.error as Error).message).toBe("99");
  });
});

describe("an onHandlerError hook that throws", () => {
  it("gets its error to the caller only after the flow completed: the other actions ran, the interrupt can run again", () => {
    const { system, store, maps } = setup(() => {
      throw new Error("hook");
    });
    const ran: string[] = [];
    system.requestIrq(maps[0]!.virq, "a", () => {
      ran.push("a");
      throw new Error("handler");
    });
    system.requestIrq(maps[0]!.virq, "b", () => ran.push("b"));
    expect(() => system.raise(store, 0)).toThrow("hook");
    expect(ran).toEqual(["a", "b"]);
    expect(system.irqDesc(maps[0]!.virq)!.inProgress).toBe(false);
    expect(() => system.raise(store, 0)).toThrow("hook");
    expect(ran).toEqual(["a", "b", "a", "b"]);
  });
});
