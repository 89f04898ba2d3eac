import { describe, expect, test } from "vitest";
import { isImsimError, type HardwareAdapter, type HardwareInstance, type ImsStrategy, type IrqSystem, type MsiAllocOptions, type Queue, type QueueOptions, type StrategyFactory } from "@imsim/core";
import { collectConformance, runConformance, wrapStrategy } from "@imsim/conformance";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createStrategy as mainline } from "@imsim/strategy-mainline";
import { createNtbAdapter, ntbAdapter } from "../src/index.js";

// Typed with core's contract: this fails to compile if the adapter stops matching it.
const hardware: HardwareAdapter = ntbAdapter;

runConformance(test, { strategy: subdevice, hardware });
runConformance(test, { strategy: flat, hardware });
runConformance(test, { strategy: mainline, hardware });

// Without a physical interrupt-remapping unit there is no PCI/IMS (Linux v6.9: only
// intel_irq_remapping's MSI parent offers MSI_FLAG_PCI_IMS, and not in caching mode), so the
// "ntb (no IR)" cells of the matrix cannot run an IMS design any more. What remains to check is
// the refusal: EOPNOTSUPP where the design first creates its IMS domain (designs B and mainline
// when the strategy is made, design A at its first queue), and both hosts back at their boot snapshot.
describe("the IMS designs are refused on NTB hosts without a physical remapping unit", () => {
  const hosts: [string, HardwareAdapter][] = [
    ["no IR", createNtbAdapter({ interruptRemapping: false })],
    ["a virtual IOMMU", createNtbAdapter({ virtualIommu: true })],
  ];
  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
    ["mainline", mainline],
  ] as const) {
    for (const [what, adapter] of hosts) {
      test(`${name} with ${what}: EOPNOTSUPP, and both hosts are at their boot snapshot`, () => {
        const seen: IrqSystem[] = [];
        const recording: StrategyFactory = (system, host, store, options) => {
          seen.push(system);
          return strategy(system, host, store, options);
        };
        let h: HardwareInstance | undefined;
        let error: unknown;
        try {
          h = adapter.create(recording);
          const before = h.system.snapshot();
          try {
            h.createQueue({ name: "q0", slice: { base: 0, count: 4 }, nvec: 1 });
          } finally {
            // A refused queue leaves host A as it was.
            expect(h.system.snapshot()).toEqual(before);
          }
        } catch (e) {
          error = e;
        }
        expect(isImsimError(error, "EOPNOTSUPP"), String(error)).toBe(true);
        expect(String(error)).toContain("IMS");
        // Design A gets its instance (its domains come per queue); B and mainline, whose one IMS
        // domain is the host's secondary domain, are refused when the strategy is made.
        expect(h === undefined).toBe(name !== "subdevice");
        h?.teardown();
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.map((s) => s.snapshot())).toEqual(seen.map((s) => s.bootSnapshot));
      });
    }
  }
});

/** Options without a well-formed affinity (a malformed one is kept, so bad input is still refused). */
function withoutAffinity<T extends { affinity?: unknown }>(o: T | undefined): T | undefined {
  if (typeof o !== "object" || o === null) return o;
  const a = o.affinity;
  // Only a well-formed mask is dropped: a number naming CPUs, a CPU list or an array.
  const wellFormed = (typeof a === "number" && Number.isInteger(a) && a >= 1) || (typeof a === "string" && a !== "") || Array.isArray(a);
  if (!wellFormed) return o;
  const copy = { ...o };
  delete copy.affinity;
  return copy;
}

// Strategies that ignore an affinity mask passed every test before the affinity group: the group
// must catch them on this device too, not only on the suite's generic hardware.
describe("the affinity group catches a strategy that ignores affinity on NTB", () => {
  const ignoresAffinity: [string, (real: ImsStrategy) => Partial<ImsStrategy>][] = [
    ["the queue's affinity", (real) => ({ createQueue: (o: QueueOptions) => real.createQueue(withoutAffinity(o)!) })],
    [
      "the per-allocation affinity",
      (real) => ({
        allocIrq: (q: Queue, index?: number, o?: MsiAllocOptions) => real.allocIrq(q, index, withoutAffinity(o)),
        allocIrqs: (q: Queue, count: number, o?: MsiAllocOptions) => real.allocIrqs(q, count, withoutAffinity(o)),
        allocIrqRange: (q: Queue, first: number, last: number, o?: MsiAllocOptions) => real.allocIrqRange(q, first, last, withoutAffinity(o)),
      }),
    ],
  ];
  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
    ["mainline", mainline],
  ] as const) {
    for (const [what, override] of ignoresAffinity) {
      test(`${name} dropping ${what} fails affinity tests`, async () => {
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: ntbAdapter, groups: ["affinity"] });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => /smp_affinity|effective CPU/.test(f.error ?? ""))).toBe(true);
      });
    }
  }
});
