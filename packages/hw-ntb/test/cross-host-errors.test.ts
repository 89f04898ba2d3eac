import { afterEach, describe, expect, test, vi } from "vitest";
import { DELIVERED, HELD, type HandlerErrorRecord, type StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, WRITE_DEFERRED, createNtbPair, type NtbClientHandler, type NtbHostOptions } from "../src/index.js";
import { code } from "./support/error-code.js";

// What one host does never fails on the other: a handler's error (or a throwing onHandlerError
// hook, or a link/doorbell listener) stays on the host where it was thrown, and neither a
// trigger, a post nor a link change on the other host sees it. Handlers may trigger the peer and
// change the link from inside.

afterEach(() => {
  vi.restoreAllMocks();
});

/** A pair with a transport on each side and a "net" client of 3 queue pairs on both, with the given handlers. */
function setup(factory: StrategyFactory, handlers: { A?: NtbClientHandler; B?: NtbClientHandler } = {}, hosts: { a?: NtbHostOptions; b?: NtbHostOptions } = {}) {
  const pair = createNtbPair({ a: { interruptRemapping: true, ...hosts.a }, b: { interruptRemapping: true, ...hosts.b } });
  const hits = { A: [] as string[], B: [] as string[] };
  const ta = new NtbTransport(pair.a, factory, { vectorsPerQp: 2 });
  const tb = new NtbTransport(pair.b, factory, { vectorsPerQp: 2 });
  const on = (host: "A" | "B"): NtbClientHandler => (qp, v, virq) => {
    hits[host].push(`net${qp}.${v}`);
    handlers[host]?.(qp, v, virq);
  };
  ta.createClient("net", { queuePairs: 3, handler: on("A") });
  tb.createClient("net", { queuePairs: 3, handler: on("B") });
  return { pair, ta, tb, hits, netA: ta.client("net"), netB: tb.client("net") };
}

/** Both hosts have their link up and every published descriptor of the other: triggers work both ways. */
function expectLinkedBothWays(s: ReturnType<typeof setup>): void {
  expect(s.pair.isLinkUp).toBe(true);
  expect([s.pair.a.linkIsUp, s.pair.b.linkIsUp]).toEqual([true, true]);
  for (let qp = 0; qp < 3; qp++) {
    expect(s.netA.peerDescriptor(qp, 0), `A's copy of B's net${qp}.0`).toBeDefined();
    expect(s.netB.peerDescriptor(qp, 0), `B's copy of A's net${qp}.0`).toBeDefined();
  }
  const before = { A: s.hits.A.length, B: s.hits.B.length };
  expect(s.netB.trigger(2, 0)).toBe(DELIVERED);
  expect(s.netA.trigger(2, 0)).toBe(DELIVERED);
  expect(s.hits.A.slice(before.A)).toEqual(["net2.0"]);
  expect(s.hits.B.slice(before.B)).toEqual(["net2.0"]);
}

