import { describe, expect, test } from "vitest";
import { isImsimError } from "@imsim/core";
import { SPURIOUS } from "@imsim/core";
import { MemoryWindow, alignDown, roundUp, createNtbPair, NtbMsi, WRITE_DROPPED, WRITE_MEMORY } from "../src/index.js";

const align = { addrAlign: 0x1000, sizeAlign: 0x1000, sizeMax: 0x10000 };

describe("memory window", () => {
  test("translates offsets inside the window and nothing outside it", () => {
    const w = new MemoryWindow(0, align);
    expect(w.translate(0)).toBe(-1);
    w.setTranslation(0x1_2345_6000, 0x2000);
    expect(w.translate(0)).toBe(0x1_2345_6000);
    expect(w.translate(0x1ffc)).toBe(0x1_2345_7ffc);
    expect(w.translate(0x2000)).toBe(-1);
    expect(w.translate(-4)).toBe(-1);
    w.clearTranslation();
    expect(w.translate(0x10)).toBe(-1);
  });

  test("refuses a misaligned address, a misaligned size and a size above the maximum", () => {
    const w = new MemoryWindow(1, align);
    for (const [a, s] of [[0x1800, 0x1000], [0x1000, 0x1800], [0x1000, 0x20000]] as const) {
      let err: unknown;
      try {
        w.setTranslation(a, s);
      } catch (e) {
        err = e;
      }
      expect(isImsimError(err, "EINVAL")).toBe(true);
      expect(w.translated).toBe(false);
    }
  });

  test("rounding helpers stay exact above 32 bits", () => {
    expect(alignDown(0x38_0000_1234, 0x1000)).toBe(0x38_0000_1000);
    expect(roundUp(0x8001, 0x1000)).toBe(0x9000);
  });

  test("ntb_msi_setup_mws aligns the first address down and raises the size to the window maximum", () => {
    const pair = createNtbPair({ mwAlign: { addrAlign: 0x100000, sizeAlign: 0x1000, sizeMax: 0x100000 } });
    const msi = new NtbMsi(pair.a);
    expect(msi.widx).toBe(1);
    msi.setupMws(0xfee0_3018);
    expect(pair.a.window(1).xlatAddress).toBe(0xfee0_0000);
    expect(pair.a.window(1).xlatSize).toBe(0x100000);
    expect(msi.descOf(0xfee0_3018, 0, 7, { addrOffset: 0, data: 0 })).toEqual({ addrOffset: 0x3018, data: 7 });
    expect(() => msi.descOf(0xfef0_0000, 0, 7, { addrOffset: 0, data: 0 })).toThrow(/not within the memory window/);
  });

  test("a peer write lands in the MSI range only through a translated window", () => {
    const pair = createNtbPair();
    pair.a.linkEnable();
    pair.b.linkEnable();
    // No translation on A yet: B's write reaches nothing.
    expect(pair.b.peerMwWrite32(1, 0x0, 0x20)).toBe(WRITE_DROPPED);
    pair.a.mwSetTrans(0, 0x1000_0000, 0x100000);
    expect(pair.b.peerMwWrite32(0, 0x40, 1)).toBe(WRITE_MEMORY);
    pair.a.mwSetTrans(1, 0xfee00000, 0x100000);
    // CPU0 vector 0x40, nobody owns it: the APIC sees it (spurious), proving it reached the MSI range.
    expect(pair.b.peerMwWrite32(1, 0x0, 0x40)).toBe(SPURIOUS);
    expect(pair.a.stats).toMatchObject({ inboundWrites: 3, memoryWrites: 1, dropped: 1, msiWrites: 1 });
    expect(pair.a.system.stats.spurious).toBe(1);
  });
});

describe("ntb_msi window bounds", () => {
  test("descriptors are accepted in the first 32 KiB only (end_addr = addr + mw_min_size), however large the translation", () => {
    const pair = createNtbPair();
    const msi = new NtbMsi(pair.a);
    msi.setupMws(0xfee0_0000);
    expect(pair.a.window(1).xlatSize).toBe(0x100000);
    expect(msi.end - msi.base).toBe(0x8000);
    expect(msi.descOf(0xfee0_7ffc, 0, 1, { addrOffset: 0, data: 0 }).addrOffset).toBe(0x7ffc);
    let err: unknown;
    try {
      msi.descOf(0xfee0_8000, 0, 1, { addrOffset: 0, data: 0 });
    } catch (e) {
      err = e;
    }
    expect(isImsimError(err, "EINVAL")).toBe(true);
  });
});
