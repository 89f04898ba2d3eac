import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  FAULTED,
  IrteTable,
  SVT_NO_VERIFY,
  SVT_VERIFY_BUS,
  SVT_VERIFY_SID_SQ,
  createMsixTable,
  createSystem,
  resolveSourceId,
  sourceIdMatches,
} from "../src/index.js";
import { expectCode } from "./support/helpers.js";

const rid = (bus: number, dev: number, fn: number) => (bus << 8) | (dev << 3) | fn;

// set_msi_sid() over pci_for_each_dma_alias() (drivers/iommu/intel/irq_remapping.c,
// drivers/pci/search.c): the function itself is the first alias, then its quirk aliases (devfns on
// its own bus), then what the bridges above it make of the requester id.
describe("resolveSourceId (set_msi_sid)", () => {
  it("verifies a device without aliases by its own full requester id", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: 0x6a08, requesterId: 0x6a08 });
  });

  it("counts the device itself among its aliases: one quirk alias on its bus already means bus verification", () => {
    const sys = createSystem();
    const dev = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [rid(0x06, 0, 1)] });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_BUS, sid: 0x0606, requesterId: rid(0x06, 0, 1) });
  });

  it("verifies only the bus for NTB proxy ids (several aliases, all on the device's bus)", () => {
    const sys = createSystem();
    const aliases = [rid(0x03, 0, 1), rid(0x03, 0, 2), rid(0x03, 1, 0)];
    const dev = sys.addPciDevice({ bdf: "0000:03:00.0", dmaAliases: aliases });
    const s = resolveSourceId(dev);
    expect(s).toMatchObject({ svt: SVT_VERIFY_BUS, sid: 0x0303 });
    expect(aliases).toContain(s.requesterId);
  });

  it("refuses a quirk alias on another bus: dma_alias_mask holds devfns of the device's own bus", () => {
    const sys = createSystem();
    expectCode(() => sys.addPciDevice({ bdf: "0000:03:00.0", dmaAliases: [rid(0x09, 0, 1)] }), "EINVAL");
    expect(sys.devices()).toEqual([]);
  });

  it("behind a PCIe-to-PCI bridge verifies the bus range from the bridge's secondary bus to the device's", () => {
    const sys = createSystem();
    const bridge = sys.addPciDevice({ bdf: "0000:05:00.0", bridge: { kind: "pcie-to-pci", secondaryBus: 0x06 } });
    const dev = sys.addPciDevice({ bdf: "0000:07:02.0", parent: bridge });
    // The alias is (secondary bus 06, devfn 0), produced by the bridge on bus 05: it is on another bus than its producer.
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_BUS, sid: 0x0607, requesterId: rid(0x06, 0, 0) });
  });

  it("behind a conventional PCI bridge verifies the bridge's own id (a topology alias)", () => {
    const sys = createSystem();
    const bridge = sys.addPciDevice({ bdf: "0000:05:01.0", bridge: { kind: "pci-to-pci", secondaryBus: 0x06 } });
    const dev = sys.addPciDevice({ bdf: "0000:06:03.0", parent: bridge });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: rid(0x05, 1, 0), requesterId: rid(0x05, 1, 0) });
  });

  it("passes PCIe ports: a device below a root port keeps its own id", () => {
    const sys = createSystem();
    const port = sys.addPciDevice({ bdf: "0000:00:1c.0", bridge: { kind: "pcie-port", secondaryBus: 0x01 } });
    const dev = sys.addPciDevice({ bdf: "0000:01:00.0", parent: port });
    expect(resolveSourceId(dev)).toEqual({ svt: SVT_VERIFY_SID_SQ, sid: 0x0100, requesterId: 0x0100 });
  });

  it("resolves a non-PCI child through its parent chain to the PCI function above it", () => {
    const sys = createSystem();
    const pci = sys.addPciDevice({ bdf: "0000:06:00.0", dmaAliases: [rid(0x06, 1, 0), rid(0x06, 2, 0)] });
    const ntb = sys.addDevice({ name: "ntb0", bus: "ntb", parent: pci });
    const q = sys.addDevice({ name: "wq0.0", bus: "subdevice", parent: ntb });
    expect(resolveSourceId(q)).toEqual(resolveSourceId(pci));
  });

  it("throws ENODEV for a device with no PCI function above it", () => {
    const sys = createSystem();
    expectCode(() => resolveSourceId(sys.addDevice({ name: "plat0", bus: "platform" })), "ENODEV");
  });

  it("returns a frozen result", () => {
    const sys = createSystem();
    expect(Object.isFrozen(resolveSourceId(sys.addPciDevice({ bdf: "0000:6a:01.0" })))).toBe(true);
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
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(5, 1, 2))).toBe(true);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(2, 0, 0))).toBe(false);
    expect(sourceIdMatches(SVT_VERIFY_BUS, sid, rid(6, 0, 0))).toBe(false);
  });
});

