import { describe, expect, test } from "vitest";
import type { HardwareAdapter } from "@imsim/core";
import { IGNORE_AFFINITY, collectConformance, runConformance, wrapStrategy } from "@imsim/conformance";
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

// Strategies that ignore an affinity mask passed every test before the affinity group: the group
// must catch them on this device too, not only on the suite's generic hardware.
describe("the affinity group catches a strategy that ignores affinity on IDXD", () => {
  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
    ["mainline", mainline],
  ] as const) {
    for (const [what, override] of IGNORE_AFFINITY) {
      test(`${name}: ${what} → fails affinity tests`, async () => {
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: hardware, groups: ["affinity"] });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => /smp_affinity|effective CPU/.test(f.error ?? ""))).toBe(true);
      });
    }
  }
});
