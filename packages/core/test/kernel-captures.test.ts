import { describe, expect, it } from "vitest";
import { DEBUGFS_DOMAINS, SysfsView, createSystem, debugfsDomainFiles, debugfsIrq, domainHierarchy, procInterrupts } from "../src/index.js";
import { addMsixDevice, expectCode } from "./support/helpers.js";
import { kernelExample } from "./support/kernel-example.js";

// Lines real Debian 6.12 kernels printed under QEMU q35 (2 and 4 CPUs, remapping on and off), as
// collected in ../shared/research/kernel-formats.md, copied verbatim. Each test rebuilds the
// situation in the model and compares bytes; where the model's world (v6.9) makes a number differ
// from 6.12's, the test says which and compares the rest of the line.

const PROC_HEADER_2CPU = "           CPU0       CPU1       ";
const PROC_LINES_NO_IR = [
  " 24:          0          0  PCI-MSIX-0000:00:04.0   0-edge      PCIe PME, aerdrv",
  " 27:         64          0  PCI-MSIX-0000:01:00.0   1-edge      nvme0q1",
  " 25:          0          0  PCI-MSI-0000:00:05.0   0-edge      PCIe PME, aerdrv",
];

/** The domain file of an nvme's MSI-X domain without remapping, 6.12 (VECTOR's mapped count is the capture host's). */
const DOMAIN_FILE = [
  "name:   PCI-MSIX-0000:01:00.0-12",
  " size:   0",
  " mapped: 3",
  " flags:  0x00000213",
  "            IRQ_DOMAIN_FLAG_HIERARCHY",
  "            IRQ_DOMAIN_NAME_ALLOCATED",
  "            IRQ_DOMAIN_FLAG_MSI",
  "            IRQ_DOMAIN_FLAG_MSI_DEVICE",
  " parent: VECTOR",
  "    name:   VECTOR",
  "     size:   0",
  "     mapped: 38",
  "     flags:  0x00000103",
  "                IRQ_DOMAIN_FLAG_HIERARCHY",
  "                IRQ_DOMAIN_NAME_ALLOCATED",
  "                IRQ_DOMAIN_FLAG_MSI_PARENT",
];

/** The VECTOR level one step down (6.12, 4 CPUs, remapping on), verbatim. */
const VECTOR_BLOCK = [
  "     flags:  0x00000103",
  "                IRQ_DOMAIN_FLAG_HIERARCHY",
  "                IRQ_DOMAIN_NAME_ALLOCATED",
  "                IRQ_DOMAIN_FLAG_MSI_PARENT",
  "Online bitmaps:        4",
  "Global available:    772",
  "Global reserved:      18",
  "Total allocated:      30",
  "System: 35: 0-19,21,50,128,236,244,246-255",
  "     | CPU | avl | man | mac | act | vectors",
  "         0   193     3     2    7  32-34,36-38,48",
  "         1   193     3     3    8  32-39",
];

/** A line's frame: its text without the numbers, and the columns where each number ends (right-aligned fields). */
function frame(line: string, upTo: number): { text: string; ends: number[] } {
  const head = line.slice(0, upTo);
  const ends: number[] = [];
  for (const m of head.matchAll(/\d+/g)) ends.push(m.index + m[0].length);
  return { text: head.replace(/\d+/g, "").replace(/ +/g, " "), ends };
}