describe("IrteTable", () => {
  it("allocates the lowest free entry, not present until programmed; blocks of 2^n aligned (multi-MSI)", () => {
    const t = new IrteTable(16);
    expect([t.alloc(1), t.alloc(1), t.alloc(1)]).toEqual([0, 1, 2]);
    expect(t.present[0]).toBe(0);
    expect(t.alloc(3)).toBe(4); // rounded up to 4, aligned to 4
    expect(t.inUse).toBe(7);
    t.free(1);
    expect(t.alloc(1)).toBe(1);
  });

  it("programs and clears an entry; VT-d entries carry no PASID", () => {
    const t = new IrteTable(4);
    const i = t.alloc(1);
    t.program(i, 0x41, 3, SVT_VERIFY_BUS, 0x0303);
    expect([t.present[i], t.vector[i], t.destination[i], t.svt[i], t.sid[i]]).toEqual([1, 0x41, 3, SVT_VERIFY_BUS, 0x0303]);
    expect("pasid" in t).toBe(false);
    t.free(i);
    expect([t.present[i], t.vector[i], t.destination[i], t.svt[i], t.sid[i]]).toEqual([0, 0, 0, 0, 0]);
    expect(t.inUse).toBe(0);
  });

  it("throws ENOSPC when full and ENOENT on freeing a free entry", () => {
    const t = new IrteTable(2);
    t.alloc(1);
    t.alloc(1);
    expectCode(() => t.alloc(1), "ENOSPC");
    t.free(0);
    expectCode(() => t.free(0), "ENOENT");
    expect(t.alloc(1)).toBe(0);
  });
});

describe("interrupt remapping on delivery", () => {
  function setup() {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const dev = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const table = createMsixTable(4, dev.requesterId);
    const domain = sys.createMsiDomain(dev, { domainId: 0, store: table, kind: "msix" });
    const m = domain.allocAt(0);
    let runs = 0;
    sys.requestIrq(m.virq, "x", () => runs++);
    return { sys, dev, table, m, runs: () => runs };
  }

  it("refuses a write with a wrong source id (0x26), and checks no PASID: the PASID prefix of a write does not matter", () => {
    const { sys, table, dev, runs } = setup();
    expect(sys.msiWrite(table.addressLo(0), 0, table.data(0), dev.requesterId ^ 0x100)).toBe(FAULTED);
    expect(sys.faults.entries().at(-1)).toMatchObject({ reason: "source-id-mismatch", code: 0x26 });
    expect(sys.msiWrite(table.addressLo(0), 0, table.data(0), dev.requesterId, 0x42)).toBe(DELIVERED);
    expect(runs()).toBe(1);
  });

  it("blocks the compatibility format (0x25), an entry that is not present (0x22), and an index beyond the table (0x21)", () => {
    const { sys, table, dev } = setup();
    expect(sys.msiWrite(0xfee01000, 0, 0x41, dev.requesterId)).toBe(FAULTED);
    expect(sys.msiWrite(table.addressLo(0) + (200 << 5), 0, 0, dev.requesterId)).toBe(FAULTED);
    expect(sys.msiWrite(0xfee00018 | (0x7fff << 5) | 4, 0, 0xffff, dev.requesterId)).toBe(FAULTED);
    expect(sys.faults.entries().slice(-3).map((f) => f.code)).toEqual([0x25, 0x22, 0x21]);
  });

  it("a freed interrupt's IRTE is cleared: its old message faults as not present", () => {
    const { sys, table, dev, m } = setup();
    const lo = table.addressLo(0);
    sys.freeIrq(m.virq, "x");
    expect(sys.msiWrite(lo, 0, 0, dev.requesterId)).toBe(FAULTED);
    expect(sys.faults.entries().at(-1)!.reason).toBe("not-present");
  });
});
