import { describe, expect, test } from "vitest";
import type { HardwareAdapter, ImsStrategy, MsiAllocOptions, Queue, QueueOptions } from "@imsim/core";
import { collectConformance, runConformance, wrapStrategy } from "@imsim/conformance";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createStrategy as mainline } from "@imsim/strategy-mainline";
import { idxdAdapter } from "../src/index.js";

// Typed with core's contract: this fails to compile if the adapter stops matching it.
const hardware: HardwareAdapter = idxdAdapter;

// With interrupt remapping only. Without it (or with a virtual IOMMU) there is no IMS domain, so
// there is no pair to run: test/no-ims.test.ts shows the driver, the strategies and the adapter
// refusing with EOPNOTSUPP and leaving the system as it booted.
runConformance(test, { strategy: subdevice, hardware });
runConformance(test, { strategy: flat, hardware });
runConformance(test, { strategy: mainline, hardware });

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
describe("the affinity group catches a strategy that ignores affinity on IDXD", () => {
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
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: hardware, groups: ["affinity"] });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => /smp_affinity|effective CPU/.test(f.error ?? ""))).toBe(true);
      });
    }
  }
});
