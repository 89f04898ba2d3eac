import { describe, expect, it } from "vitest";
import { DEBUGFS_DOMAINS, Entry16Store, createSystem, debugfsDomainFiles, domainHierarchy, formatRangeList, matrixDebugShow } from "../src/index.js";
import { addMsixDevice } from "./support/helpers.js";

describe("/sys/kernel/debug/irq/domains", () => {
  it("keeps the matrix summary at column 0 at every depth and indents only the per-CPU table, with the kernel's column widths", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    sys.requestIrq(domain.allocAt(0).virq, "q", () => {});
    const m = sys.matrix;
    const block = (ind: number) =>
      [
        `Online bitmaps:   ${String(m.onlineMaps).padStart(6)}`,
        `Global available: ${String(m.globalAvailable).padStart(6)}`,
        `Global reserved:  ${String(m.globalReserved).padStart(6)}`,
        `Total allocated:  ${String(m.totalAllocated).padStart(6)}`,
        "System: 35: 0-19,21,50,128,236,244,246-255",
        `${" ".repeat(ind)}| CPU | avl | man | mac | act | vectors`,
        ...[0, 1].map((c) => {
          const k = m.counts(c);
          const vectors = m.allocatedVectors(c);
          return `${" ".repeat(ind)} ${String(c).padStart(4)}  ${String(k.available).padStart(4)}  ${String(k.managed).padStart(4)}  ${String(k.managedAllocated).padStart(4)} ${String(k.allocated).padStart(4)}  ${formatRangeList(vectors)}`;
        }),
        "",
      ].join("\n");
    // VECTOR is at depth 0 in its own file, 2 under the device's domain (device → INTEL-IR → VECTOR).
    expect(matrixDebugShow(m, 1)).toBe(block(1));
    expect(domainHierarchy(sys, sys.vector.domain).endsWith(block(1))).toBe(true);
    expect(domainHierarchy(sys, domain).endsWith(block(9))).toBe(true);
    expect(domainHierarchy(sys, domain)).toContain(" parent: INTEL-IR-0-13\n    name:   INTEL-IR-0-13\n     size:   65536\n");
  });

  it("has one file per domain of the host, VECTOR and default (the same domain) first, then INTEL-IR, IO-APIC, DMAR-MSI, HPET-MSI and the devices' domains", () => {
    const sys = createSystem({ cpus: 1, interruptRemapping: true });
    const { dev } = addMsixDevice(sys, "0000:6a:01.0", 2);
    sys.createMsiDomain(dev, { domainId: 1, store: new Entry16Store({ chipName: "PCI-IDXD", size: 8, requesterId: dev.requesterId, pasid: true }), kind: "ims" });
    const msiDev = sys.addPciDevice({ bdf: "0000:00:05.0" });
    sys.createMsiDomain(msiDev, { domainId: 0, store: new Entry16Store({ chipName: "PCI-MSI", size: 1, requesterId: msiDev.requesterId, pasid: false }), kind: "msi" });
    const files = debugfsDomainFiles(sys);
    // Bus tokens of v6.9: 11 PCI device MSI, 12 PCI device MSI-X, 13 DMAR, 15 PCI device IMS.
    expect([...files.keys()]).toEqual(
      ["VECTOR", "default", "INTEL-IR-0-13", "IO-APIC-0", "DMAR-MSI", "HPET-MSI-0", "IR-PCI-MSIX-0000:6a:01.0-12", "IR-PCI-IDXD-0000:6a:01.0-15", "IR-PCI-MSI-0000:00:05.0-11"].map(
        (n) => `${DEBUGFS_DOMAINS}/${n}`,
      ),
    );
    expect(files.get(`${DEBUGFS_DOMAINS}/default`)).toBe(files.get(`${DEBUGFS_DOMAINS}/VECTOR`));
    expect(files.get(`${DEBUGFS_DOMAINS}/IO-APIC-0`)!.startsWith("name:   IO-APIC-0\n size:   24\n mapped: 15\n flags:  0x00000003\n")).toBe(true);
    expect(files.get(`${DEBUGFS_DOMAINS}/DMAR-MSI`)).toContain(" flags:  0x00000013\n            IRQ_DOMAIN_FLAG_HIERARCHY\n            IRQ_DOMAIN_NAME_ALLOCATED\n            IRQ_DOMAIN_FLAG_MSI\n parent: VECTOR\n");
    expect(files.get(`${DEBUGFS_DOMAINS}/HPET-MSI-0`)).toContain(" parent: INTEL-IR-0-13\n");
    // VECTOR stays an MSI parent with remapping too.
    expect(files.get(`${DEBUGFS_DOMAINS}/VECTOR`)).toContain(" flags:  0x00000103\n            IRQ_DOMAIN_FLAG_HIERARCHY\n            IRQ_DOMAIN_NAME_ALLOCATED\n            IRQ_DOMAIN_FLAG_MSI_PARENT\n");
  });

  it("truncates a device domain's chip name to 47 characters, as the 48-byte template name does; the bus token follows", () => {
    const sys = createSystem({ cpus: 1, interruptRemapping: true });
    const fn = sys.addPciDevice({ bdf: "0000:6a:01.0" });
    const child = sys.addDevice({ name: "a-very-long-child-device-name-for-the-queue", bus: "subdevice", parent: fn });
    const d = sys.createMsiDomain(child, { domainId: 0, store: new Entry16Store({ chipName: "PCI-IDXD", size: 4, requesterId: fn.requesterId, pasid: true }), kind: "ims" });
    expect(d.chipName).toBe("IR-PCI-IDXD-a-very-long-child-device-name-for-t");
    expect(d.chipName).toHaveLength(47);
    expect(d.name).toBe(`${d.chipName}-15`);
  });

  it("lists System: from the vectors actually assigned as system vectors, and reservations of allocated, unrequested vectors", () => {
    const sys = createSystem({ cpus: 256 });
    const before = sys.matrix.globalReserved;
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    domain.allocRange(0, 3);
    const text = domainHierarchy(sys, sys.vector.domain);
    expect(text).toContain(`Global reserved:  ${String(before + 4).padStart(6)}\n`);
    expect(text).toContain(`System: ${sys.matrix.systemVectors().length}: 0-19,21,50,128,236,244,246-255\n`);
    expect(text.split("\n").filter((l) => /^ {2,}\d+ {2,}\d+/.test(l))).toHaveLength(256);
  });
});
