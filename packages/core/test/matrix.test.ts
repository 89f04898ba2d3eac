import { describe, expect, it } from "vitest";
import { Cpumask, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR, IrqMatrix, Q35_SYSTEM_VECTORS } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// kernel/irq/matrix.c: the counts the debugfs VECTOR file prints come from here.
function matrix(cpus = 4): IrqMatrix {
  const m = new IrqMatrix(cpus, 256, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR);
  for (const v of Q35_SYSTEM_VECTORS) m.assignSystem(v);
  for (let c = 0; c < cpus; c++) m.online(c);
  return m;
}
const all = (n: number) => Cpumask.full(n);

describe("IrqMatrix", () => {
  it("gives each online CPU the allocation range minus the system vectors inside it (0x32, 0x80): 202 in v6.9", () => {
    const m = matrix(4);
    expect(m.counts(0)).toEqual({ online: true, available: 0xec - 0x20 - 2, allocated: 0, managed: 0, managedAllocated: 0 });
    expect([m.globalAvailable, m.globalReserved, m.totalAllocated, m.onlineMaps]).toEqual([808, 0, 0, 4]);
    expect(m.systemVectors()).toEqual(Q35_SYSTEM_VECTORS);
  });

  it("allocates on the online CPU of the mask with the most available vectors, the lowest free vector there", () => {
    const m = matrix(4);
    expect(m.alloc(all(4), false)).toBe(0x20);
    expect(m.lastCpu).toBe(0);
    expect(m.alloc(all(4), false)).toBe(0x20);
    expect(m.lastCpu).toBe(1);
    expect(m.alloc(Cpumask.of(4, [0, 1]), false)).toBe(0x21);
    expect(m.lastCpu).toBe(0);
    expect([m.globalAvailable, m.totalAllocated]).toEqual([805, 3]);
    expect(m.allocatedVectors(0)).toEqual([0x20, 0x21]);
  });

  it("never hands out a system vector: 0x32 (the PIC cascade) and 0x80 (the syscall gate) are skipped", () => {
    const m = matrix(1);
    const got = new Set<number>();
    for (let i = 0; i < 202; i++) got.add(m.alloc(all(1), false));
    expect(got.has(0x32) || got.has(0x80)).toBe(false);
    expectCode(() => m.alloc(all(1), false), "ENOSPC");
  });

  it("keeps reservations as a global count that may exceed what is available (Linux only warns)", () => {
    const m = matrix(1);
    for (let i = 0; i < 1000; i++) m.reserve();
    expect([m.globalReserved, m.globalAvailable]).toEqual([1000, 202]);
    m.alloc(all(1), true); // activation consumes one reservation
    expect([m.globalReserved, m.globalAvailable]).toEqual([999, 201]);
    m.removeReserved();
    expect(m.globalReserved).toBe(998);
  });

  it("reserves managed vectors on every CPU of a mask, then activates them on the CPU with the fewest", () => {
    const m = matrix(4);
    m.reserveManaged(Cpumask.of(4, [1, 2]));
    expect([m.counts(1).managed, m.counts(1).available, m.counts(2).managed, m.counts(3).managed]).toEqual([1, 201, 1, 0]);
    expect(m.globalAvailable).toBe(806);
    const v = m.allocManaged(Cpumask.of(4, [1, 2]));
    // the last CPU on ties, as matrix_find_best_cpu_managed
    expect([m.lastCpu, m.counts(2).managedAllocated, m.counts(2).allocated]).toEqual([2, 1, 1]);
    m.free(2, v, true);
    expect([m.counts(2).managed, m.counts(2).managedAllocated, m.counts(2).available]).toEqual([1, 0, 201]);
    m.removeManaged(Cpumask.of(4, [1, 2]));
    expect([m.counts(1).managed, m.counts(2).managed, m.globalAvailable]).toEqual([0, 0, 808]);
  });

  it("takes an offline CPU's vectors out of the pool, and refuses it for allocation", () => {
    const m = matrix(2);
    m.offline(1);
    expect([m.globalAvailable, m.onlineMaps]).toEqual([202, 1]);
    expectCode(() => m.alloc(Cpumask.of(2, [1]), false), "ENOSPC");
    m.online(1);
    expect(m.globalAvailable).toBe(404);
  });

  it("frees only what it allocated (ENOENT otherwise)", () => {
    const m = matrix(1);
    expectCode(() => m.free(0, 0x40, false), "ENOENT");
    const v = m.alloc(all(1), false);
    m.free(0, v, false);
    expectCode(() => m.free(0, v, false), "ENOENT");
  });
});
