import { describe, expect, test } from "vitest";
import { DELIVERED } from "@imsim/core";
import { createStrategy } from "@imsim/strategy-flat";
import { idxdAdapter } from "../src/index.js";

describe("IMS entries rewritten through MMIO", () => {
  test("a raise after an MMIO write to the entry uses the new message, never the route it had before", () => {
    const hw = idxdAdapter.create(createStrategy);
    const q = hw.createQueue({ name: "mmio", nvec: 1 });
    const [irq] = hw.strategy.irqs(q);
    let hits = 0;
    hw.system.requestIrq(irq!.virq, "mmio", () => hits++);
    const ims = hw.device.ims!;
    expect(hw.system.raise(ims, irq!.storeIndex)).toBe(DELIVERED);
    expect(hw.system.raise(ims, irq!.storeIndex)).toBe(DELIVERED);
    // A guest (or a buggy driver) points the entry at another IRTE handle through BAR0.
    hw.device.write(hw.device.imsOffset + irq!.storeIndex * 16, 4, (0xfee00000 | (0x7000 << 5) | 0x18) >>> 0);
    expect(hw.system.raise(ims, irq!.storeIndex)).not.toBe(DELIVERED);
    expect(hits).toBe(2);
    expect(hw.system.faults.count("not-present")).toBe(1);
    hw.teardown();
  });
});