describe("byte for byte against real kernel captures", () => {
  it("/proc/interrupts: the header and the device rows of the same situation", () => {
    const lines = procInterrupts(kernelExample(false)).split("\n");
    expect(lines[0]).toBe(PROC_HEADER_2CPU);
    for (const l of PROC_LINES_NO_IR) expect(lines).toContain(l);
    const ir = procInterrupts(kernelExample(true));
    expect(ir).toMatch(/ {2}DMAR-MSI {3}0-edge {6}dmar0\n/);
    expect(ir).toMatch(/ IR-PCI-MSIX-0000:01:00\.0 {3}1-edge {6}nvme0q1\n/);
    expect(ir).toMatch(/ IR-PCI-MSI-0000:00:05\.0 {3}0-edge {6}PCIe PME, aerdrv\n/);
  });

  it("/sys/kernel/irq/<virq> and /proc/irq/<virq> of the nvme vector", () => {
    const sys = kernelExample(true);
    const view = new SysfsView(sys);
    const files = Object.fromEntries(["chip_name", "hwirq", "name", "type", "actions", "wakeup", "per_cpu_count"].map((f) => [f, view.read(`/sys/kernel/irq/28/${f}`)]));
    expect(files).toEqual({ chip_name: "IR-PCI-MSIX-0000:01:00.0\n", hwirq: "1\n", name: "edge\n", type: "edge\n", actions: "nvme0q1\n", wakeup: "disabled\n", per_cpu_count: "64,0\n" });
    expect(view.read("/proc/irq/25/smp_affinity")).toBe("3\n");
    expect(view.read("/proc/irq/25/smp_affinity_list")).toBe("0-1\n");
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/msi_irqs/28")).toBe("msix\n");
    expect(view.read("/sys/bus/pci/devices/0000:01:00.0/irq")).toBe("0\n");
  });

  it("a per-device domain file down to VECTOR's flags (VECTOR's mapped count is the capture host's: 38 interrupts there)", () => {
    const sys = createSystem({ cpus: 2 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    domain.allocRange(0, 2);
    const lines = domainHierarchy(sys, domain).split("\n");
    expect(lines.slice(0, 11)).toEqual(DOMAIN_FILE.slice(0, 11));
    expect(lines[11]).toBe(`     mapped: ${sys.vector.domain.mapped}`);
    expect(lines.slice(12, 16)).toEqual(DOMAIN_FILE.slice(12));
  });

  it("the vector matrix one level down: flags, System and the table header exactly; the counts in the same columns (6.9's first system vector is 0xec, 6.12's 0xeb)", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    // DMAR-MSI sits right on VECTOR, also under remapping: VECTOR one level down, as in the capture.
    const text = debugfsDomainFiles(sys).get(`${DEBUGFS_DOMAINS}/DMAR-MSI`)!;
    const lines = text.split("\n");
    const at = lines.indexOf(VECTOR_BLOCK[0]!);
    expect(at).toBeGreaterThan(0);
    const got = lines.slice(at, at + VECTOR_BLOCK.length);
    for (const i of [0, 1, 2, 3, 8, 9]) expect(got[i]).toBe(VECTOR_BLOCK[i]);
    expect(got[4]).toBe(VECTOR_BLOCK[4]); // 4 online bitmaps
    // The four summary values end in column 24 (%6u); the per-CPU columns end where the capture's do.
    for (const i of [5, 6, 7]) expect(frame(got[i]!, 24)).toEqual(frame(VECTOR_BLOCK[i]!, 24));
    for (const i of [10, 11]) expect(frame(got[i]!, 35)).toEqual(frame(VECTOR_BLOCK[i]!, 35));
  });

  it("debugfs irqs: hwirq at each level (the MSI-X index, IRTE index << 16, the virq) and the vector level's fields", () => {
    const sys = createSystem({ cpus: 2, interruptRemapping: true });
    const filler = addMsixDevice(sys, "0000:00:10.0", 16);
    filler.domain.allocRange(0, 5); // IRTEs 15-20 after the 15 legacy IO-APIC lines: the nvme vector gets IRTE 0x15
    const nvme = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = nvme.domain.allocAt(1, { managed: true, affinity: [1] });
    sys.requestIrq(virq, "nvme0q1", () => {});
    const text = debugfsIrq(sys, sys.irqDesc(virq)!);
    expect(text).toContain("domain:  IR-PCI-MSIX-0000:01:00.0-12\n hwirq:   0x1\n chip:    IR-PCI-MSIX-0000:01:00.0\n");
    expect(text).toContain("    domain:  INTEL-IR-0-13\n     hwirq:   0x150000\n     chip:    INTEL-IR\n");
    expect(text).toContain(`        domain:  VECTOR\n         hwirq:   0x${virq.toString(16)}\n         chip:    APIC\n`);
    expect(text).toMatch(/ {9}Target: {5}1\n {9}move_in_progress: 0\n {9}is_managed: {7}1\n/);
    expect(text).toContain("            IRQD_AFFINITY_MANAGED\n");
    // Writing a managed vector's affinity fails: "Operation not permitted" on 6.12.
    expectCode(() => sys.setAffinity(virq, [0]), "EPERM");
  });
});
