import { describe, expect, it } from "vitest";
import {
  MSI_ADDR_BASE,
  compatApicId,
  compatVector,
  composeCompat,
  composeRemappable,
  decodeCompat,
  formatMsg,
  isMsiAddress,
  isRemappable,
  remappableIndex,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// Values read back from real kernels: research/kernel-formats.md, "MSI messages as the kernel wrote them".
describe("compatibility format", () => {
  it("APIC id 1, vector 0x21 is address 0xfee01000, data 0x0021 (as a 6.x kernel wrote it)", () => {
    expect(composeCompat(1, 0x21)).toEqual({ addressLo: 0xfee01000, addressHi: 0, data: 0x0021 });
  });

  it("APIC id 0, vector 0x28 is address 0xfee00000 (upper 0), data 0x0028", () => {
    expect(composeCompat(0, 0x28)).toEqual({ addressLo: 0xfee00000, addressHi: 0, data: 0x0028 });
  });

  it("decodes the kernel's messages back: fixed delivery, physical, edge", () => {
    expect(decodeCompat({ addressLo: 0xfee01000, addressHi: 0, data: 0x21 })).toEqual({
      apicId: 1,
      vector: 0x21,
      destModeLogical: false,
      redirectHint: false,
      deliveryMode: 0,
      level: false,
      activeLow: false,
    });
  });

  it("decodes mode, hint, delivery, trigger and polarity bits where the SDM puts them", () => {
    const f = decodeCompat({ addressLo: 0xfee00000 | (1 << 2) | (1 << 3), addressHi: 0, data: 0x30 | (5 << 8) | (1 << 14) | (1 << 15) });
    expect(f).toEqual({ apicId: 0, vector: 0x30, destModeLogical: true, redirectHint: true, deliveryMode: 5, level: true, activeLow: true });
    expect(decodeCompat({ addressLo: 0xfee00000, addressHi: 0, data: 1 << 11 }).destModeLogical).toBe(true);
  });

  it("puts APIC id bits 7:0 in address 19:12 and bits 14:8 in the extended id bits 11:5", () => {
    const m = composeCompat(0x1ff, 0x40);
    expect(m.addressLo).toBe(0xfeeff020);
    expect(compatApicId(m.addressLo)).toBe(0x1ff);
    expect(compatApicId(composeCompat(0x7fff, 0x40).addressLo)).toBe(0x7fff);
    for (const id of [0, 1, 2, 3, 31, 255, 256, 0x1234]) expect(compatApicId(composeCompat(id, 0x33).addressLo)).toBe(id);
  });

  it("reads the vector from data bits 7:0 only", () => {
    expect(compatVector(0x21)).toBe(0x21);
    expect(compatVector(0xc021)).toBe(0x21);
  });

  it("is never remappable and always in the APIC window", () => {
    for (const id of [0, 1, 0x7fff]) {
      const m = composeCompat(id, 0xeb);
      expect(isRemappable(m.addressLo)).toBe(false);
      expect(isMsiAddress(m.addressLo, m.addressHi)).toBe(true);
    }
  });

  it("rejects APIC ids and vectors out of range with EINVAL", () => {
    expectCode(() => composeCompat(0x8000, 0x21), "EINVAL");
    expectCode(() => composeCompat(-1, 0x21), "EINVAL");
    expectCode(() => composeCompat(0, 256), "EINVAL");
    expectCode(() => composeCompat(0, 1.5), "EINVAL");
  });
});

describe("remappable format", () => {
  it("handle 18 is address 0xfee00258, data 0 (as Intel IR wrote it): format bit 4, SHV bit 3, handle in 19:5", () => {
    const m = composeRemappable(18);
    expect(m).toEqual({ addressLo: 0xfee00258, addressHi: 0, data: 0 });
    expect(m.addressLo & (1 << 4)).not.toBe(0);
    expect(m.addressLo & (1 << 3)).not.toBe(0);
    expect(m.addressLo & (1 << 2)).toBe(0);
    expect(isRemappable(m.addressLo)).toBe(true);
    expect(isMsiAddress(m.addressLo, m.addressHi)).toBe(true);
  });

  it("the sub-handle in the data selects IRTE handle + sub-handle: the second vector uses 18 + 1", () => {
    const m = composeRemappable(18, 1);
    expect(m).toEqual({ addressLo: 0xfee00258, addressHi: 0, data: 1 });
    expect(remappableIndex(m.addressLo, m.data)).toBe(19);
    expect(remappableIndex(0xfee00258, 0)).toBe(18);
  });

  it("handle bit 15 goes to address bit 2, bits 14:0 to bits 19:5", () => {
    const m = composeRemappable(0x8000);
    expect(m.addressLo).toBe((0xfee00000 | (1 << 4) | (1 << 3) | (1 << 2)) >>> 0);
    expect(remappableIndex(m.addressLo, 0)).toBe(0x8000);
    const top = composeRemappable(0xffff);
    expect(top.addressLo).toBe((0xfee00000 | (0x7fff << 5) | 0x1c) >>> 0);
    expect(remappableIndex(top.addressLo, 0)).toBe(0xffff);
    expect(composeRemappable(0x7fff).addressLo & (1 << 2)).toBe(0);
  });

  it("round-trips every handle through remappableIndex", () => {
    for (let h = 0; h <= 0xffff; h += 0x101) expect(remappableIndex(composeRemappable(h).addressLo, 0)).toBe(h);
  });

  it("ignores the data without SHV", () => {
    const noShv = (composeRemappable(18).addressLo & ~(1 << 3)) >>> 0;
    expect(remappableIndex(noShv, 5)).toBe(18);
  });

  it("rejects handles and sub-handles out of range with EINVAL", () => {
    expectCode(() => composeRemappable(0x10000), "EINVAL");
    expectCode(() => composeRemappable(-1), "EINVAL");
    expectCode(() => composeRemappable(1, 0x10000), "EINVAL");
  });
});

describe("MSI address window", () => {
  it("accepts only 0xFEExxxxx with upper address 0", () => {
    expect(MSI_ADDR_BASE).toBe(0xfee00000);
    expect(isMsiAddress(0xfee00000, 0)).toBe(true);
    expect(isMsiAddress(0xfeefffff, 0)).toBe(true);
    expect(isMsiAddress(0xfee00000, 1)).toBe(false);
    expect(isMsiAddress(0xfef00000, 0)).toBe(false);
    expect(isMsiAddress(0xfed00000, 0)).toBe(false);
    expect(isMsiAddress(0, 0)).toBe(false);
  });

  it("formats a message with its full 64-bit address and data", () => {
    const text = formatMsg({ addressLo: 0xfee01000, addressHi: 0, data: 0x21 });
    expect(text).toContain("fee01000");
    expect(text).toContain("0x00000021");
    expect(formatMsg({ addressLo: 0x1000, addressHi: 0x12, data: 0 })).toContain("0000001200001000");
  });
});
