import { describe, expect, it } from "vitest";
import { composeCompat, createSystem, irqColumnWidth, procInterrupts } from "../src/index.js";
import { addMsixDevice } from "./support/helpers.js";
import { kernelExample } from "./support/kernel-example.js";

/** The legacy IO-APIC rows a q35 host prints before its devices (2 CPUs, no counts in the model). */
function legacyRows(ir: boolean): string[] {
  const chip = (ir ? "IR-IO-APIC" : "IO-APIC").padStart(8);
  return [
    `  0:          0          0  ${chip}   2-edge      timer`,
    `  1:          0          0  ${chip}   1-edge      i8042`,
    `  4:          0          0  ${chip}   4-edge      ttyS0`,
    `  8:          0          0  ${chip}   8-edge      rtc0`,
    `  9:          0          0  ${chip}   9-fasteoi   acpi`,
    ` 12:          0          0  ${chip}  12-edge      i8042`,
  ];
}

/**
 * arch_show_interrupts (arch/x86/kernel/irq.c, 6.12) for the host's system vectors on 2 CPUs:
 * `%*s: ` then `%10u ` per online CPU then two spaces and the text; ERR and MIS one number.
 */
const ARCH_ROWS_2CPU = [
  "NMI:          0          0   Non-maskable interrupts",
  "LOC:          0          0   Local timer interrupts",
  "SPU:          0          0   Spurious interrupts",
  "PMI:          0          0   Performance monitoring interrupts",
  "IWI:          0          0   IRQ work interrupts",
  "RTR:          0          0   APIC ICR read retries",
  "RES:          0          0   Rescheduling interrupts",
  "CAL:          0          0   Function call interrupts",
  "TLB:          0          0   TLB shootdowns",
  "TRM:          0          0   Thermal event interrupts",
  "THR:          0          0   Threshold APIC interrupts",
  "DFR:          0          0   Deferred Error APIC interrupts",
  "MCE:          0          0   Machine check exceptions",
  "MCP:          0          0   Machine check polls",
  "ERR:          0",
  "MIS:          0",
];

describe("/proc/interrupts", () => {
  it("prints the header, the host's legacy rows, the device rows and the architecture's rows exactly as a 6.12 kernel without remapping", () => {
    expect(procInterrupts(kernelExample(false))).toBe(
      [
        "           CPU0       CPU1       ",
        ...legacyRows(false),
        " 24:          0          0  PCI-MSIX-0000:00:04.0   0-edge      PCIe PME, aerdrv",
        " 25:          0          0  PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv",
        " 27:         64          0  PCI-MSIX-0000:01:00.0   1-edge      nvme0q1",
        ...ARCH_ROWS_2CPU,
        "",
      ].join("\n"),
    );
  });

  it("prefixes chip names with IR- under interrupt remapping, and shows the IOMMU's own interrupt (DMAR-MSI)", () => {
    const lines = procInterrupts(kernelExample(true)).split("\n");
    expect(lines.slice(1, 7)).toEqual(legacyRows(true));
    expect(lines[7]).toBe(" 24:          0          0  DMAR-MSI   0-edge      dmar0");
    expect(lines).toContain(" 28:         64          0  IR-PCI-MSIX-0000:01:00.0   1-edge      nvme0q1");
    expect(lines).toContain(" 26:          0          0  IR-PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv");
  });

  it("has a CPU<n> column of width 11 per online CPU only, in the header and every per-CPU row", () => {
    const sys = createSystem({ cpus: 4 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0, { affinity: 0b100 });
    sys.requestIrq(virq, "q", () => {});
    sys.raise(store, 0);
    sys.setCpuOnline(1, false);
    const lines = procInterrupts(sys).split("\n");
    expect(lines[0]).toBe("           CPU0       CPU2       CPU3       ");
    expect(lines).toContain(" 24:          0          1          0  PCI-MSIX-0000:01:00.0   0-edge      q");
    expect(lines).toContain("NMI:          0          0          0   Non-maskable interrupts");
  });

  it("has no row for an interrupt without an action: never requested, or freed after it counted (6.12 drops those)", () => {
    const sys = createSystem({ cpus: 1 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const [a, b, c] = domain.allocRange(0, 2);
    sys.requestIrq(a!.virq, "q", () => {});
    sys.requestIrq(c!.virq, "gone", () => {});
    sys.raise(store, 2);
    expect(sys.irqDesc(c!.virq)!.total).toBe(1);
    sys.freeIrq(c!.virq, "gone");
    const text = procInterrupts(sys);
    expect(text).toMatch(new RegExp(`^ ${a!.virq}:          0  PCI-MSIX-0000:01:00\\.0   0-edge      q$`, "m"));
    expect(text).not.toMatch(new RegExp(`^ *${b!.virq}:`, "m"));
    expect(text).not.toMatch(new RegExp(`^ *${c!.virq}:`, "m"));
  });

  it("sizes the irq column from nr_irqs (3 below 1000, then one more per power of ten), not from the highest irq", () => {
    expect([irqColumnWidth(440), irqColumnWidth(999), irqColumnWidth(1000), irqColumnWidth(2472), irqColumnWidth(10000)]).toEqual([3, 3, 4, 4, 5]);
    // 256 CPUs: arch_probe_nr_irqs gives 24 + 16 + 8 * 256 + 16 * 24 = 2472 irqs, so width 4.
    const sys = createSystem({ cpus: 256 });
    expect(sys.irqs.nrIrqs).toBe(2472);
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 2);
    sys.requestIrq(domain.allocAt(0).virq, "q", () => {});
    const lines = procInterrupts(sys).split("\n");
    expect(lines[0]).toBe(`${" ".repeat(12)}${Array.from({ length: 256 }, (_, c) => `CPU${c}`.padEnd(11)).join("")}`);
    expect(lines[1]!.startsWith("   0:          0")).toBe(true);
    expect(lines.find((l) => l.startsWith("  24:"))).toBe(`  24:${"          0".repeat(256)}  PCI-MSIX-0000:01:00.0    0-edge      q`);
    expect(lines.at(-3)).toBe(" ERR:          0");
  });

  it("counts SPU per CPU from interrupts on unowned system-range vectors; ERR counts no IOMMU fault (those are in the fault log)", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const shutdown = composeCompat(1, 0xef);
    sys.msiWrite(shutdown.addressLo, 0, shutdown.data, 0x100);
    expect(sys.faults.total).toBe(1); // a compatibility-format write under remapping: VT-d fault 0x25
    sys.deliverVector(1, 0xef);
    const text = procInterrupts(sys);
    expect(text).toContain("SPU:          0          1   Spurious interrupts\n");
    expect(text).toContain("ERR:          0\n");
  });

  it("prints the architecture rows the host's system vectors call for: no KVM posted-interrupt or hypervisor rows", () => {
    const text = procInterrupts(createSystem({ cpus: 1 }));
    const labels = text.split("\n").slice(7, -1).map((l) => l.slice(0, 3));
    expect(labels).toEqual(["NMI", "LOC", "SPU", "PMI", "IWI", "RTR", "RES", "CAL", "TLB", "TRM", "THR", "DFR", "MCE", "MCP", "ERR", "MIS"]);
  });
});
