// kernel/irq/debugfs.c: /sys/kernel/debug/irq/irqs/<N> (irq_debug_show), one file per allocated
// descriptor, as Linux 6.12 prints it (the v6.9 format is the same but for the table entries
// added since). The VECTOR level adds arch/x86/kernel/apic/vector.c's x86_vector_debug_show.
import { Cpumask } from "../cpumask.js";
import type { IrqSystem } from "../irq-system.js";
import type { IrqDesc } from "../irqdesc.js";
import type { IrqData } from "../irqdomain.js";
import { PIC_CASCADE_IR } from "../vector-layout.js";
import { IRQCHIP_FLAG_NAMES, IRQDATA_STATES, IRQDESC_ISTATES, IRQDESC_STATES, hex8, irqIstate, irqStatus, irqdState, showBits } from "./irq-state.js";
import { vectorIrqDebugShow } from "./vector-debug.js";

/** Where the files live. */
export const DEBUGFS_IRQS = "/sys/kernel/debug/irq/irqs";

/** The effective affinity (irq_data_get_effective_affinity_mask): one CPU on x86, or the mask an inactive interrupt was given. */
export function effectiveAffinity(system: IrqSystem, desc: IrqDesc): Cpumask {
  if (desc.effectiveMask) return desc.effectiveMask;
  return desc.effectiveCpu >= 0 ? Cpumask.single(system.cpus, desc.effectiveCpu) : Cpumask.empty(system.cpus);
}

/** desc->pending_mask: the target of a move that waits for the next interrupt, empty otherwise. */
function pendingOf(system: IrqSystem, desc: IrqDesc): Cpumask {
  return desc.moveP && desc.pendingMask ? desc.pendingMask : Cpumask.empty(system.cpus);
}

/** irq_debug_show_data: one level, then its parent four columns further in. */
function showData(system: IrqSystem, data: IrqData, ind: number): string {
  const p = " ".repeat(ind);
  let s = `${p}domain:  ${data.domain.name}\n`;
  s += `${p} hwirq:   0x${data.hwirq.toString(16)}\n`;
  // irq_debug_show_chip(ind + 1): the flags one column further in, their names at (ind + 1) + 12.
  s += `${p} chip:    ${data.chip.name}\n`;
  s += `${p}  flags:   0x${(data.chip.flags >>> 0).toString(16)}\n`;
  s += showBits(ind + 1, data.chip.flags, IRQCHIP_FLAG_NAMES);
  if (data.domain === system.vector.domain) s += vectorIrqDebugShow(data, ind + 1, data.virq === PIC_CASCADE_IR);
  if (data.parent) s += `${p} parent:\n${showData(system, data.parent, ind + 4)}`;
  return s;
}

/** irq_debug_show: the descriptor's words with their names, node, masks, then the irq-data chain. */
export function debugfsIrq(system: IrqSystem, desc: IrqDesc): string {
  const status = irqStatus(desc);
  const istate = irqIstate(desc);
  const dstate = irqdState(desc);
  let s = `handler:  ${desc.flow}\n`;
  // desc->dev_name is NULL for platform interrupts: vsprintf prints "(null)".
  s += `device:   ${desc.devName ?? "(null)"}\n`;
  s += `status:   ${hex8(status)}\n${showBits(0, status, IRQDESC_STATES)}`;
  s += `istate:   ${hex8(istate)}\n${showBits(0, istate, IRQDESC_ISTATES)}`;
  s += `ddepth:   ${desc.depth}\n`;
  s += `wdepth:   ${desc.wakeDepth}\n`;
  s += `dstate:   ${hex8(dstate)}\n${showBits(0, dstate, IRQDATA_STATES)}`;
  s += `node:     ${desc.node}\n`;
  s += `affinity: ${desc.affinity.toList()}\n`;
  s += `effectiv: ${effectiveAffinity(system, desc).toList()}\n`;
  s += `pending:  ${pendingOf(system, desc).toList()}\n`;
  return s + showData(system, desc.data, 0);
}

/** Every /sys/kernel/debug/irq/irqs/<N> (irq_add_debugfs_entry for each allocated descriptor), ascending. */
export function debugfsIrqFiles(system: IrqSystem): Map<string, string> {
  const files = new Map<string, string>();
  for (const desc of system.irqDescs()) files.set(`${DEBUGFS_IRQS}/${desc.virq}`, debugfsIrq(system, desc));
  return files;
}
