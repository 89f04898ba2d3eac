import { describe, expect, it } from "vitest";
import {
  IrteTable,
  SVT_NO_VERIFY,
  SVT_VERIFY_BUS,
  SVT_VERIFY_SID_SQ,
  createSystem,
  resolveSourceId,
  sourceIdMatches,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

const rid = (bus: number, dev: number, fn: number) => (bus << 8) | (dev << 3) | fn;

describe("resolveSourceId", () => {
  it("verifies a device without DMA aliases by its own full requester id", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: 0x6a08, requesterId: 0x6a08 });
  });

  it("verifies an alias on another bus by the alias's full id (topology alias)", () => {
    const sys = createSystem();
    const alias = rid(0x05, 0, 0);
    const dev = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [alias] });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: alias, requesterId: alias });
  });

  it("verifies only the bus when there are two or more aliases all on one bus (NTB proxy ids)", () => {
    const sys = createSystem();
    const aliases = [rid(0x03, 0, 1), rid(0x03, 0, 2), rid(0x03, 1, 0)];
    const dev = sys.addPciDevice({ bdf: "0000:03:00.0", dmaAliases: aliases });
    const s = resolveSourceId(dev);
    expect(s.svt).toBe(SVT_VERIFY_BUS);
    expect(s.sid).toBe((0x03 << 8) | 0x03);
    expect(aliases).toContain(s.requesterId);
  });

  it("verifies the bus of the proxy ids even when they sit on another bus than the device", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:03:00.0", dmaAliases: [rid(0x09, 0, 1), rid(0x09, 0, 2)] });
    const s = resolveSourceId(dev);
    expect(s).toMatchObject({ svt: SVT_VERIFY_BUS, sid: 0x0909 });
  });

  it("keeps the device's own id for a single quirk alias on its own bus", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [rid(0x06, 0, 1)] });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: rid(6, 0, 0), requesterId: rid(6, 0, 0) });
  });

  it("uses a foreign-bus alias when aliases sit on several buses", () => {
    const sys = createSystem();
    const foreign = rid(0x05, 0, 0);
    const dev = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [rid(0x06, 0, 1), foreign] });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: foreign, requesterId: foreign });
  });

  it("resolves a non-PCI child through its parent chain to the PCI function above it", () => {
    const sys = createSystem();
    const alias = rid(0x05, 0, 0);
    const pci = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [alias] });
    const ntb = sys.addDevice({ name: "ntb0", bus: "ntb", parent: pci });
    const q = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: ntb });
    expect(resolveSourceId(q)).toEqual(resolveSourceId(pci));
    expect(resolveSourceId(q).sid).toBe(alias);
  });

  it("throws ENODEV for a device with no PCI function above it", () => {
    const sys = createSystem();
    const dev = sys.addDevice({ name: "plat0", bus: "platform" });
    expectCode(() => resolveSourceId(dev), "ENODEV");
  });

  it("returns a frozen result", () => {
    const sys = createSystem();
    const s = resolveSourceId(sys.addPciDevice({ bdf: "0000:6a:01.0" }));
    expect(Object.isFrozen(s)).toBe(true);
  });
});

describe("sourceIdMatches", () => {
  it("with no verification accepts any requester", () => {
    expect(sourceIdMatches(SVT_NO_VERIFY, 0x1234, 0xffff)).toBe(true);
  });

  it("with full-id verification accepts only that exact id", () => {
    expect(sourceIdMatches(SVT_VERIFY_SID_SQ, 0x6a08, 0x6a08)).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_SID_SQ, 0x6a08, 0x6a09)).toBe(false);
    expect(sourceIdMatches(SVT_VERIFY_SID_SQ, 0x6a08, 0x6b08)).toBe(false);
  });

  it("with bus verification accepts any function on a bus in [start, end] and nothing else", () => {
    const sid = (0x03 << 8) | 0x05;
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(3, 0, 0))).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(4, 31, 7))).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(5, 1, 2))).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(2, 0, 0))).toBe(false);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(6, 0, 0))).toBe(false);
    expect(sourceIdMatches(SVT_VERIFY_BUS, 0x0303, rid(3, 7, 1))).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_BUS, 0x0303, rid(4, 7, 1))).toBe(false);
  });
});

describe("IrteTable", () => {
  it("allocates the lowest free entry, not present until programmed", () => {
    const t = new IrteTable(8);
    expect(t.alloc(20)).toBe(0);
    expect(t.alloc(21)).toBe(1);
    expect(t.alloc(22)).toBe(2);
    expect(t.present[0]).toBe(0);
    expect(t.inUse).toBe(3);
    t.free(1);
    expect(t.alloc(23)).toBe(1);
    expect(t.alloc(24)).toBe(3);
    expect(t.virq[1]).toBe(23);
  });

  it("programs and clears every column of an entry", () => {
    const t = new IrteTable(4);
    const i = t.alloc(30);
    t.program(i, 0x41, 3, { svt: SVT_VERIFY_BUS, sid: 0x0303, requesterId: 0x0301 }, 0x99);
    expect([t.present[i], t.vector[i], t.destination[i], t.svt[i], t.sid[i], t.pasid[i], t.virq[i]]).toEqual([1, 0x41, 3, SVT_VERIFY_BUS, 0x0303, 0x99, 30]);
    t.free(i);
    expect([t.present[i], t.vector[i], t.destination[i], t.svt[i], t.sid[i], t.pasid[i], t.virq[i]]).toEqual([0, 0, 0, 0, 0, -1, 0]);
    expect(t.inUse).toBe(0);
  });

  it("throws ENOSPC when full and ENOENT on freeing a free entry", () => {
    const t = new IrteTable(2);
    t.alloc(16);
    t.alloc(17);
    expectCode(() => t.alloc(18), "ENOSPC");
    t.free(0);
    expectCode(() => t.free(0), "ENOENT");
    expect(t.inUse).toBe(1);
    expect(t.alloc(19)).toBe(0);
  });
});
