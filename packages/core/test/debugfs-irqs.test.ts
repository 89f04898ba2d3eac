import { describe, expect, it } from "vitest";
import { DEBUGFS_IRQS, SysfsView, createSystem, debugfsIrq, debugfsIrqFiles, type IrqSystem } from "../src/index.js";
import { addMsixDevice } from "./support/helpers.js";

/** A 2-CPU remapped host with an nvme-like function whose vector 1 (CPU0 only) was requested and fired. */
function nvmeHost(): { sys: IrqSystem; virq: number; reserved: number } {
  const sys = createSystem({ cpus: 2, interruptRemapping: true });
  const filler = addMsixDevice(sys, "0000:00:10.0", 16);
  const nvme = addMsixDevice(sys, "0000:01:00.0", 4);
  const virq = nvme.domain.allocAt(1, { affinity: 0b01 }).virq;
  sys.requestIrq(virq, "nvme0q1", () => {});
  for (let i = 0; i < 64; i++) sys.raise(nvme.store, 1);
  return { sys, virq, reserved: filler.domain.allocAt(3).virq };
}

/** The VECTOR level's lines for `vector` on `cpu` at indentation `ind` (x86_vector_debug_show). */
function vectorLines(ind: number, v: { vector: number; cpu: number; prev?: [number, number]; move?: 0 | 1; managed?: 0 | 1; canReserve?: 0 | 1; hasReserved?: 0 | 1; cleanup?: 0 | 1 }): string[] {
  const p = " ".repeat(ind);
  return [
    `${p}Vector: ${String(v.vector).padStart(5)}`,
    `${p}Target: ${String(v.cpu).padStart(5)}`,
    ...(v.prev ? [`${p}Previous vector: ${String(v.prev[0]).padStart(5)}`, `${p}Previous target: ${String(v.prev[1]).padStart(5)}`] : []),
    `${p}move_in_progress: ${v.move ?? 0}`,
    `${p}is_managed:       ${v.managed ?? 0}`,
    `${p}can_reserve:      ${v.canReserve ?? 0}`,
    `${p}has_reserved:     ${v.hasReserved ?? 0}`,
    `${p}cleanup_pending:  ${v.cleanup ?? 0}`,
  ];
}

