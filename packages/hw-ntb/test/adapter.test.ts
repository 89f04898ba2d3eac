import { describe, expect, test } from "vitest";
import { DELIVERED, type HardwareAdapter } from "@imsim/core";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createNtbAdapter, ntbAdapter, ntbHardware } from "../src/index.js";
import { code } from "./support/error-code.js";

// The adapter's names and options; its behaviour under a strategy is the conformance suite's.
describe("NTB adapter", () => {
  test("ntbHardware is ntbAdapter, and both are core's HardwareAdapter", () => {
    const typed: HardwareAdapter = ntbHardware;
    expect(typed).toBe(ntbAdapter);
    expect(ntbAdapter.name).toBe("ntb");
  });

  test("createNtbAdapter() builds the same default instance as ntbAdapter: 64 entries, IR on", () => {
    const h = createNtbAdapter().create(flat);
    try {
      expect(h.strategy.store.size).toBe(64);
      expect(h.system.interruptRemapping).toBe(true);
      expect(h.supports).toEqual({ pasid: false, interruptRemapping: true, dmaAliases: true, peerTrigger: true, link: true });
    } finally {
      h.teardown();
    }
  });

  test("interruptRemapping: false runs both hosts without IR and says so in the manifest and the name", () => {
    const adapter = createNtbAdapter({ interruptRemapping: false });
    expect(adapter.name).toBe("ntb (no IR)");
    const h = adapter.create(flat, { cpus: 2 });
    try {
      expect(h.system.interruptRemapping).toBe(false);
      expect(h.supports.interruptRemapping).toBe(false);
      expect(h.system.cpus).toBe(2);
    } finally {
      h.teardown();
    }
    // Options of create() override the adapter's.
    const on = adapter.create(flat, { interruptRemapping: true });
    try {
      expect(on.system.interruptRemapping).toBe(true);
    } finally {
      on.teardown();
    }
  });

  test("msixVectors and spads size host A's table: a 2040-entry table delivers from its top entry", () => {
    const adapter = createNtbAdapter({ msixVectors: 2040, spads: 4096 });
    expect(adapter.name).toBe("ntb (2040-entry table)");
    const h = adapter.create(flat);
    try {
      expect(h.strategy.store.size).toBe(2040);
      const q = h.createQueue({ name: "top", slice: { base: 2032, count: 8 }, nvec: 8 });
      let hits = 0;
      for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "t", () => hits++);
      expect(h.strategy.irqs(q).map((i) => i.storeIndex)).toContain(2039);
      for (let i = 0; i < 8; i++) expect(h.raise(q, i)).toBe(DELIVERED);
      expect(hits).toBe(8);
    } finally {
      h.teardown();
    }
  });

  test("bad options are EINVAL: at createNtbAdapter for its own, at create for what the pair checks", () => {
    const any = (v: unknown) => v as never;
    expect(code(() => createNtbAdapter(any(null)))).toBe("EINVAL");
    expect(code(() => createNtbAdapter(any(5)))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 0 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 2049 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ msixVectors: 1.5 }))).toBe("EINVAL");
    expect(code(() => createNtbAdapter({ interruptRemapping: any("yes") }))).toBe("EINVAL");
    expect(code(() => ntbAdapter.create(any(undefined)))).toBe("EINVAL");
    expect(code(() => ntbAdapter.create(flat, any("cpus")))).toBe("EINVAL");
    // 256 scratchpads publish 127 descriptors, too few for 2040 entries.
    expect(code(() => createNtbAdapter({ msixVectors: 2040 }).create(flat))).toBe("EINVAL");
  });
});
