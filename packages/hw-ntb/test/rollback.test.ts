import { describe, expect, test } from "vitest";
import { DELIVERED, type FaultPoint, type StrategyFactory } from "@imsim/core";
import { failAtEveryStep as failAtEachStep } from "@imsim/conformance";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, createNtbPair, type NtbHostOptions, type NtbTransportOptions } from "../src/index.js";
import { code } from "./support/error-code.js";
import { takeIrtes } from "./support/irte-filler.js";
import { msix } from "./support/msix-design.js";
import { countRings, pairState } from "./support/pair-state.js";

// A failed createClient, grow or publish leaves both hosts exactly as they were: scratchpads, the
// MSI window, doorbells (no ring of the peer), MSI-X entries, transport and port statistics,
// resources and the system's work counters (see pairState).

function setup(factory: StrategyFactory, ir: boolean, options: NtbTransportOptions = {}, cpus = 4) {
  const pair = createNtbPair({ a: { interruptRemapping: ir, cpus }, b: { interruptRemapping: ir, cpus } });
  const ta = new NtbTransport(pair.a, factory, { vectorsPerQp: 4, ...options });
  const tb = new NtbTransport(pair.b, factory, { vectorsPerQp: 4 });
  const rings = countRings(pair);
  const state = () => pairState(pair, ta, tb, rings);
  return { pair, ta, tb, state };
}

/** Arms `point` at every step of `call` until it succeeds (at most 64 steps); each failure must be EIO and leave `state()` as it was. */
function failAtEveryStep<T>(s: ReturnType<typeof setup>, point: FaultPoint, call: () => T): { result: T; failures: number } {
  return failAtEachStep(s.pair.a.system, point, s.state, call, { maxSteps: 64 });
}

// The IMS designs need interrupt remapping; without it the function's own PCI MSI-X vectors (what
// Linux's ntb_msi uses; test/support/msix-design.ts) go through the same operations.
const cases: [string, StrategyFactory, boolean][] = [
  ["subdevice, remapping on", subdevice, true],
  ["flat, remapping on", flat, true],
  ["PCI MSI-X, remapping off", msix, false],
];

for (const [name, factory, ir] of cases) {
  const points: FaultPoint[] = ir ? ["store-write", "vector-alloc", "irte-alloc"] : ["store-write", "vector-alloc"];
  describe(`failed NTB operations change nothing on either host (${name})`, () => {
    test.each(points)("createClient with a %s failure at every step: no descriptor, no ring, no counter moves; then the client works", (point) => {
      const s = setup(factory, ir);
      // Both hosts register the same clients in the same order.
      s.tb.createClient("perf", { queuePairs: 1 });
      s.tb.createClient("net", { queuePairs: 2, vectors: 2 });
      s.ta.createClient("perf", { queuePairs: 1 });
      const hits: string[] = [];
      const { failures } = failAtEveryStep(s, point, () => s.ta.createClient("net", { queuePairs: 2, vectors: 2, handler: (qp, v) => hits.push(`${qp}.${v}`) }));
      expect(failures).toBeGreaterThanOrEqual(4);
      expect(s.tb.client("net").trigger(1, 1)).toBe(DELIVERED);
      expect(hits).toEqual(["1.1"]);
    });

    test.each(points)("grow with a %s failure at every step leaves both hosts as they were", (point) => {
      const s = setup(factory, ir);
      s.tb.createClient("net", { queuePairs: 2 });
      const hits: string[] = [];
      const net = s.ta.createClient("net", { queuePairs: 2, handler: (qp, v) => hits.push(`${qp}.${v}`) });
      const { result: irq, failures } = failAtEveryStep(s, point, () => net.grow(1));
      expect(failures).toBeGreaterThanOrEqual(1);
      expect(irq.index).toBe(1);
      expect(s.tb.client("net").trigger(1, 1)).toBe(DELIVERED);
      expect(hits).toEqual(["1.1"]);
    });

    test("createClient while the link is down, with a store-write failure at every step, leaves the zeroed scratchpads alone", () => {
      const s = setup(factory, ir);
      s.pair.disconnect();
      let hits = 0;
      const { failures } = failAtEveryStep(s, "store-write", () => s.ta.createClient("net", { queuePairs: 2, vectors: 2, handler: () => hits++ }));
      expect(failures).toBeGreaterThanOrEqual(4);
      s.tb.createClient("net", { queuePairs: 2, vectors: 2 });
      s.pair.connect();
      expect(s.tb.client("net").trigger(1, 1)).toBe(DELIVERED);
      expect(hits).toBe(1);
    });
  });
}

