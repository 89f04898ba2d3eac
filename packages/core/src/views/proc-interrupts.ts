// /proc/interrupts: kernel/irq/proc.c (show_interrupts) for the irq rows, then
// arch/x86/kernel/irq.c (arch_show_interrupts) for the architecture's rows, Linux 6.12.
import type { IrqSystem } from "../irq-system.js";
import type { IrqDesc } from "../irqdesc.js";
import { NO_IRQ_DOMAIN } from "../irqdomain.js";
import {
  DEFERRED_ERROR_VECTOR,
  HYPERVISOR_CALLBACK_VECTOR,
  POSTED_INTR_VECTOR,
  THERMAL_APIC_VECTOR,
  THRESHOLD_APIC_VECTOR,
  X86_TRAP_MC,
} from "../vector-layout.js";

/**
 * The flow handler's name as __irq_set_handler recorded it (desc->name): "edge", "fasteoi"; empty
 * for the PIC's handle_level_irq, set by irq_set_chip_and_handler without a name.
 */
export function flowName(desc: IrqDesc): string {
  return desc.flow === "handle_fasteoi_irq" ? "fasteoi" : desc.flow === "handle_edge_irq" ? "edge" : "";
}

/** Width of the irq column: 3, one more for each power of ten up to nr_irqs (show_interrupts). */
export function irqColumnWidth(nrIrqs: number): number {
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= nrIrqs; prec++) j *= 10;
  return prec;
}

/**
 * One per-CPU row of arch_show_interrupts. `vector`: the row exists where the config that prints
 * it also installs this system vector (so the rows follow the host's `System:` vectors); none:
 * printed whenever the kernel has local APIC and SMP support.
 */
interface ArchRow {
  readonly label: string;
  readonly text: string;
  readonly vector?: number;
  readonly count?: (system: IrqSystem, cpu: number) => number;
}

/** The rows before ERR/MIS, in arch_show_interrupts' order (PLT needs a platform IPI callback: never here). */
const ROWS_BEFORE_ERR: readonly ArchRow[] = [
  { label: "NMI", text: "Non-maskable interrupts" },
  { label: "LOC", text: "Local timer interrupts" },
  // Interrupts that reached an unowned system-range vector (spurious_interrupt), as the model counts them.
  { label: "SPU", text: "Spurious interrupts", count: (s, cpu) => s.arch.spurious[cpu] ?? 0 },
  { label: "PMI", text: "Performance monitoring interrupts" },
  { label: "IWI", text: "IRQ work interrupts" },
  { label: "RTR", text: "APIC ICR read retries" },
  { label: "RES", text: "Rescheduling interrupts" },
  { label: "CAL", text: "Function call interrupts" },
  { label: "TLB", text: "TLB shootdowns" },
  { label: "TRM", text: "Thermal event interrupts", vector: THERMAL_APIC_VECTOR },
  { label: "THR", text: "Threshold APIC interrupts", vector: THRESHOLD_APIC_VECTOR },
  { label: "DFR", text: "Deferred Error APIC interrupts", vector: DEFERRED_ERROR_VECTOR },
  { label: "MCE", text: "Machine check exceptions", vector: X86_TRAP_MC },
  { label: "MCP", text: "Machine check polls", vector: X86_TRAP_MC },
  { label: "HYP", text: "Hypervisor callback interrupts", vector: HYPERVISOR_CALLBACK_VECTOR },
];

/** The rows after MIS (CONFIG_KVM's posted-interrupt vectors). */
const ROWS_AFTER_MIS: readonly ArchRow[] = [
  { label: "PIN", text: "Posted-interrupt notification event", vector: POSTED_INTR_VECTOR },
  { label: "NPI", text: "Nested posted-interrupt event", vector: POSTED_INTR_VECTOR },
  { label: "PIW", text: "Posted-interrupt wakeup event", vector: POSTED_INTR_VECTOR },
];

function archRows(system: IrqSystem, rows: readonly ArchRow[], prec: number, online: readonly number[]): string {
  let s = "";
  for (const row of rows) {
    if (row.vector !== undefined && !system.matrix.isSystemVector(row.vector)) continue;
    s += `${row.label.padStart(prec)}: `;
    // A model host takes no timer ticks, IPIs, NMIs or machine-check polls: those rows stay at 0,
    // as on a host where nothing has happened yet.
    for (const cpu of online) s += `${String(row.count ? row.count(system, cpu) : 0).padStart(10)} `;
    s += `  ${row.text}\n`;
  }
  return s;
}

/**
 * /proc/interrupts: a header of online CPUs, a row per interrupt with an action (6.12 drops rows
 * with counts but no action), then the architecture's rows. ERR is irq_err_count (local APIC error
 * interrupts, spurious 8259 interrupts), which the model never raises; IOMMU faults are in the
 * fault log, not here. MIS counts level interrupts that arrived as edge at a non-remapped IO-APIC.
 */
export function procInterrupts(system: IrqSystem): string {
  const prec = irqColumnWidth(system.irqs.nrIrqs);
  const online: number[] = [];
  for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) online.push(c);
  let out = " ".repeat(prec + 8);
  for (const c of online) out += `CPU${c}`.padEnd(11);
  out += "\n";
  for (const irq of system.irqDescs()) {
    if (irq.actions.length === 0) continue;
    const counts = irq.counts;
    let line = `${String(irq.virq).padStart(prec)}: `;
    for (const c of online) line += `${String(counts[c] ?? 0).padStart(10)} `;
    line += ` ${irq.chipName.padStart(8)}`;
    // The hwirq column is blank without a domain; "-name" only where the flow has a name.
    line += ` ${(irq.data.domain === NO_IRQ_DOMAIN ? "" : String(irq.hwirq)).padStart(prec)}`;
    const name = flowName(irq);
    if (name) line += `-${name.padEnd(8)}`;
    line += `  ${irq.actions.map((a) => a.name).join(", ")}`;
    out += `${line}\n`;
  }
  out += archRows(system, ROWS_BEFORE_ERR, prec, online);
  out += `${"ERR".padStart(prec)}: ${String(0).padStart(10)}\n`;
  out += `${"MIS".padStart(prec)}: ${String(0).padStart(10)}\n`;
  out += archRows(system, ROWS_AFTER_MIS, prec, online);
  return out;
}
