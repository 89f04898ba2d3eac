// Per-interrupt files outside debugfs: /sys/kernel/irq/<N>/* (kernel/irq/irqdesc.c, the irq
// kobject's seven attributes) and /proc/irq/<N>/*, /proc/irq/default_smp_affinity
// (kernel/irq/proc.c), Linux 6.12 (the same in v6.9).
import { Cpumask } from "../cpumask.js";
import type { IrqSystem } from "../irq-system.js";
import type { IrqDesc } from "../irqdesc.js";
import { NO_IRQ_DOMAIN } from "../irqdomain.js";
import { effectiveAffinity } from "./debugfs-irqs.js";
import { flowName } from "./proc-interrupts.js";

/** Receives one file of a view. */
export type EmitFile = (path: string, content: string) => void;

/** /sys/kernel/irq/<N>: every allocated descriptor (irq_sysfs_add), seven read-only attributes. */
function sysKernelIrq(system: IrqSystem, desc: IrqDesc, emit: EmitFile): void {
  const k = `/sys/kernel/irq/${desc.virq}`;
  const counts = desc.counts;
  // per_cpu_count: every possible CPU, "%u" joined by ",".
  emit(`${k}/per_cpu_count`, `${Array.from({ length: system.cpus }, (_, c) => counts[c] ?? 0).join(",")}\n`);
  emit(`${k}/chip_name`, `${desc.chipName}\n`);
  // hwirq: of the top level, decimal; empty without a domain (the PIC cascade line).
  emit(`${k}/hwirq`, desc.data.domain === NO_IRQ_DOMAIN ? "" : `${desc.hwirq}\n`);
  emit(`${k}/type`, desc.level ? "level\n" : "edge\n");
  emit(`${k}/wakeup`, "disabled\n");
  // name: desc->name as __irq_set_handler recorded it; none for a handler set without one.
  const name = flowName(desc);
  emit(`${k}/name`, name ? `${name}\n` : "");
  // actions: names joined by "," (not ", " as /proc/interrupts); an empty file without actions.
  emit(`${k}/actions`, desc.actions.length ? `${desc.actions.map((a) => a.name).join(",")}\n` : "");
}

/** /proc/irq/<N>: only where register_irq_proc made the directory (boot, or the first request_irq). */
function procIrq(system: IrqSystem, desc: IrqDesc, emit: EmitFile): void {
  if (!desc.procDir) return;
  const p = `/proc/irq/${desc.virq}`;
  // show_irq_affinity: the pending mask while a move waits for the next interrupt.
  const requested = desc.moveP && desc.pendingMask ? desc.pendingMask : desc.affinity;
  const effective = effectiveAffinity(system, desc);
  emit(`${p}/smp_affinity`, `${requested.toHex()}\n`);
  // No driver of the model sets a hint (irq_set_affinity_hint): all zeros, "%*pb".
  emit(`${p}/affinity_hint`, `${Cpumask.empty(system.cpus).toHex()}\n`);
  emit(`${p}/smp_affinity_list`, `${requested.toList()}\n`);
  emit(`${p}/node`, `${desc.node}\n`);
  emit(`${p}/effective_affinity`, `${effective.toHex()}\n`);
  emit(`${p}/effective_affinity_list`, `${effective.toList()}\n`);
  emit(`${p}/spurious`, `count ${desc.irqCount}\nunhandled ${desc.unhandled}\nlast_unhandled ${desc.lastUnhandled} ms\n`);
}

/** Every /sys/kernel/irq and /proc/irq file of the system. */
export function irqFiles(system: IrqSystem, emit: EmitFile): void {
  emit("/proc/irq/default_smp_affinity", `${system.defaultAffinity.toHex()}\n`);
  for (const desc of system.irqDescs()) {
    sysKernelIrq(system, desc, emit);
    procIrq(system, desc, emit);
  }
}