describe("/sys/kernel/debug/irq/irqs/<N>", () => {
  it("prints a requested remapped MSI-X vector as 6.12 does: descriptor words with their names, masks, then one level per domain", () => {
    const { sys, virq } = nvmeHost();
    // Every value follows from the model's state: IRTE 15 (the 15 legacy IO-APIC lines hold 0-14),
    // vector 35 on CPU0 (32-34 went to the boot interrupts and dmar0 there), reservation mode kept
    // IRQD_CAN_RESERVE, the affinity given at allocation set IRQD_AFFINITY_SET and node 0.
    expect(debugfsIrq(sys, sys.irqDesc(virq)!)).toBe(
      [
        "handler:  handle_edge_irq",
        "device:   0000:01:00.0",
        "status:   0x00004000",
        "istate:   0x00004000",
        "ddepth:   0",
        "wdepth:   0",
        "dstate:   0x1d409200",
        "            IRQD_ACTIVATED",
        "            IRQD_IRQ_STARTED",
        "            IRQD_SINGLE_TARGET",
        "            IRQD_MOVE_PCNTXT",
        "            IRQD_AFFINITY_SET",
        "            IRQD_AFFINITY_ON_ACTIVATE",
        "            IRQD_CAN_RESERVE",
        "            IRQD_HANDLE_ENFORCE_IRQCTX",
        "node:     0",
        "affinity: 0",
        "effectiv: 0",
        "pending:  ",
        "domain:  IR-PCI-MSIX-0000:01:00.0-12",
        " hwirq:   0x1",
        " chip:    IR-PCI-MSIX-0000:01:00.0",
        "  flags:   0x430",
        "             IRQCHIP_SKIP_SET_WAKE",
        "             IRQCHIP_ONESHOT_SAFE",
        " parent:",
        "    domain:  INTEL-IR-0-13",
        "     hwirq:   0xf0000",
        "     chip:    INTEL-IR",
        "      flags:   0x0",
        "     parent:",
        "        domain:  VECTOR",
        `         hwirq:   0x${virq.toString(16)}`,
        "         chip:    APIC",
        "          flags:   0x0",
        ...vectorLines(9, { vector: 35, cpu: 0, canReserve: 1 }),
        "",
      ].join("\n"),
    );
  });

  it("shows an allocated, never requested vector as reserved: no vector yet (0), a global reservation, disabled and masked", () => {
    const { sys, reserved } = nvmeHost();
    const text = debugfsIrq(sys, sys.irqDesc(reserved)!);
    expect(text).toContain("ddepth:   1\n");
    expect(text).toContain(["dstate:   0x1d038000", "            IRQD_IRQ_DISABLED", "            IRQD_IRQ_MASKED", "            IRQD_SINGLE_TARGET"].join("\n"));
    // No affinity was given: NUMA_NO_NODE, as dev_to_node() of a q35 PCI device.
    expect(text).toContain("node:     -1\naffinity: 0-1\n");
    expect(text).toContain(`${vectorLines(9, { vector: 0, cpu: 0, canReserve: 1, hasReserved: 1 }).join("\n")}\n`);
  });

  it("names the legacy interrupts' state: the level-triggered ACPI line (fasteoi, IRQ_LEVEL, IRQS_ONESHOT) and the timer on its ISA vector", () => {
    const { sys } = nvmeHost();
    const acpi = debugfsIrq(sys, sys.irqDesc(9)!);
    expect(acpi.startsWith("handler:  handle_fasteoi_irq\ndevice:   (null)\nstatus:   0x00004100\nistate:   0x00004020\n            IRQS_ONESHOT\n")).toBe(true);
    expect(acpi).toContain("            IRQD_LEVEL\n            IRQD_ACTIVATED\n");
    expect(acpi).toContain("domain:  IO-APIC-0\n hwirq:   0x9\n chip:    IR-IO-APIC\n  flags:   0x410\n             IRQCHIP_SKIP_SET_WAKE\n parent:\n");
    const timer = debugfsIrq(sys, sys.irqDesc(0)!);
    // IRQF_NOBALANCING: IRQ_NO_BALANCING (not in the name table) and IRQD_NO_BALANCING.
    expect(timer).toContain("status:   0x00006000\n");
    expect(timer).toContain("            IRQD_NO_BALANCING\n");
    expect(timer).toContain(`${vectorLines(9, { vector: 48, cpu: 0 }).join("\n")}\n`);
    expect(timer).not.toContain("IRQD_CAN_RESERVE");
  });

  it("during an affinity move without remapping: IRQD_SETAFFINITY_PENDING and pending, then Previous vector/target with move_in_progress, then cleanup_pending, then nothing", () => {
    const sys = createSystem({ cpus: 4 });
    const { store, domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.requestIrq(virq, "q", () => {});
    const desc = sys.irqDesc(virq)!;
    const from = desc.effectiveCpu;
    const vector = desc.vector;
    const to = (from + 2) % 4;
    const vectorPart = () => {
      const text = debugfsIrq(sys, desc);
      return text.slice(text.lastIndexOf("\n", text.indexOf("Vector:")) + 1);
    };
    sys.setAffinity(virq, [to]);
    let text = debugfsIrq(sys, desc);
    expect(text).toContain(`            IRQD_SETAFFINITY_PENDING\n`);
    expect(text).toContain(`affinity: 0-3\neffectiv: ${from}\npending:  ${to}\n`);
    expect(new SysfsView(sys).read(`/proc/irq/${virq}/smp_affinity_list`)).toBe(`${to}\n`);
    // The next interrupt arrives on the old vector and moves it (irq_move_irq at the ack).
    sys.raise(store, 0);
    const moved = desc.vector;
    text = debugfsIrq(sys, desc);
    expect(text).not.toContain("IRQD_SETAFFINITY_PENDING");
    expect(text).toContain(`affinity: ${to}\neffectiv: ${to}\npending:  \n`);
    expect(vectorPart()).toBe(`${vectorLines(5, { vector: moved, cpu: to, prev: [vector, from], move: 1, canReserve: 1 }).join("\n")}\n`);
    // The first interrupt on the new vector completes the move: the old one waits for the cleanup timer.
    sys.raise(store, 0);
    expect(vectorPart()).toBe(`${vectorLines(5, { vector: moved, cpu: to, prev: [vector, from], cleanup: 1, canReserve: 1 }).join("\n")}\n`);
    sys.tick();
    expect(vectorPart()).toBe(`${vectorLines(5, { vector: moved, cpu: to, canReserve: 1 }).join("\n")}\n`);
  });

  it("with remapping a move is immediate and its old vector goes to the cleanup list at once (intel_ir_set_affinity)", () => {
    const sys = createSystem({ cpus: 4, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(0);
    sys.requestIrq(virq, "q", () => {});
    const desc = sys.irqDesc(virq)!;
    const [from, vector] = [desc.effectiveCpu, desc.vector];
    const to = (from + 1) % 4;
    sys.setAffinity(virq, [to]);
    const text = debugfsIrq(sys, desc);
    const tail = text.slice(text.lastIndexOf("\n", text.indexOf("Vector:")) + 1);
    expect(tail).toBe(`${vectorLines(9, { vector: desc.vector, cpu: to, prev: [vector, from], cleanup: 1, canReserve: 1 }).join("\n")}\n`);
    expect(debugfsIrq(sys, desc)).toContain(`affinity: ${to}\neffectiv: ${to}\npending:  \n`);
  });

  it("shows managed vectors (is_managed, IRQD_AFFINITY_MANAGED) spread over 40 CPUs, and a shut-down one", () => {
    const sys = createSystem({ cpus: 40, interruptRemapping: true });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 8);
    const maps = domain.allocRange(0, 3, { managed: true });
    sys.requestIrq(maps[1]!.virq, "q1", () => {});
    const q1 = debugfsIrq(sys, sys.irqDesc(maps[1]!.virq)!);
    expect(q1).toContain("            IRQD_AFFINITY_MANAGED\n");
    expect(q1).toContain("affinity: 10-19\n");
    expect(q1).toMatch(/is_managed: {7}1\n/);
    const q3 = debugfsIrq(sys, sys.irqDesc(maps[3]!.virq)!);
    expect(q3).toContain("affinity: 30-39\n");
    expect(q3).toContain("            IRQD_MANAGED_SHUTDOWN\n");
    expect(q3).toContain("Vector:     0\n");
  });

  it("prints the PIC cascade line with an empty domain and the XT-PIC chip, and no vector level", () => {
    const sys = createSystem({ cpus: 2 });
    expect(debugfsIrq(sys, sys.irqDesc(2)!)).toBe(
      [
        "handler:  handle_level_irq",
        "device:   (null)",
        "status:   0x00000100",
        "istate:   0x00004000",
        "ddepth:   1",
        "wdepth:   0",
        "dstate:   0x00032000",
        "            IRQD_LEVEL",
        "            IRQD_IRQ_DISABLED",
        "            IRQD_IRQ_MASKED",
        "node:     0",
        "affinity: 0-1",
        "effectiv: ",
        "pending:  ",
        "domain:  ",
        " hwirq:   0x0",
        " chip:    XT-PIC",
        "  flags:   0x0",
        "",
      ].join("\n"),
    );
  });

  it("has a file per allocated descriptor, legacy ones included, at any CPU count", () => {
    const sys = createSystem({ cpus: 256 });
    const { domain } = addMsixDevice(sys, "0000:01:00.0", 4);
    const { virq } = domain.allocAt(2);
    const files = debugfsIrqFiles(sys);
    expect([...files.keys()]).toEqual([...sys.irqDescs()].map((d) => `${DEBUGFS_IRQS}/${d.virq}`));
    expect(files.get(`${DEBUGFS_IRQS}/${virq}`)).toContain("affinity: 0-255\neffectiv: 0\npending:  \n");
  });
});
