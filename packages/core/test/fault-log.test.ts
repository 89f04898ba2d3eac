import { describe, expect, it } from "vitest";
import { FaultLog } from "../src/index.js";

describe("FaultLog", () => {
  it("counts faults by reason and keeps the latest ones, oldest first, in a ring", () => {
    const log = new FaultLog(2);
    log.record("irte-not-present", 5, 0x6a08, -1, 0xfee000b8);
    log.record("source-id-mismatch", 6, 0x6b08, -1, 0xfee000d8);
    log.record("pasid-mismatch", 7, 0x6a08, 0x42, 0xfee000f8);
    expect(log.total).toBe(3);
    expect(log.count("irte-not-present")).toBe(1);
    expect(log.count("pasid-mismatch")).toBe(1);
    expect(log.count("compat-format-blocked")).toBe(0);
    expect(log.entries().map((e) => e.irte)).toEqual([6, 7]);
    expect(log.entries()[1]).toEqual({ reason: "pasid-mismatch", irte: 7, requesterId: 0x6a08, pasid: 0x42, address: 0xfee000f8 });
  });

  it("hands out copies, not its ring slots", () => {
    const log = new FaultLog(2);
    log.record("irte-not-present", 5, 1, -1, 0);
    log.entries()[0]!.irte = 99;
    expect(log.entries()[0]!.irte).toBe(5);
  });

  it("describes the latest fault as the DMAR driver logs it", () => {
    const log = new FaultLog();
    expect(log.describeLast()).toBeUndefined();
    log.record("source-id-mismatch", 0x15, 0x6a08, -1, 0);
    expect(log.describeLast()).toBe("DMAR: [INTR-REMAP] Request device [6a:01.0] fault index 0x15 [fault reason source-id-mismatch]");
    log.record("pasid-mismatch", 0x16, 0x6a08, 0x42, 0);
    expect(log.describeLast()).toBe("DMAR: [INTR-REMAP] Request device [6a:01.0] PASID 42 fault index 0x16 [fault reason pasid-mismatch]");
    log.record("compat-format-blocked", -1, 0x0100, -1, 0);
    expect(log.describeLast()).toContain("fault index 0x0 [fault reason compat-format-blocked]");
  });
});
