import { describe, expect, it } from "vitest";
import { IrqSpace, NR_IRQS_LEGACY } from "../src/index.js";
import { expectCode } from "./support/helpers.js";

describe("IrqSpace", () => {
  it("never hands out 0 or a legacy number: the first virq is 16", () => {
    expect(NR_IRQS_LEGACY).toBe(16);
    const s = new IrqSpace(64);
    expect(s.alloc()).toBe(16);
    expect(s.isAllocated(0)).toBe(false);
    for (let i = 0; i < 16; i++) expect(s.isAllocated(i)).toBe(false);
  });

  it("hands out numbers lowest-free first and reuses a freed number before higher ones", () => {
    const s = new IrqSpace(64);
    expect([s.alloc(), s.alloc(), s.alloc(), s.alloc()]).toEqual([16, 17, 18, 19]);
    s.free(17);
    s.free(16);
    expect(s.inUse).toBe(2);
    expect(s.alloc()).toBe(16);
    expect(s.alloc()).toBe(17);
    expect(s.alloc()).toBe(20);
  });

  it("allocates a contiguous block past holes too small for it", () => {
    const s = new IrqSpace(64);
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
    const s = new IrqSpace(20); // 16..19 usable
    expect(s.alloc(3)).toBe(16);
    expectCode(() => s.alloc(2), "ENOSPC");
    expect(s.inUse).toBe(3);
    expect(s.alloc(1)).toBe(19);
    expectCode(() => s.alloc(1), "ENOSPC");
  });

  it("a space of limit 17 holds exactly one virq", () => {
    const s = new IrqSpace(17);
    expect(s.alloc()).toBe(16);
    expectCode(() => s.alloc(), "ENOSPC");
  });

  it("freeing a number that is not allocated is ENOENT", () => {
    const s = new IrqSpace(64);
    const v = s.alloc();
    s.free(v);
    expectCode(() => s.free(v), "ENOENT");
    expectCode(() => s.free(0), "ENOENT");
    expectCode(() => s.free(3), "ENOENT");
    expectCode(() => s.free(1000), "ENOENT");
    expect(s.inUse).toBe(0);
  });

  it("rejects limits that leave no room above the legacy numbers", () => {
    expectCode(() => new IrqSpace(16), "EINVAL");
    expectCode(() => new IrqSpace(1.5), "EINVAL");
    expect(new IrqSpace(17).limit).toBe(17);
  });
});
