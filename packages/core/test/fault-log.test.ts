import { describe, expect, it } from "vitest";
import { FAULT_REASON_CODE, FaultLog } from "../src/index.js";

describe("FaultLog", () => {
  it("counts faults by reason and keeps the latest ones, oldest first, in a ring, with their VT-d codes", () => {
    const log = new FaultLog(2);
    log.record("not-present", 0, 5, 0x6a08, 0xfee000b8);
    log.record("source-id-mismatch", 0, 6, 0x6b08, 0xfee000d8);
    log.record("index-beyond-table", 1, 70000, 0x6a08, 0xfee000f8);
    expect(log.total).toBe(3);
    expect(log.count("not-present")).toBe(1);
    expect(log.count("index-beyond-table")).toBe(1);
    expect(log.count("compat-format-blocked")).toBe(0);
    expect(log.entries().map((e) => e.irte)).toEqual([6, 70000]);
    expect(log.entries()[1]).toEqual({ reason: "index-beyond-table", code: 0x21, unit: 1, irte: 70000, requesterId: 0x6a08, address: 0xfee000f8 });
  });

  it("uses the VT-d fault reason codes (spec §7.1: 0x20 bad request, 0x21 index, 0x22 not present, 0x25 compatibility, 0x26 source id)", () => {
    expect(FAULT_REASON_CODE).toEqual({
      "bad-request": 0x20,
      "index-beyond-table": 0x21,
      "not-present": 0x22,
      "compat-format-blocked": 0x25,
      "source-id-mismatch": 0x26,
      "not-msi-address": -1,
    });
  });

  it("hands out copies, not its ring slots", () => {
    const log = new FaultLog(2);
    log.record("not-present", 0, 5, 1, 0);
    log.entries()[0]!.irte = 99;
    expect(log.entries()[0]!.irte).toBe(5);
  });

  it("describes the latest fault as dmar_fault_do_one() logs an INTR-REMAP fault", () => {
    const log = new FaultLog();
    expect(log.describeLast()).toBeUndefined();
    log.record("source-id-mismatch", 0, 0x15, 0x6a08, 0);
    expect(log.describeLast()).toBe(
      "DMAR: [INTR-REMAP] Request device [6a:01.0] fault index 0x15 [fault reason 0x26] Blocked an interrupt request due to source-id verification failure",
    );
    log.record("not-present", 0, 0x12, 0x0028, 0);
    expect(log.describeLast()).toBe("DMAR: [INTR-REMAP] Request device [00:05.0] fault index 0x12 [fault reason 0x22] Present field in the IRTE entry is clear");
    log.record("not-msi-address", -1, -1, 0x0100, 0x1000);
    expect(log.describeLast()).toContain("Not an interrupt request");
  });
});