describe("descriptors outside the MSI window are refused before anything is written (PCI MSI-X, no remapping, 16 CPUs)", () => {
  // Without remapping the message address names the APIC id; ntb_msi's window takes the first
  // 32 KiB above 0xFEE00000, so an interrupt on CPU 8 or above cannot be published (EINVAL).
  test("the first client of a transport, on CPU 8: EINVAL, and the MSI window stays unprogrammed", () => {
    const s = setup(msix, false, { strategyOptions: { affinity: 1 << 8 } }, 16);
    s.tb.createClient("net", { queuePairs: 1 });
    const before = s.state();
    expect(code(() => s.ta.createClient("net", { queuePairs: 1, vectors: 2 }))).toBe("EINVAL");
    expect(s.state()).toEqual(before);
    expect(s.pair.a.window(1).translated).toBe(false);
    expect(s.ta.clients()).toEqual([]);
  });

  test("grow and createClient landing on CPU 8 next to a published client on CPU 0: EINVAL, both hosts as they were", () => {
    const s = setup(msix, false, { strategyOptions: { affinity: (1 << 8) | 1 } }, 16);
    const system = s.pair.a.system;
    s.tb.createClient("net", { queuePairs: 1 });
    s.tb.createClient("perf", { queuePairs: 1 });
    // CPU 8 has fewer vectors than CPU 0 (which has the host's own): offline while "net" starts.
    system.setCpuOnline(8, false);
    const net = s.ta.createClient("net", { queuePairs: 1, handler: () => {} });
    system.setCpuOnline(8, true);
    expect(system.irqDesc(net.virq(0, 0))!.effectiveCpu).toBe(0);
    expect(s.pair.a.window(1).translated).toBe(true);
    const before = s.state();
    // The least-loaded CPU of {0, 8} is 8 now.
    expect(code(() => net.grow(0))).toBe("EINVAL");
    expect(s.state()).toEqual(before);
    expect(code(() => s.ta.createClient("perf", { queuePairs: 1 }))).toBe("EINVAL");
    expect(s.state()).toEqual(before);
    expect(s.tb.client("net").trigger(0, 0)).toBe(DELIVERED);
  });
});

for (const [name, factory] of [
  ["subdevice", subdevice],
  ["flat", flat],
] as const) {
  describe(`descriptors outside the MSI window are refused before anything is written (${name}, remapping on)`, () => {
    // With remapping the address carries the IRTE handle (bits 19:5): the first 32 KiB of the
    // window hold handles below 1024. Another function's 1024 MSI-X vectors push host A past them.
    test("the first client of a transport, on IRTEs from 1024: EINVAL, and the MSI window stays unprogrammed", () => {
      const s = setup(factory, true);
      s.tb.createClient("net", { queuePairs: 1 });
      takeIrtes(s.pair.a.system, 1024);
      const before = s.state();
      expect(code(() => s.ta.createClient("net", { queuePairs: 1, vectors: 2 }))).toBe("EINVAL");
      expect(s.state()).toEqual(before);
      expect(s.pair.a.window(1).translated).toBe(false);
      expect(s.ta.clients()).toEqual([]);
    });

    test("grow and createClient past IRTE 1023 next to a published client below it: EINVAL, both hosts as they were", () => {
      const s = setup(factory, true);
      s.tb.createClient("net", { queuePairs: 1 });
      s.tb.createClient("perf", { queuePairs: 1 });
      const net = s.ta.createClient("net", { queuePairs: 1, handler: () => {} });
      expect(s.pair.a.system.irqDesc(net.virq(0, 0))!.irte).toBeLessThan(1024);
      takeIrtes(s.pair.a.system, 1024);
      const before = s.state();
      expect(code(() => net.grow(0))).toBe("EINVAL");
      expect(s.state()).toEqual(before);
      expect(code(() => s.ta.createClient("perf", { queuePairs: 1 }))).toBe("EINVAL");
      expect(s.state()).toEqual(before);
      expect(s.tb.client("net").trigger(0, 0)).toBe(DELIVERED);
    });
  });

  describe(`without a physical remapping unit the IMS design is refused (${name})`, () => {
    // PCI/IMS exists only under a physical interrupt-remapping unit (Linux v6.9: intel_irq_remapping
    // offers MSI_FLAG_PCI_IMS, not in caching mode; x86_init_dev_msi_info). Design B makes its IMS
    // domain with the strategy (the transport), design A with each queue (the first client).
    for (const [what, host] of [
      ["no interrupt remapping", { interruptRemapping: false }],
      ["a virtual IOMMU", { interruptRemapping: true, virtualIommu: true }],
    ] as [string, NtbHostOptions][]) {
      test(`${what}: EOPNOTSUPP, both hosts as they were, and back at their boot snapshot after dispose`, () => {
        const pair = createNtbPair({ a: host, b: host });
        const spads = () => [pair.a, pair.b].map((n) => Array.from({ length: n.spadCount }, (_, i) => n.spadRead(i)));
        const state = () => [pair.a.system.snapshot(), pair.b.system.snapshot(), spads(), pair.a.window(1).translated, pair.isLinkUp, pair.a.store.size];
        const before = state();
        let ta: NtbTransport | undefined;
        const err = code(() => {
          ta = new NtbTransport(pair.a, factory);
          const mid = state();
          try {
            ta.createClient("net", { queuePairs: 1 });
          } finally {
            expect(state()).toEqual(mid);
          }
        });
        expect(err).toBe("EOPNOTSUPP");
        expect(ta === undefined).toBe(name === "flat");
        if (ta === undefined) expect(state()).toEqual(before);
        ta?.dispose();
        pair.dispose();
        expect([pair.a.system.snapshot(), pair.b.system.snapshot()]).toEqual([pair.a.system.bootSnapshot, pair.b.system.bootSnapshot]);
      });
    }
  });
}
