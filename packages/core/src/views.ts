// Kernel text views of a system: /proc/interrupts (kernel/irq/proc.c show_interrupts,
// arch/x86/kernel/irq.c arch_show_interrupts), sysfs msi_irqs (kernel/irq/msi.c), /proc/irq and
// /sys/kernel/irq (kernel/irq/proc.c, kernel/irq/irqdesc.c) and debugfs domains (kernel/irq/irqdomain.c).
import { ImsimError, describe } from "./errors.js";
import type { IrqSystem } from "./irq-system.js";
import type { Device } from "./device.js";
import { Cpumask, formatRangeList } from "./cpumask.js";
import { MsiDomain } from "./msi-domain.js";
import {
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI,
  IRQ_DOMAIN_FLAG_MSI_DEVICE,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_NAME_ALLOCATED,
  type IrqDomain,
} from "./irqdomain.js";

// Line formats of kernel/irq/proc.c (show_interrupts) and kernel/irq/irqdesc.c (sysfs), Linux 6.x;
// see ../shared/research/kernel-formats.md for what a real kernel printed.

/** /proc/interrupts: header of CPU columns, one line per virq with an action or a count, then ERR. */
export function procInterrupts(system: IrqSystem): string {
  const irqs = [...system.irqDescs()];
  const highest = irqs.length ? irqs[irqs.length - 1]!.virq : 0;
  const prec = Math.max(3, String(highest).length);
  let out = " ".repeat(prec + 8);
  for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) out += `CPU${c}`.padEnd(11);
  out += "\n";
  for (const irq of irqs) {
    if (irq.actions.length === 0 && irq.total === 0) continue;
    let line = `${String(irq.virq).padStart(prec)}:`;
    for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) line += ` ${String(irq.counts[c] ?? 0).padStart(10)}`;
    line += `  ${irq.chipName.padStart(8)}`;
    line += ` ${String(irq.hwirq).padStart(prec)}-${(irq.flow === "handle_fasteoi_irq" ? "fasteoi" : "edge").padEnd(8)}`;
    line += irq.actions.length ? `  ${irq.actions.map((a) => a.name).join(", ")}` : "";
    out += `${line.trimEnd()}\n`;
  }
  out += `${"ERR".padStart(prec)}: ${String(system.stats.spurious + system.faults.total).padStart(10)}\n`;
  out += `${"MIS".padStart(prec)}: ${String(0).padStart(10)}\n`;
  return out;
}

/** Content of a device's msi_irqs/<virq> file: the device's mode ("msix" once MSI-X is in use), as msi_mode_show. */
export function msiMode(system: IrqSystem, device: Device): string {
  for (const d of system.domains()) if (d.device === device && d.kind === "msix" && d.allocated > 0) return "msix\n";
  return "msi\n";
}

/**
 * The sysfs and /proc files imsim models, built from the system on demand: path → content.
 * Bus paths (/sys/bus/pci/devices/<bdf>/…) resolve to the device's /sys/devices path.
 */
export class SysfsView {
  readonly #system: IrqSystem;
  constructor(system: IrqSystem) {
    this.#system = system;
  }

  /** Every file of the view. */
  files(): Map<string, string> {
    const sys = this.#system;
    const files = new Map<string, string>();
    const emit = (path: string, content: string) => files.set(path, content);
    for (const dev of sys.devices()) {
      if (dev.pci) emit(`${dev.sysfsPath}/irq`, "0\n");
      emit(`${dev.sysfsPath}/uevent`, `DRIVER=imsim\n${dev.pci ? `PCI_SLOT_NAME=${dev.name}\n` : ""}`);
    }
    for (const domain of sys.domains()) {
      if (!domain.devSysfs) continue;
      const mode = msiMode(sys, domain.device);
      for (const desc of domain.descs()) emit(`${domain.device.sysfsPath}/msi_irqs/${desc.virq}`, mode);
    }
    for (const irq of sys.irqDescs()) {
      const k = `/sys/kernel/irq/${irq.virq}`;
      emit(`${k}/chip_name`, `${irq.chipName}\n`);
      emit(`${k}/hwirq`, `${irq.hwirq}\n`);
      emit(`${k}/name`, "edge\n");
      emit(`${k}/type`, "edge\n");
      emit(`${k}/wakeup`, "disabled\n");
      emit(`${k}/actions`, `${irq.actions.map((a) => a.name).join(",")}\n`);
      emit(`${k}/per_cpu_count`, `${Array.from({ length: sys.cpus }, (_, c) => irq.counts[c] ?? 0).join(",")}\n`);
      const p = `/proc/irq/${irq.virq}`;
      const requested = irq.moveP && irq.pendingMask ? irq.pendingMask : irq.affinity;
      const effective = irq.effectiveMask ?? (irq.effectiveCpu >= 0 ? Cpumask.single(sys.cpus, irq.effectiveCpu) : Cpumask.empty(sys.cpus));
      emit(`${p}/smp_affinity`, `${requested.toHex()}\n`);
      emit(`${p}/smp_affinity_list`, `${requested.toList()}\n`);
      emit(`${p}/effective_affinity`, `${effective.toHex()}\n`);
      emit(`${p}/effective_affinity_list`, `${effective.toList()}\n`);
    }
    for (const provider of sys.sysfsProviders()) provider(emit);
    return files;
  }

