import { describe, expect, it } from "vitest";
import { StoreOwnership, StoreSlice, createMsixTable, rootOf } from "../src/index.js";

describe("StoreOwnership", () => {
  it("finds the lowest free entry in a window and tracks owners", () => {
    const own = new StoreOwnership(createMsixTable(8, 0));
    expect(own.lowestFree(0, 8)).toBe(0);
    own.claim(0, 1);
    own.claim(1, 1);
    own.claim(3, 2);
    expect(own.inUse).toBe(3);
    expect(own.ownerOf(3)).toBe(2);
    expect(own.ownerOf(2)).toBe(0);
    expect(own.lowestFree(0, 8)).toBe(2);
    expect(own.lowestFree(3, 8)).toBe(4);
    expect(own.lowestFree(3, 4)).toBe(-1);
  });

  it("finds a released entry below the taken front again", () => {
    const own = new StoreOwnership(createMsixTable(4, 0));
    for (let i = 0; i < 4; i++) own.claim(i, 1);
    expect(own.lowestFree(0, 4)).toBe(-1);
    own.release(1);
    expect(own.inUse).toBe(3);
    expect(own.lowestFree(0, 4)).toBe(1);
    expect(own.lowestFree(2, 4)).toBe(-1);
  });
});

describe("rootOf", () => {
  it("returns the physical store and the summed base of nested slices", () => {
    const store = createMsixTable(32, 0);
    expect(rootOf(store)).toEqual({ root: store, base: 0 });
    const r = rootOf(new StoreSlice(new StoreSlice(store, 8, 16), 3, 4));
    expect(r.root).toBe(store);
    expect(r.base).toBe(11);
  });
});
