import { describe, expect, it } from "vitest";
import { IrqSpace, NR_IRQS_LEGACY } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

// Dynamic numbers start at the lower bound (gsi_top on x86); below it only fixed claims.
const space = (limit: number, lower = 16) => new IrqSpace(limit, lower, 64);

describe("IrqSpace", () => {
  it("never hands out 0 or a number below the lower bound: the first dynamic virq is the bound", () => {
    expect(NR_IRQS_LEGACY).toBe(16);
    const s = space(64);
    expect(s.alloc()).toBe(16);
    expect(s.isAllocated(0)).toBe(false);
    for (let i = 0; i < 16; i++) expect(s.isAllocated(i)).toBe(false);
    const q35 = new IrqSpace(64, 24, 440);
    expect(q35.alloc()).toBe(24);
  });

  it("claims fixed numbers below the bound (legacy interrupts), and refuses a taken one", () => {
    const s = new IrqSpace(64, 24, 440);
    s.claim(0);
    s.claim(9);
    expect([s.isAllocated(0), s.isAllocated(9), s.inUse]).toEqual([true, true, 2]);
    expectCode(() => s.claim(9), "EBUSY");
    expect(s.alloc()).toBe(24);
  });

  it("keeps nr_irqs from boot and raises it when an allocation reaches past it (irq_expand_nr_irqs)", () => {
    const s = new IrqSpace(4096, 24, 100);
    expect(s.nrIrqs).toBe(100);
    s.alloc(70); // 24..93
    expect(s.nrIrqs).toBe(100);
    s.alloc(10); // 94..103
    expect(s.nrIrqs).toBe(104);
  });

  it("hands out numbers lowest-free first and reuses a freed number before higher ones", () => {
    const s = space(64);
    expect([s.alloc(), s.alloc(), s.alloc(), s.alloc()]).toEqual([16, 17, 18, 19]);
    s.free(17);
    s.free(16);
    expect(s.inUse).toBe(2);
    expect(s.alloc()).toBe(16);
    expect(s.alloc()).toBe(17);
    expect(s.alloc()).toBe(20);
  });

  it("allocates a contiguous block past holes too small for it", () => {
    const s = space(64);
    for (let i = 0; i < 6; i++) s.alloc(); // 16..21
    s.free(17); // hole of 1
    s.free(19);
    s.free(20); // hole of 2
    expect(s.alloc(3)).toBe(22);
    expect(s.alloc(2)).toBe(19);
    expect(s.alloc(1)).toBe(17);
    for (const v of [16, 17, 18, 19, 20, 21, 22, 23, 24]) expect(s.isAllocated(v)).toBe(true);
    expect(s.isAllocated(25)).toBe(false);
    expect(s.inUse).toBe(9);
  });

  it("throws ENOSPC when no free run is long enough, and keeps its state", () => {
    const s = space(20); // 16..19 usable
    expect(s.alloc(3)).toBe(16);
    expectCode(() => s.alloc(2), "ENOSPC");
    expect(s.inUse).toBe(3);
    expect(s.alloc(1)).toBe(19);
    expectCode(() => s.alloc(1), "ENOSPC");
  });

  it("a space of limit 17 holds exactly one virq", () => {
    const s = space(17);
    expect(s.alloc()).toBe(16);
    expectCode(() => s.alloc(), "ENOSPC");
  });

  it("freeing a number that is not allocated is ENOENT", () => {
    const s = space(64);
    const v = s.alloc();
    s.free(v);
    expectCode(() => s.free(v), "ENOENT");
    expectCode(() => s.free(0), "ENOENT");
    expectCode(() => s.free(3), "ENOENT");
    expectCode(() => s.free(1000), "ENOENT");
    expect(s.inUse).toBe(0);
  });

  it("rejects limits that leave no room above the lower bound", () => {
    expectCode(() => space(16), "EINVAL");
    expectCode(() => space(1.5), "EINVAL");
    expect(space(17).limit).toBe(17);
  });
});
