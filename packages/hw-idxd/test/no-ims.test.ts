import { describe, expect, test } from "vitest";
import { createSystem, isImsimError, type ImsimErrorCode } from "@imsim/core";
import * as R from "../src/registers.js";
import { IdxdDevice, IdxdUserQueue, IdxdVdev, Memory, createIdxdAdapter } from "../src/index.js";
import { STRATEGIES, boot, bootState, registerState, workCounters, type Booted } from "./support/boot.js";

// IMS needs a physical interrupt-remapping unit above the function: only it offers PCI/IMS
// (MSI_FLAG_PCI_IMS, x86_init_dev_msi_info in Linux v6.2-v6.9); a host without remapping, or one
// whose remapping unit is a virtual IOMMU's ("vIR-"), has no IMS domain to give. The driver then
// runs without IMS, as a driver whose pci_create_ims_domain() returned false: its kernel WQs keep
// their MSI-X vectors and every IMS client is refused with EOPNOTSUPP. It does not fall back to
// MSI-X for them: v6.9's idxd gives only kernel WQs an interrupt (drivers/dma/idxd/device.c,
// idxd_wq_request_irq) and has no IMS path at all.

const PLATFORMS = [
  ["no interrupt remapping", { ir: false }],
  ["a virtual IOMMU", { ir: true, virtualIommu: true }],
] as const;

function code(fn: () => unknown): ImsimErrorCode | "none" | "not-imsim" {
  try {
    fn();
  } catch (e) {
    return isImsimError(e) ? e.code : "not-imsim";
  }
  return "none";
}

/** deviceState of support/boot.ts without the strategy's part (there is none). */
function state(b: Booted): unknown {
  return {
    ...registerState(b),
    wqs: Array.from({ length: b.device.caps.numWqs }, (_, w) => [b.device.wqEnabled(w), b.device.occupancy(w)]),
    deviceStats: { ...b.device.stats },
    boundPasids: b.device.boundPasids,
    snapshot: b.system.snapshot(),
    work: workCounters(b.system),
    domains: b.system.domains().map((d) => d.name),
  };
}

describe.each(STRATEGIES)("no IMS domain on the platform (%s)", (_name, strategy) => {
  describe.each(PLATFORMS)("with %s", (platform, options) => {
    test("the driver probes without IMS: the kernel WQ completes on MSI-X, every IMS client is refused with EOPNOTSUPP changing nothing, unbind returns to the boot snapshot", () => {
      const b = boot(strategy, options);
      expect(b.system.interruptRemapping).toBe(options.ir);
      expect(b.driver.imsAvailable).toBe(false);
      expect(code(() => b.driver.strategy)).toBe("EOPNOTSUPP");
      expect(() => b.driver.strategy).toThrow(platform === "a virtual IOMMU" ? /virtual IOMMU/ : /without interrupt remapping/);

      const done: number[] = [];
      b.driver.submit(0, { opcode: R.OPCODE_NOOP }, (r) => done.push(r.status));
      expect(b.device.run()).toBe(1);
      expect(done).toEqual([R.COMP_SUCCESS]);
      expect(b.driver.kernelWq(0).interrupts).toBe(1);

      const before = state(b);
      const memory = new Memory(1 << 16, "client");
      expect(code(() => IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory }))).toBe("EOPNOTSUPP");
      expect(code(() => IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory }))).toBe("EOPNOTSUPP");
      expect(code(() => b.driver.createImsQueue(1, { name: "q0", nvec: 1 }))).toBe("EOPNOTSUPP");
      expect(state(b)).toEqual(before);
      expect(b.device.wqEnabled(1) || b.device.wqEnabled(2)).toBe(false);
      expect(b.system.domains().map((d) => d.kind)).toEqual(["msix"]);

      b.driver.remove();
      expect(b.system.snapshot()).toEqual(bootState(b.system, 1));
      b.system.removeDevice(b.device.pci);
      expect(b.system.snapshot()).toEqual(bootState(b.system));
    });

    test("the strategy on the DSA's IMS table refuses with EOPNOTSUPP, at creation or at its first queue, and changes nothing", () => {
      const system = createSystem({ cpus: 4, interruptRemapping: options.ir, ...("virtualIommu" in options ? { virtualIommu: true } : {}) });
      const device = new IdxdDevice(system, { memory: new Memory(1 << 16, "host memory") });
      const before = system.snapshot();
      const attempt = () => {
        const s = strategy(system, device.pci, device.ims!);
        try {
          s.createQueue({ name: "q0", nvec: 1, pasid: 7 });
        } finally {
          s.dispose();
        }
      };
      expect(code(attempt)).toBe("EOPNOTSUPP");
      expect(system.snapshot()).toEqual(before);
      expect(system.domains()).toEqual([]);
      system.removeDevice(device.pci);
      expect(system.snapshot()).toEqual(bootState(system));
    });

    test("the conformance adapter refuses to create an instance (EOPNOTSUPP): its queues are IMS clients", () => {
      const adapter = createIdxdAdapter({ interruptRemapping: options.ir, ...("virtualIommu" in options ? { virtualIommu: true } : {}) });
      expect(adapter.name).toBe(options.ir ? "idxd (vIOMMU)" : "idxd (no IR)");
      expect(code(() => adapter.create(strategy))).toBe("EOPNOTSUPP");
      // With remapping (and a physical IOMMU) the same adapter options work.
      const hw = createIdxdAdapter().create(strategy);
      expect(hw.driver.imsAvailable).toBe(true);
      hw.teardown();
      expect(hw.system.snapshot()).toEqual(bootState(hw.system));
    });
  });
});
