import { describe, expect, it } from "vitest";
import { arrayBytes, mapBytes, objectBytes, summarizeFootprint } from "../src/index.js";

describe("footprint", () => {
  it("grows size estimates with what a structure holds", () => {
    expect(objectBytes(3)).toBeGreaterThan(objectBytes(2));
    expect(arrayBytes([1, 2, 3])).toBeGreaterThan(arrayBytes([]));
    expect(mapBytes(new Map([[1, 1], [2, 2], [3, 3]]))).toBeGreaterThan(mapBytes(new Map()));
  });

  it("sums items and divides the per-queue and per-interrupt parts by their counts", () => {
    const f = summarizeFootprint("flat", 2, 8, [
      { what: "host", per: "fixed", objects: 1, bytes: 100 },
      { what: "queue records", per: "queue", objects: 2, bytes: 64 },
      { what: "index map", per: "interrupt", objects: 8, bytes: 256 },
    ]);
    expect(f.objects).toBe(11);
    expect(f.bytes).toBe(420);
    expect(f.perQueue).toEqual({ objects: 1, bytes: 32 });
    expect(f.perInterrupt).toEqual({ objects: 1, bytes: 32 });
    expect(summarizeFootprint("x", 0, 0, []).perQueue).toEqual({ objects: 0, bytes: 0 });
  });
});