  #canonical(path: string): string {
    const m = /^\/sys\/bus\/([^/]+)\/devices\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return path.replace(/\/+$/, "");
    const dev = this.#system.device(m[2]!);
    if (!dev || dev.bus !== m[1]) return path;
    return `${dev.sysfsPath}${m[3] ?? ""}`.replace(/\/+$/, "");
  }

  /** Content of one file; ENOENT when the view has no such file. */
  read(path: string): string {
    if (typeof path !== "string") throw new ImsimError("EINVAL", `sysfs path must be a string, got ${describe(path)}`);
    const content = this.files().get(this.#canonical(path));
    if (content === undefined) throw new ImsimError("ENOENT", `no sysfs file ${path}`);
    return content;
  }

  /** Names directly under `dir` (files and directories), numbers in numeric order; ENOENT when empty or absent. */
  list(dir: string): string[] {
    if (typeof dir !== "string") throw new ImsimError("EINVAL", `sysfs path must be a string, got ${describe(dir)}`);
    const prefix = `${this.#canonical(dir)}/`;
    const names = new Set<string>();
    for (const path of this.files().keys()) {
      if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split("/")[0]!);
    }
    if (names.size === 0) throw new ImsimError("ENOENT", `no sysfs directory ${dir}`);
    return [...names].sort((a, b) => {
      const na = Number(a);
      const nb = Number(b);
      return Number.isInteger(na) && Number.isInteger(nb) ? na - nb : a < b ? -1 : a > b ? 1 : 0;
    });
  }
}

const FLAG_NAMES: [number, string][] = [
  [IRQ_DOMAIN_FLAG_HIERARCHY, "IRQ_DOMAIN_FLAG_HIERARCHY"],
  [IRQ_DOMAIN_NAME_ALLOCATED, "IRQ_DOMAIN_NAME_ALLOCATED"],
  [IRQ_DOMAIN_FLAG_MSI, "IRQ_DOMAIN_FLAG_MSI"],
  [IRQ_DOMAIN_FLAG_ISOLATED_MSI, "IRQ_DOMAIN_FLAG_ISOLATED_MSI"],
  [IRQ_DOMAIN_FLAG_MSI_PARENT, "IRQ_DOMAIN_FLAG_MSI_PARENT"],
  [IRQ_DOMAIN_FLAG_MSI_DEVICE, "IRQ_DOMAIN_FLAG_MSI_DEVICE"],
];

/** irq_matrix_debug_show: the summary at column 0, the per-CPU table indented by `ind`. */
function matrixBlock(system: IrqSystem, ind: number): string {
  const m = system.matrix;
  const sys = m.systemVectors();
  let s = `Online bitmaps:   ${String(m.onlineMaps).padStart(6)}\n`;
  s += `Global available: ${String(m.globalAvailable).padStart(6)}\n`;
  s += `Global reserved:  ${String(m.globalReserved).padStart(6)}\n`;
  s += `Total allocated:  ${String(m.totalAllocated).padStart(6)}\n`;
  s += `System: ${sys.length}: ${formatRangeList(sys)}\n`;
  s += `${" ".repeat(ind)}| CPU | avl | man | mac | act | vectors\n`;
  for (let c = 0; c < system.cpus; c++) {
    const k = m.counts(c);
    if (!k.online) continue;
    s += `${" ".repeat(ind)} ${String(c).padStart(4)}  ${String(k.available).padStart(4)}  ${String(k.managed).padStart(4)}  ${String(k.managedAllocated).padStart(4)} ${String(k.allocated).padStart(4)}  ${formatRangeList(m.allocatedVectors(c))}\n`;
  }
  return s;
}

/** irq_domain_debug_show_one: a domain, then its parent chain, each level four columns further in. */
function domainLevel(system: IrqSystem, d: IrqDomain, ind: number): string {
  const pad = " ".repeat(ind);
  let s = `${pad}name:   ${d.name}\n${pad} size:   ${d.size}\n${pad} mapped: ${d.mapped}\n${pad} flags:  0x${d.flags.toString(16).padStart(8, "0")}\n`;
  for (const [bit, label] of FLAG_NAMES) if (d.flags & bit) s += `${" ".repeat(ind + 12)}${label}\n`;
  if (d === system.vector.domain) s += matrixBlock(system, ind + 1);
  if (d.parent) s += `${pad} parent: ${d.parent.name}\n${domainLevel(system, d.parent, ind + 4)}`;
  return s;
}

/** The debugfs view of one domain with its parent chain (/sys/kernel/debug/irq/domains/<name>). */
export function domainHierarchy(system: IrqSystem, domain: MsiDomain | IrqDomain): string {
  return domainLevel(system, domain instanceof MsiDomain ? domain.irqDomain : domain, 0);
}

/** Every domain's file, one after another. */
export function domainsView(system: IrqSystem): string {
  return system.irqDomains().map((d) => domainLevel(system, d, 0)).join("\n");
}
