import { describe, expect, test } from "vitest";
import type { HardwareAdapter, HardwareInstance } from "@imsim/core";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createIdxdAdapter, idxdAdapter, idxdHardware, type IdxdHardwareInstance } from "../src/index.js";

// The adapter's names and options; its behaviour under a strategy is the conformance suite's.
describe("IDXD adapter", () => {
  test("idxdHardware is idxdAdapter, and both are core's HardwareAdapter", () => {
    const typed: HardwareAdapter = idxdHardware;
    expect(typed).toBe(idxdAdapter);
    expect(idxdAdapter.name).toBe("idxd");
    expect(createIdxdAdapter({ interruptRemapping: false }).name).toBe("idxd (no IR)");
  });

  test("an instance is core's HardwareInstance plus the device and driver beneath", () => {
    const h: IdxdHardwareInstance = createIdxdAdapter({ cpus: 2 }).create(flat);
    try {
      const plain: HardwareInstance = h;
      expect(plain.system.cpus).toBe(2);
      expect(h.driver.strategy).toBe(h.strategy);
      expect(h.device.ims?.size).toBe(h.strategy.store.size);
    } finally {
      h.teardown();
    }
  });
});
