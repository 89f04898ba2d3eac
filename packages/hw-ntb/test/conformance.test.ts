import { describe, expect, test } from "vitest";
import { isImsimError, type HardwareAdapter, type HardwareInstance, type IrqSystem, type StrategyFactory } from "@imsim/core";
import { IGNORE_AFFINITY, collectConformance, runConformance, wrapStrategy } from "@imsim/conformance";
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

// Strategies that ignore an affinity mask passed every test before the affinity group: the group
// must catch them on this device too, not only on the suite's generic hardware.
describe("the affinity group catches a strategy that ignores affinity on NTB", () => {
  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
    ["mainline", mainline],
  ] as const) {
    for (const [what, override] of IGNORE_AFFINITY) {
      test(`${name}: ${what} → fails affinity tests`, async () => {
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: ntbAdapter, groups: ["affinity"] });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => /smp_affinity|effective CPU/.test(f.error ?? ""))).toBe(true);
      });
    }
  }
});