for (const [name, factory] of [["subdevice", subdevice], ["flat", flat]] as const) {
  describe(`errors stay on their host, handlers may reach across (${name})`, () => {
    test("host A's throwing handler is not thrown from host B's trigger() or post(): it is in host A's system.handlerErrors", () => {
      const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const s = setup(factory, {
        A: (qp) => {
          if (qp === 0) throw new Error("A's net0 handler failed");
        },
      });
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      expect(s.netB.post(0, 0)).toBe(DELIVERED);
      expect(s.netB.trigger(1, 0)).toBe(DELIVERED);
      expect(s.hits.A).toEqual(["net0.0", "net0.0", "net1.0"]);
      expect(s.pair.a.system.handlerErrors.entries().map((r) => [r.action, (r.error as Error).message])).toEqual([
        ["ntb_transport", "A's net0 handler failed"],
        ["ntb_transport", "A's net0 handler failed"],
      ]);
      expect(s.pair.b.system.handlerErrors.total).toBe(0);
      expect([s.pair.a.eventErrors.total, s.pair.b.eventErrors.total]).toEqual([0, 0]);
      expect(warn).toHaveBeenCalledTimes(1);
      expectLinkedBothWays(s);
    });

    test("the same error during pair.connect(): link-up completes on both hosts, every posted trigger arrives once, the error stays on host A", () => {
      vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const s = setup(factory, {
        A: (qp) => {
          if (qp === 0) throw new Error("A's net0 handler failed");
        },
      });
      s.pair.disconnect();
      expect(s.netB.post(0, 0)).toBe(WRITE_DEFERRED);
      expect(s.netB.post(1, 0)).toBe(WRITE_DEFERRED);
      expect(s.netA.post(0, 0)).toBe(WRITE_DEFERRED);
      s.pair.connect();
      expect([...s.hits.A].sort()).toEqual(["net0.0", "net1.0"]);
      expect(s.hits.B).toEqual(["net0.0"]);
      expect([s.ta.pendingPosts(), s.tb.pendingPosts()]).toEqual([0, 0]);
      expect(s.pair.a.system.handlerErrors.total).toBe(1);
      expect(s.pair.b.system.handlerErrors.total).toBe(0);
      expectLinkedBothWays(s);
    });

    test("an onHandlerError hook that throws on host A stays on host A (pair.a.eventErrors): B's trigger, post and connect return normally", () => {
      vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const hooked: HandlerErrorRecord[] = [];
      const s = setup(
        factory,
        {
          A: (qp) => {
            if (qp === 0) throw new Error("A's net0 handler failed");
          },
        },
        {
          a: {
            onHandlerError: (r) => {
              hooked.push(r);
              throw new Error(`hook: ${(r.error as Error).message}`);
            },
          },
        },
      );
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      s.pair.disconnect();
      expect(s.netB.post(1, 0)).toBe(WRITE_DEFERRED);
      s.pair.connect();
      expect(s.hits.A).toEqual(["net0.0", "net1.0"]);
      expect(hooked).toHaveLength(1);
      expect(s.pair.a.eventErrors.entries().map((e) => [e.event, (e.error as Error).message])).toEqual([["msi-write", "hook: A's net0 handler failed"]]);
      expect(s.pair.b.eventErrors.total).toBe(0);
      expect(s.pair.isLinkUp).toBe(true);
      expect(s.netB.trigger(1, 0)).toBe(DELIVERED);
      expect(s.netA.trigger(1, 0)).toBe(DELIVERED);
    });

    test("a link_event or db_event listener that throws on host A does not stop host B's link-up; the errors stay on host A", () => {
      const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
      const s = setup(factory);
      s.pair.a.onLinkEvent((up) => {
        throw new Error(`A's link listener failed on ${up ? "up" : "down"}`);
      });
      s.pair.a.onDoorbell(() => {
        throw new Error("A's doorbell listener failed");
      });
      s.pair.disconnect();
      expect(s.pair.b.linkIsUp).toBe(false);
      s.pair.connect();
      expectLinkedBothWays(s);
      s.netA.grow(0); // rings B's doorbell: B's listeners are fine
      s.netB.grow(0); // rings A's doorbell: A's listener throws, A's transport still reads the change
      expect(s.netA.trigger(0, 1)).toBe(DELIVERED);
      expect(s.netB.trigger(0, 1)).toBe(DELIVERED);
      const kinds = s.pair.a.eventErrors.entries().map((e) => [e.event, (e.error as Error).message]);
      expect(kinds.filter(([k]) => k === "link")).toEqual([
        ["link", "A's link listener failed on down"],
        ["link", "A's link listener failed on up"],
      ]);
      expect(kinds.filter(([k]) => k === "doorbell").length).toBeGreaterThan(0);
      expect(s.pair.b.eventErrors.total).toBe(0);
      // One warning per kind of event on host A.
      expect(warn).toHaveBeenCalledTimes(2);
    });

    test("handlers that trigger each other across the bridge: no interrupt's handler nests, every trigger arrives", () => {
      const depth = { A: 0, B: 0 };
      const maxDepth = { A: 0, B: 0 };
      const results: number[] = [];
      let rounds = 0;
      const s: { netA?: ReturnType<typeof setup>["netA"]; netB?: ReturnType<typeof setup>["netB"] } = {};
      const enter = (h: "A" | "B", body: () => void) => {
        depth[h]++;
        maxDepth[h] = Math.max(maxDepth[h], depth[h]);
        body();
        depth[h]--;
      };
      Object.assign(
        s,
        setup(factory, {
          A: (qp) =>
            enter("A", () => {
              if (qp === 0 && rounds < 5) {
                rounds++;
                results.push(s.netA!.trigger(0, 0));
              }
            }),
          B: (qp) => enter("B", () => qp === 0 && results.push(s.netB!.trigger(0, 0))),
        }),
      );
      const full = s as ReturnType<typeof setup>;
      expect(full.netB.trigger(0, 0)).toBe(DELIVERED);
      // A1 → B1 → A (held) → A2 → B2 → … → A5 → B5 → A (held) → A6, which stops.
      expect(full.hits.A).toEqual(new Array(6).fill("net0.0"));
      expect(full.hits.B).toEqual(new Array(5).fill("net0.0"));
      expect(maxDepth).toEqual({ A: 1, B: 1 });
      expect(results.filter((r) => r === HELD)).toHaveLength(5);
      expect(results.filter((r) => r === DELIVERED)).toHaveLength(5);
      expect(full.pair.a.system.handlerErrors.total + full.pair.b.system.handlerErrors.total).toBe(0);
      expectLinkedBothWays(full);
    });

    test("a handler that flaps the link from inside a peer's trigger: the trigger returns, link-up completes on both hosts", () => {
      let flapped = false;
      const box: { pair?: ReturnType<typeof setup>["pair"] } = {};
      const s = setup(factory, {
        A: () => {
          if (flapped) return;
          flapped = true;
          box.pair!.flap();
        },
      });
      box.pair = s.pair;
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      expect(flapped).toBe(true);
      expect([s.pair.a.eventErrors.total, s.pair.b.eventErrors.total]).toEqual([0, 0]);
      expect(s.pair.a.system.handlerErrors.total + s.pair.b.system.handlerErrors.total).toBe(0);
      expectLinkedBothWays(s);
    });

    test("a handler that disconnects: the peer's next trigger is ENOLINK, its posts are kept and arrive once after connect", () => {
      const box: { pair?: ReturnType<typeof setup>["pair"] } = {};
      const s = setup(factory, {
        A: (qp) => {
          if (qp === 0) box.pair!.disconnect();
        },
      });
      box.pair = s.pair;
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      expect(s.pair.isLinkUp).toBe(false);
      expect(code(() => s.netB.trigger(1, 0))).toBe("ENOLINK");
      expect(s.netB.post(1, 0)).toBe(WRITE_DEFERRED);
      expect(s.netB.post(1, 0)).toBe(WRITE_DEFERRED);
      s.pair.connect();
      expect(s.hits.A).toEqual(["net0.0", "net1.0"]);
      expect(s.pair.a.system.handlerErrors.total).toBe(0);
      expectLinkedBothWays(s);
    });

    test("pair.connect() from inside a local handler on host A, with the peer's triggers posted: link-up completes on both hosts, each post arrives once", () => {
      const box: { pair?: ReturnType<typeof setup>["pair"] } = {};
      const s = setup(factory, {
        A: (qp) => {
          if (qp === 2) box.pair!.connect();
        },
      });
      box.pair = s.pair;
      s.pair.disconnect();
      expect(s.netB.post(0, 0)).toBe(WRITE_DEFERRED);
      expect(s.netB.post(2, 0)).toBe(WRITE_DEFERRED);
      // A raise on host A itself (the device, not the peer): its handler connects the cable.
      const entry = s.netA.irqs(2)[0]!.storeIndex;
      expect(s.pair.a.system.raise(s.pair.a.store, entry)).toBe(DELIVERED);
      // The local raise, then B's two posts (net2.0's replayed after its running handler).
      expect([...s.hits.A].sort()).toEqual(["net0.0", "net2.0", "net2.0"]);
      expect([s.ta.pendingPosts(), s.tb.pendingPosts()]).toEqual([0, 0]);
      expectLinkedBothWays(s);
    });

    test("releasing a vector, destroying a client or disposing the transport from the client's own handler is EBUSY and changes nothing", () => {
      const errors: string[] = [];
      let snapshots: unknown[] = [];
      const box: { s?: ReturnType<typeof setup> } = {};
      const s = setup(factory, {
        A: (qp) => {
          if (qp !== 0 || errors.length > 0) return;
          const t = box.s!;
          const before = [t.pair.a.system.snapshot(), t.ta.clients().map((c) => c.name), t.netB.peerDescriptor(0, 0)];
          errors.push(code(() => t.netA.release(0, 0)));
          errors.push(code(() => t.netA.destroy()));
          errors.push(code(() => t.ta.dispose()));
          snapshots = [before, [t.pair.a.system.snapshot(), t.ta.clients().map((c) => c.name), t.netB.peerDescriptor(0, 0)]];
        },
      });
      box.s = s;
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      expect(errors).toEqual(["EBUSY", "EBUSY", "EBUSY"]);
      expect(snapshots[1]).toEqual(snapshots[0]);
      expect([s.netA.destroyed, s.ta.disposed]).toEqual([false, false]);
      expect(s.netB.trigger(0, 0)).toBe(DELIVERED);
      s.netA.release(0, 0);
      expect(code(() => s.netB.trigger(0, 0))).toBe("ENOENT");
      s.ta.dispose();
      s.tb.dispose();
      s.pair.dispose();
      expect(s.pair.a.system.snapshot()).toEqual(s.pair.a.system.bootSnapshot);
    });
  });
}
