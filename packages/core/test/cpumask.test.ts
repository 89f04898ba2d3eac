import { describe, expect, it } from "vitest";
import { Cpumask, parseCpuList, toCpumask } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

describe("Cpumask formats (lib/vsprintf.c bitmap_string, bitmap_list_string)", () => {
  it("%*pb: 32-bit chunks from the top, the first as wide as the mask's bits need, the others 8 digits", () => {
    expect(Cpumask.full(2).toHex()).toBe("3");
    expect(Cpumask.full(4).toHex()).toBe("f");
    expect(Cpumask.of(4, [0]).toHex()).toBe("1");
    expect(Cpumask.full(8).toHex()).toBe("ff");
    expect(Cpumask.of(32, [0]).toHex()).toBe("00000001");
    expect(Cpumask.full(40).toHex()).toBe("ff,ffffffff");
    expect(Cpumask.of(40, [0, 39]).toHex()).toBe("80,00000001");
    expect(Cpumask.of(256, [255]).toHex()).toBe("80000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000");
    expect(Cpumask.empty(4).toHex()).toBe("0");
  });

  it("%*pbl: ranges, empty for an empty mask", () => {
    expect(Cpumask.of(512, [0, 1, 2, 3, 8, 10, 11, 511]).toList()).toBe("0-3,8,10-11,511");
    expect(Cpumask.full(256).toList()).toBe("0-255");
    expect(Cpumask.empty(8).toList()).toBe("");
  });
});

describe("Cpumask sets", () => {
  it("answers membership, weight, first and iteration at any size", () => {
    const m = Cpumask.of(512, [5, 64, 300, 511]);
    expect([m.has(5), m.has(6), m.has(511), m.weight, m.first()]).toEqual([true, false, true, 4, 5]);
    expect([...m]).toEqual([5, 64, 300, 511]);
    expect(m.next(65)).toBe(300);
  });
  it("combines: and, or, andNot, intersects, subsetOf, equals", () => {
    const a = Cpumask.of(64, [1, 2, 40]);
    const b = Cpumask.of(64, [2, 40, 63]);
    expect(a.and(b).toList()).toBe("2,40");
    expect(a.or(b).toList()).toBe("1-2,40,63");
    expect(a.andNot(b).toList()).toBe("1");
    expect([a.intersects(b), a.and(b).subsetOf(a), a.equals(Cpumask.of(64, [40, 2, 1]))]).toEqual([true, true, true]);
  });
});

describe("toCpumask: what the API takes as a CPU set", () => {
  it("takes a mask, a CPU list, an array, a bigint or a number bitmask", () => {
    for (const v of [Cpumask.of(8, [1, 3]), "1,3", [3, 1], 0b1010n, 0b1010]) expect(toCpumask(v, 8, "m").toList()).toBe("1,3");
    expect(toCpumask(1n << 300n, 512, "m").toList()).toBe("300");
    expect(parseCpuList("0-3, 8", 16).toList()).toBe("0-3,8");
  });
  it("refuses malformed, out-of-range and empty masks with EINVAL naming the argument", () => {
    for (const bad of [0, -1, 1.5, 0x100, "4-2", "x", "", [8], [1.5], null, {}, Cpumask.full(4)]) {
      const e = expectCode(() => toCpumask(bad, 8, "affinity of virq 30"), "EINVAL");
      expect(e.message).toContain("affinity of virq 30");
    }
    expect(toCpumask("", 8, "m", true).isEmpty).toBe(true);
  });
});
