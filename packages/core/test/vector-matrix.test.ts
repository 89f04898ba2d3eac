import { describe, expect, it } from "vitest";
import {
  FIRST_EXTERNAL_VECTOR,
  FIRST_SYSTEM_VECTOR,
  IA32_SYSCALL_VECTOR,
  VECTORS_PER_CPU,
  VectorMatrix,
  formatCpuList,
  formatRangeList,
  isSystemVector,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

describe("x86 vector layout", () => {
  it("reserves exceptions, the syscall gate and the system vectors", () => {
    expect(FIRST_EXTERNAL_VECTOR).toBe(0x20);
    expect(IA32_SYSCALL_VECTOR).toBe(0x80);
    expect(FIRST_SYSTEM_VECTOR).toBe(0xec);
    for (const v of [0, 0x1f, 0x80, 0xec, 0xef, 0xff]) expect(isSystemVector(v)).toBe(true);
    for (const v of [0x20, 0x21, 0x7f, 0x81, 0xeb]) expect(isSystemVector(v)).toBe(false);
  });

  it("leaves 203 device vectors per CPU (0x20-0xeb without 0x80)", () => {
    expect(VECTORS_PER_CPU).toBe(203);
  });
});

describe("VectorMatrix", () => {
  it("starts with every CPU online and nothing allocated", () => {
    const m = new VectorMatrix(4);
    expect(m.onlineMask).toBe(0xf);
    expect(m.allCpusMask).toBe(0xf);
    expect(m.usage()).toEqual([0, 0, 0, 0]);
    expect(m.vectorsOf(0)).toEqual([]);
  });

  it("handles 32 CPUs with an unsigned mask", () => {
    const m = new VectorMatrix(32);
    expect(m.allCpusMask).toBe(0xffffffff);
    expect(m.onlineMask).toBe(0xffffffff);
    m.setOnline(31, false);
    expect(m.onlineMask).toBe(0x7fffffff);
    expect(m.isOnline(31)).toBe(false);
    m.setOnline(31, true);
    expect(m.onlineMask).toBe(0xffffffff);
    expect(m.pickCpu(0x80000000)).toBe(31);
  });

  it("binds the lowest free device vector and looks it up", () => {
    const m = new VectorMatrix(2);
    expect(m.allocOn(1, 40)).toBe(0x20);
    expect(m.allocOn(1, 41)).toBe(0x21);
    expect(m.lookup(1, 0x20)).toBe(40);
    expect(m.lookup(1, 0x21)).toBe(41);
    expect(m.lookup(0, 0x20)).toBe(0);
    expect(m.allocatedOn(1)).toBe(2);
    m.free(1, 0x20);
    expect(m.lookup(1, 0x20)).toBe(0);
    expect(m.allocOn(1, 42)).toBe(0x20);
    expect(m.vectorsOf(1)).toEqual([0x20, 0x21]);
  });

  it("never hands out 0x80 and fills exactly VECTORS_PER_CPU vectors before ENOSPC", () => {
    const m = new VectorMatrix(1);
    const got: number[] = [];
    for (let i = 0; i < VECTORS_PER_CPU; i++) got.push(m.allocOn(0, 100 + i));
    expect(got).not.toContain(0x80);
    expect(got.every((v) => !isSystemVector(v))).toBe(true);
    expect(new Set(got).size).toBe(VECTORS_PER_CPU);
    expect(got[got.length - 1]).toBe(0xeb);
    expectCode(() => m.allocOn(0, 999), "ENOSPC");
    expect(m.allocatedOn(0)).toBe(VECTORS_PER_CPU);
    expect(m.pickCpu(1)).toBe(-1);
  });

  it("picks the least-loaded online CPU of the mask, the lowest on ties", () => {
    const m = new VectorMatrix(4);
    expect(m.pickCpu(0xf)).toBe(0);
    m.allocOn(0, 20);
    expect(m.pickCpu(0xf)).toBe(1);
    m.allocOn(1, 21);
    m.allocOn(2, 22);
    expect(m.pickCpu(0xf)).toBe(3);
    expect(m.pickCpu(0b0110)).toBe(1);
    m.setOnline(3, false);
    expect(m.pickCpu(0xf)).toBe(0);
    expect(m.pickCpu(0b1000)).toBe(-1);
    expect(m.pickCpu(0)).toBe(-1);
  });

  it("looks up nothing on a CPU index it does not have", () => {
    const m = new VectorMatrix(2);
    expect(m.lookup(5, 0x20)).toBe(0);
    expect(m.isOnline(5)).toBe(false);
    expect(m.isOnline(-1)).toBe(false);
  });

  it("refuses to free a free vector, a system vector, or a vector of an unknown CPU with ENOENT", () => {
    const m = new VectorMatrix(2);
    expectCode(() => m.free(0, 0x20), "ENOENT");
    expectCode(() => m.free(0, 0x80), "ENOENT");
    expectCode(() => m.free(0, 0xff), "ENOENT");
    expectCode(() => m.free(7, 0x20), "ENOENT");
    expect(m.usage()).toEqual([0, 0]);
    expect(m.lookup(0, 0xff)).toBe(-1);
  });
});

describe("cpu and range lists", () => {
  it("formats a CPU mask as a cpulist", () => {
    expect(formatCpuList(0b11, 2)).toBe("0-1");
    expect(formatCpuList(0b1011, 4)).toBe("0-1,3");
    expect(formatCpuList(0b0100, 4)).toBe("2");
    expect(formatCpuList(0, 4)).toBe("");
    expect(formatCpuList(0xffffffff, 32)).toBe("0-31");
    expect(formatCpuList(0xff, 4)).toBe("0-3");
  });

  it("formats ascending numbers as a range list", () => {
    const sys: number[] = [];
    for (let v = 0; v <= 19; v++) sys.push(v);
    sys.push(21, 50, 128, 236, 244, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255);
    expect(formatRangeList(sys)).toBe("0-19,21,50,128,236,244,246-255");
    expect(formatRangeList([])).toBe("");
    expect(formatRangeList([7])).toBe("7");
  });
});
