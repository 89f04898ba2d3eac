// arch/x86/kernel/apic/vector.c (x86_vector_debug_show) and kernel/irq/matrix.c
// (irq_matrix_debug_show): what the VECTOR domain adds to debugfs, for the domain (the matrix) and
// for one interrupt (its apic_chip_data). Formats from Linux 6.12, the same in v6.9.
import { formatRangeList } from "../cpumask.js";
import type { IrqData } from "../irqdomain.js";
import type { IrqMatrix } from "../matrix.js";
import { ApicData, ISA_IRQ_VECTOR } from "../vector-layout.js";

/** `%*s` with an empty string: `width` spaces (none for 0). */
const pad = (width: number): string => " ".repeat(Math.max(0, width));
/** `%*s` with the string " ": at least that one space. */
const padSpace = (width: number): string => " ".repeat(Math.max(1, width));

/**
 * irq_matrix_debug_show: the summary lines always at column 0 (the kernel prints them without
 * the indentation), the per-CPU table indented by `ind`, one row per online CPU.
 */
export function matrixDebugShow(m: IrqMatrix, ind: number): string {
  const sys = m.systemVectors();
  let s = `Online bitmaps:   ${String(m.onlineMaps).padStart(6)}\n`;
  s += `Global available: ${String(m.globalAvailable).padStart(6)}\n`;
  s += `Global reserved:  ${String(m.globalReserved).padStart(6)}\n`;
  s += `Total allocated:  ${String(m.totalAllocated).padStart(6)}\n`;
  s += `System: ${sys.length}: ${formatRangeList(sys)}\n`;
  s += `${padSpace(ind)}| CPU | avl | man | mac | act | vectors\n`;
  for (let cpu = 0; cpu < m.nrCpus; cpu++) {
    const k = m.counts(cpu);
    if (!k.online) continue;
    const cols = `${String(cpu).padStart(4)}  ${String(k.available).padStart(4)}  ${String(k.managed).padStart(4)}  ${String(k.managedAllocated).padStart(4)} ${String(k.allocated).padStart(4)}`;
    s += `${padSpace(ind)} ${cols}  ${formatRangeList(m.allocatedVectors(cpu))}\n`;
  }
  return s;
}

/**
 * x86_vector_debug_show for one interrupt: its apic_chip_data (vector and target CPU, a move's
 * previous ones while it lasts, the reservation state). A legacy PIC interrupt prints its ISA
 * vector on all CPUs; one without chip data "Not assigned".
 */
export function vectorIrqDebugShow(data: IrqData, ind: number, legacyPic: boolean): string {
  const p = pad(ind);
  if (legacyPic) return `${p}Vector: ${String(ISA_IRQ_VECTOR(data.virq)).padStart(5)}\n${p}Target: Legacy PIC all CPUs\n`;
  const a = data.chipData;
  if (!(a instanceof ApicData)) return `${p}Vector: Not assigned\n`;
  let s = `${p}Vector: ${String(a.vector).padStart(5)}\n`;
  s += `${p}Target: ${String(a.cpu).padStart(5)}\n`;
  if (a.prevVector !== 0) {
    s += `${p}Previous vector: ${String(a.prevVector).padStart(5)}\n`;
    s += `${p}Previous target: ${String(a.prevCpu).padStart(5)}\n`;
  }
  s += `${p}move_in_progress: ${a.moveInProgress ? 1 : 0}\n`;
  s += `${p}is_managed:       ${a.isManaged ? 1 : 0}\n`;
  s += `${p}can_reserve:      ${a.canReserve ? 1 : 0}\n`;
  s += `${p}has_reserved:     ${a.hasReserved ? 1 : 0}\n`;
  s += `${p}cleanup_pending:  ${a.cleanupPending ? 1 : 0}\n`;
  return s;
}
