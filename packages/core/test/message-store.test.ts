import { describe, expect, it } from "vitest";
import {
  CTRL_MASK,
  CTRL_PASID_EN,
  CTRL_PASID_SHIFT,
  ENTRY_ADDR_HI,
  ENTRY_ADDR_LO,
  ENTRY_CTRL,
  ENTRY_DATA,
  ENTRY_SIZE,
  Entry16Store,
  PASID_MAX,
  StoreSlice,
  createMsixTable,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

function imsStore(size: number, view?: DataView, offset?: number): Entry16Store {
  return new Entry16Store({
    chipName: "PCI-IDXD",
    size,
    requesterId: 0x6a08,
    pasid: true,
    ...(view ? { view } : {}),
    ...(offset !== undefined ? { offset } : {}),
  });
}

describe("Entry16Store layout", () => {
  it("uses the MSI-X / IDXD IMS entry layout: 16 bytes of addr lo, addr hi, data, control", () => {
    expect([ENTRY_ADDR_LO, ENTRY_ADDR_HI, ENTRY_DATA, ENTRY_CTRL, ENTRY_SIZE]).toEqual([0, 4, 8, 12, 16]);
    expect(CTRL_MASK).toBe(1);
    expect(CTRL_PASID_EN).toBe(1 << 3);
    expect(CTRL_PASID_SHIFT).toBe(12);
    expect(PASID_MAX).toBe(0xfffff);
  });

  it("writes an entry little-endian at offset + index * 16 of the device memory it is given", () => {
    const buf = new ArrayBuffer(256);
    const view = new DataView(buf);
    const store = imsStore(4, view, 64);
    store.writeMessage(2, 0xfee01000, 0x12345678, 0x21);
    const bytes = new Uint8Array(buf, 64 + 2 * 16, 16);
    expect(Array.from(bytes)).toEqual([
      0x00, 0x10, 0xe0, 0xfe, // address lo
      0x78, 0x56, 0x34, 0x12, // address hi
      0x21, 0x00, 0x00, 0x00, // data
      0x01, 0x00, 0x00, 0x00, // control: masked at reset
    ]);
    expect(store.addressLo(2)).toBe(0xfee01000);
    expect(store.addressHi(2)).toBe(0x12345678);
    expect(store.data(2)).toBe(0x21);
    // Nothing outside the table was touched.
    expect(Array.from(new Uint8Array(buf, 0, 64)).every((b) => b === 0)).toBe(true);
    expect(Array.from(new Uint8Array(buf, 128, 128)).every((b) => b === 0)).toBe(true);
  });

  it("resets every entry masked (control bit 0), as MSI-X entries do", () => {
    const store = createMsixTable(8, 0x100);
    for (let i = 0; i < 8; i++) {
      expect(store.isMasked(i)).toBe(true);
      expect(store.control(i)).toBe(CTRL_MASK);
      expect(store.isPending(i)).toBe(false);
      expect(store.pasid(i)).toBe(-1);
    }
  });

  it("mask and unmask flip only control bit 0 of that entry", () => {
    const store = imsStore(4);
    store.setPasid(1, 0x1234);
    store.setMasked(1, false);
    expect(store.isMasked(1)).toBe(false);
    expect(store.control(1)).toBe(CTRL_PASID_EN | (0x1234 << 12));
    expect(store.isMasked(0)).toBe(true);
    expect(store.isMasked(2)).toBe(true);
    store.setMasked(1, true);
    expect(store.control(1)).toBe(CTRL_MASK | CTRL_PASID_EN | (0x1234 << 12));
    expect(store.pasid(1)).toBe(0x1234);
  });

  it("stores a PASID as enable bit 3 plus the PASID from bit 12, keeping the mask bit", () => {
    const store = imsStore(2);
    store.setPasid(0, 0x1234);
    expect(store.control(0)).toBe(CTRL_MASK | CTRL_PASID_EN | (0x1234 << 12));
    expect(store.pasid(0)).toBe(0x1234);
    store.setPasid(0, PASID_MAX);
    expect(store.control(0)).toBe((CTRL_MASK | CTRL_PASID_EN | 0xfffff000) >>> 0);
    expect(store.pasid(0)).toBe(PASID_MAX);
    store.setPasid(0, 0);
    expect(store.control(0)).toBe(CTRL_MASK | CTRL_PASID_EN);
    expect(store.pasid(0)).toBe(0);
    store.setPasid(0, -1);
    expect(store.control(0)).toBe(CTRL_MASK);
    expect(store.pasid(0)).toBe(-1);
  });

  it("reads the PASID straight from the control word in device memory", () => {
    const view = new DataView(new ArrayBuffer(32));
    const store = imsStore(2, view);
    view.setUint32(16 + 12, (CTRL_PASID_EN | (0xabcde << 12)) >>> 0, true);
    expect(store.pasid(1)).toBe(0xabcde);
    expect(store.isMasked(1)).toBe(false);
  });

  it("a store without PASID support accepts only 'no PASID' (-1)", () => {
    const store = createMsixTable(4, 0x100);
    expect(store.supportsPasid).toBe(false);
    expectCode(() => store.setPasid(0, 5), "EINVAL");
    expect(store.control(0)).toBe(CTRL_MASK);
    store.setPasid(0, -1);
    expect(store.pasid(0)).toBe(-1);
  });

  it("rejects PASIDs outside 20 bits with EINVAL rather than writing a wrong control word", () => {
    const store = imsStore(2);
    expectCode(() => store.setPasid(0, PASID_MAX + 1), "EINVAL");
    expectCode(() => store.setPasid(0, -2), "EINVAL");
    expect(store.control(0)).toBe(CTRL_MASK);
  });

  it("keeps pending bits beside the table, per entry", () => {
    const store = createMsixTable(4, 0x100);
    const before = store.control(3);
    store.setPending(3, true);
    expect(store.isPending(3)).toBe(true);
    expect(store.isPending(2)).toBe(false);
    expect(store.control(3)).toBe(before);
    store.setPending(3, false);
    expect(store.isPending(3)).toBe(false);
  });

  it("validates its options with EINVAL", () => {
    expectCode(() => new Entry16Store({ chipName: "X", size: 0, requesterId: 0, pasid: false }), "EINVAL");
    expectCode(() => new Entry16Store({ chipName: "X", size: 65537, requesterId: 0, pasid: false }), "EINVAL");
    expectCode(() => new Entry16Store({ chipName: "X", size: 4, requesterId: 0x10000, pasid: false }), "EINVAL");
    const view = new DataView(new ArrayBuffer(64));
    expectCode(() => new Entry16Store({ chipName: "X", size: 4, requesterId: 0, pasid: false, view, offset: 16 }), "EINVAL");
    expectCode(() => new Entry16Store({ chipName: "X", size: 4, requesterId: 0, pasid: false, view, offset: -16 }), "EINVAL");
    expect(new Entry16Store({ chipName: "X", size: 4, requesterId: 0, pasid: false, view, offset: 0 }).size).toBe(4);
  });
});

describe("createMsixTable", () => {
  it("builds a PCI-MSIX store without PASID, of 1 to 2048 entries", () => {
    const t = createMsixTable(2048, 0x6a08);
    expect(t.chipName).toBe("PCI-MSIX");
    expect(t.size).toBe(2048);
    expect(t.requesterId).toBe(0x6a08);
    expect(t.supportsPasid).toBe(false);
    expectCode(() => createMsixTable(2049, 0), "EINVAL");
    expectCode(() => createMsixTable(0, 0), "EINVAL");
  });
});

describe("StoreSlice", () => {
  it("maps its index i to entry base + i of the store underneath", () => {
    const store = imsStore(16);
    const slice = new StoreSlice(store, 4, 8);
    expect(slice.size).toBe(8);
    expect(slice.base).toBe(4);
    expect(slice.chipName).toBe("PCI-IDXD");
    expect(slice.requesterId).toBe(0x6a08);
    expect(slice.supportsPasid).toBe(true);
    slice.writeMessage(0, 0xfee00000, 0, 0x30);
    slice.writeMessage(7, 0xfee01000, 0, 0x31);
    expect(store.data(4)).toBe(0x30);
    expect(store.data(11)).toBe(0x31);
    expect(store.data(0)).toBe(0);
    expect(slice.addressLo(7)).toBe(0xfee01000);
    expect(slice.addressHi(7)).toBe(0);
    slice.setMasked(1, false);
    expect(store.isMasked(5)).toBe(false);
    expect(slice.isMasked(1)).toBe(false);
    slice.setPending(2, true);
    expect(store.isPending(6)).toBe(true);
    expect(slice.isPending(2)).toBe(true);
    slice.setPasid(3, 77);
    expect(store.pasid(7)).toBe(77);
    expect(slice.pasid(3)).toBe(77);
  });

  it("nests: a slice of a slice adds the bases", () => {
    const store = imsStore(16);
    const inner = new StoreSlice(new StoreSlice(store, 4, 8), 2, 3);
    inner.writeMessage(1, 0xfee00000, 0, 0x44);
    expect(store.data(7)).toBe(0x44);
  });

  it("refuses slices that do not fit in the store with EINVAL", () => {
    const store = imsStore(16);
    expectCode(() => new StoreSlice(store, 16, 1), "EINVAL");
    expectCode(() => new StoreSlice(store, -1, 1), "EINVAL");
    expectCode(() => new StoreSlice(store, 8, 9), "EINVAL");
    expectCode(() => new StoreSlice(store, 0, 0), "EINVAL");
    expect(new StoreSlice(store, 8, 8).size).toBe(8);
  });
});
