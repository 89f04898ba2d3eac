import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import { bare } from "./support/boot.js";

describe("BAR0 registers", () => {
  test("capabilities report the Sapphire Rapids defaults", () => {
    const { device: d } = bare();
    const gencap = d.read(R.IDXD_GENCAP, 8);
    expect(Number((gencap >> R.GENCAP_MAX_IMS_MULT_SHIFT) & 0x3fn) * 256).toBe(2048);
    expect(Number((gencap >> R.GENCAP_MAX_XFER_SHIFT) & 0x1fn)).toBe(31);
    expect(Number((gencap >> R.GENCAP_MAX_BATCH_SHIFT) & 0xfn)).toBe(10);
    expect(gencap & R.GENCAP_CONFIG_EN).not.toBe(0n);
    const wqcap = d.read(R.IDXD_WQCAP, 8);
    expect(Number(wqcap & 0xffffn)).toBe(128);
    expect(Number((wqcap >> 16n) & 0xffn)).toBe(8);
    expect(wqcap & R.WQCAP_SHARED_MODE).not.toBe(0n);
    expect(wqcap & R.WQCAP_DEDICATED_MODE).not.toBe(0n);
    expect(d.read(R.IDXD_GRPCAP, 4) & 0xff).toBe(4);
    expect(d.read(R.IDXD_ENGCAP, 4) & 0xff).toBe(4);
    expect(d.read(R.IDXD_VERSION, 4)).toBe(0x100);
    expect(d.msix.size).toBe(9);
    expect(d.ims!.size).toBe(2048);
    // OPCAP: memmove (3), fill (4), compare (5), CRC (0x10) supported; batch (1) not.
    const opcap = d.read(R.IDXD_OPCAP, 8);
    for (const op of [0, 2, 3, 4, 5]) expect((opcap >> BigInt(op)) & 1n).toBe(1n);
    expect((opcap >> 1n) & 1n).toBe(0n);
    expect(d.read(R.IDXD_OPCAP + 8, 8) & 1n).toBe(0n);
    expect(d.read(R.IDXD_OPCAP + 2, 1) & 1).toBe(1); // byte 2 bit 0 = opcode 0x10
  });

  test("capabilities follow the configured counts", () => {
    const { device: d } = bare({ numWqs: 16, numEngines: 2, imsEntries: 512, intHandles: false });
    expect(Number((d.read(R.IDXD_WQCAP, 8) >> 16n) & 0xffn)).toBe(16);
    expect(d.read(R.IDXD_ENGCAP, 4) & 0xff).toBe(2);
    expect(Number((d.read(R.IDXD_GENCAP, 8) >> R.GENCAP_MAX_IMS_MULT_SHIFT) & 0x3fn)).toBe(2);
    expect(d.read(R.IDXD_GENCAP, 8) & R.GENCAP_CMD_CAP).toBe(0n);
    expect(d.read(R.IDXD_CMDCAP, 4)).toBe(0);
    expect(d.msix.size).toBe(17);
  });

  test("the table offsets register locates the IMS table, and IMS entries are the core store's bytes", () => {
    const { device: d } = bare();
    const t = d.read(R.IDXD_TABLEOFF, 8);
    const imsOff = Number((t >> 48n) & 0xffffn) * R.IDXD_TABLE_MULT;
    const wqOff = Number((t >> 16n) & 0xffffn) * R.IDXD_TABLE_MULT;
    expect(imsOff).toBe(d.imsOffset);
    expect(wqOff).toBe(d.wqcfgOffset);
    d.ims!.writeMessage(5, 0xfee01000, 0, 0x41);
    d.ims!.setPasid(5, 0x1234);
    expect(d.read(imsOff + 5 * 16, 4)).toBe(0xfee01000);
    expect(d.read(imsOff + 5 * 16 + 8, 4)).toBe(0x41);
    expect(d.read(imsOff + 5 * 16 + 12, 4)).toBe((0x1234 << 12) | 8 | 1); // PASID, PASID enable, masked
    d.write(imsOff + 5 * 16 + 12, 4, (0x99 << 12) | 8); // unmask, new PASID
    expect(d.ims!.isMasked(5)).toBe(false);
    expect(d.ims!.pasid(5)).toBe(0x99);
    d.write(imsOff + 5 * 16 + 12, 4, 0xffffffff); // reserved ctrl bits 2:1 and 11:4 stay 0
    expect(d.read(imsOff + 5 * 16 + 12, 4)).toBe(0xfffff009);
  });

  test("writes to read-only registers leave them unchanged", () => {
    const { device: d } = bare();
    const snap = [R.IDXD_VERSION, R.IDXD_GENCAP, R.IDXD_WQCAP, R.IDXD_GRPCAP, R.IDXD_ENGCAP, R.IDXD_OPCAP, R.IDXD_TABLEOFF, R.IDXD_GENSTATS, R.IDXD_CMDSTS, R.IDXD_CMDCAP, R.IDXD_SWERR].map((o) => d.read(o, 8));
    for (const o of [R.IDXD_VERSION, R.IDXD_GENCAP, R.IDXD_WQCAP, R.IDXD_GRPCAP, R.IDXD_ENGCAP, R.IDXD_OPCAP, R.IDXD_TABLEOFF, R.IDXD_GENSTATS, R.IDXD_CMDSTS, R.IDXD_CMDCAP, R.IDXD_SWERR + 8]) {
      d.write(o, 8, 0xffffffffffffffffn);
      d.write(o, 4, 0);
    }
    expect([R.IDXD_VERSION, R.IDXD_GENCAP, R.IDXD_WQCAP, R.IDXD_GRPCAP, R.IDXD_ENGCAP, R.IDXD_OPCAP, R.IDXD_TABLEOFF, R.IDXD_GENSTATS, R.IDXD_CMDSTS, R.IDXD_CMDCAP, R.IDXD_SWERR].map((o) => d.read(o, 8))).toEqual(snap);
    expect(d.state).toBe(R.DEVICE_STATE_DISABLED);
    // The WQ state and occupancy fields of WQCFG are read-only too.
    d.write(d.wqcfgOffset + R.WQCFG_OCC_STATE, 4, 0xffffffff);
    expect(d.read(d.wqcfgOffset + R.WQCFG_OCC_STATE, 4)).toBe(0);
  });

  test("writable registers keep only their defined bits; INTCAUSE is write-1-to-clear", () => {
    const { device: d } = bare();
    d.write(R.IDXD_GENCTRL, 4, 0xffffffff);
    expect(d.read(R.IDXD_GENCTRL, 4)).toBe(R.GENCTRL_WRITABLE);
    d.write(R.IDXD_GENCFG, 4, 0xffffffff);
    expect(d.read(R.IDXD_GENCFG, 4)).toBe(R.GENCFG_WRITABLE);
    d.write(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4, 0xffff1234);
    expect(d.read(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4)).toBe(0x1234);
    // A GRPCFG WQ bitmap has bits only for existing WQs (8).
    d.write(d.grpcfgOffset, 8, 0xffffffffffffffffn);
    expect(d.read(d.grpcfgOffset, 8)).toBe(0xffn);
    // INTCAUSE: an invalid command with int_req sets CMD; writing 0 keeps it, writing 1 clears it.
    d.write(R.IDXD_CMD, 4, (R.CMD_INT_REQ | (31 << R.CMD_CODE_SHIFT)) >>> 0);
    expect(d.read(R.IDXD_INTCAUSE, 4) & R.INTC_CMD).toBe(R.INTC_CMD);
    d.write(R.IDXD_INTCAUSE, 4, 0);
    expect(d.read(R.IDXD_INTCAUSE, 4) & R.INTC_CMD).toBe(R.INTC_CMD);
    d.write(R.IDXD_INTCAUSE, 4, R.INTC_CMD);
    expect(d.read(R.IDXD_INTCAUSE, 4)).toBe(0);
  });

  test("misaligned and out-of-BAR accesses read all ones and write nothing, without throwing", () => {
    const { device: d } = bare();
    expect(d.read(R.IDXD_GENCAP + 1, 4)).toBe(0xffffffff);
    expect(d.read(d.size, 4)).toBe(0xffffffff);
    expect(d.read(-8, 8)).toBe(0xffffffffffffffffn);
    expect(d.read(0x10, 3 as never)).toBe(0xffffffff);
    d.write(R.IDXD_GENCTRL + 2, 4, 0xffffffff);
    d.write(d.size - 4, 8, 0xffffffffffffffffn);
    d.write(1.5, 4, 1);
    expect(d.read(R.IDXD_GENCTRL, 4)).toBe(0);
    expect(d.stats.badMmio).toBe(7);
    // Narrow accesses work on any naturally aligned address.
    expect(d.read(R.IDXD_VERSION + 1, 1)).toBe(0x01);
    expect(d.read(R.IDXD_VERSION, 2)).toBe(0x100);
  });

  test("configuration registers are locked while the device (GRPCFG, GENCFG) or the WQ (WQCFG) is enabled", () => {
    const { device: d } = bare();
    d.setBusMaster(true);
    d.write(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4, 8);
    d.write(d.wqcfgOffset + R.WQCFG_MODE_PASID, 4, R.WQCFG_MODE_DEDICATED);
    d.write(d.grpcfgOffset + R.GRPCFG_WQS, 8, 1n);
    d.write(d.grpcfgOffset + R.GRPCFG_ENGINES, 8, 1n);
    d.write(R.IDXD_CMD, 4, R.CMD_ENABLE_DEVICE << R.CMD_CODE_SHIFT);
    expect(d.read(R.IDXD_CMDSTS, 4)).toBe(0);
    d.write(d.grpcfgOffset + R.GRPCFG_ENGINES, 8, 0xfn);
    expect(d.read(d.grpcfgOffset + R.GRPCFG_ENGINES, 8)).toBe(1n);
    d.write(R.IDXD_GENCFG, 4, 0xff);
    expect(d.read(R.IDXD_GENCFG, 4)).toBe(0);
    d.write(R.IDXD_CMD, 4, (R.CMD_ENABLE_WQ << R.CMD_CODE_SHIFT) | 0);
    expect(d.wqEnabled(0)).toBe(true);
    d.write(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4, 16);
    expect(d.read(d.wqcfgOffset + R.WQCFG_WQ_SIZE, 4)).toBe(8);
    // WQ 1 is disabled: its WQCFG stays writable.
    d.write(d.wqcfgOffset + R.WQCFG_SIZE + R.WQCFG_WQ_SIZE, 4, 16);
    expect(d.read(d.wqcfgOffset + R.WQCFG_SIZE + R.WQCFG_WQ_SIZE, 4)).toBe(16);
    expect(d.read(d.wqcfgOffset + R.WQCFG_OCC_STATE, 4) >>> 30).toBe(R.WQ_STATE_ENABLED);
  });
});
