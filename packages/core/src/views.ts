import { ImsimError, describe } from "./errors.js";
import type { IrqSystem } from "./irq-system.js";
import type { Device } from "./device.js";
import { formatCpuList, formatRangeList, isSystemVector, NR_VECTORS, VECTORS_PER_CPU } from "./vector-matrix.js";
import { DOMAIN_BUS_DMAR, type MsiDomain } from "./msi-domain.js";

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
    for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) line += ` ${String(irq.counts[c]).padStart(10)}`;
    line += `  ${irq.chipName.padStart(8)}`;
    line += ` ${String(irq.hwirq).padStart(prec)}-${"edge".padEnd(8)}`;
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
      emit(`${k}/per_cpu_count`, `${Array.from(irq.counts).join(",")}\n`);
      const p = `/proc/irq/${irq.virq}`;
      emit(`${p}/smp_affinity`, `${irq.affinity.toString(16)}\n`);
      emit(`${p}/smp_affinity_list`, `${formatCpuList(irq.affinity, sys.cpus)}\n`);
      emit(`${p}/effective_affinity`, `${(1 << irq.effectiveCpu).toString(16)}\n`);
      emit(`${p}/effective_affinity_list`, `${irq.effectiveCpu}\n`);
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

// Domain flags (include/linux/irqdomain.h) as the debugfs dump names them.
const FLAG_HIERARCHY = 0x1;
const FLAG_NAME_ALLOCATED = 0x2;
const FLAG_MSI_PARENT = 0x100;
const FLAG_MSI = 0x10;
const FLAG_MSI_DEVICE = 0x200;
const FLAG_ISOLATED_MSI = 0x20;
const FLAG_NAMES: [number, string][] = [
  [FLAG_HIERARCHY, "IRQ_DOMAIN_FLAG_HIERARCHY"],
  [FLAG_NAME_ALLOCATED, "IRQ_DOMAIN_NAME_ALLOCATED"],
  [FLAG_MSI, "IRQ_DOMAIN_FLAG_MSI"],
  [FLAG_ISOLATED_MSI, "IRQ_DOMAIN_FLAG_ISOLATED_MSI"],
  [FLAG_MSI_PARENT, "IRQ_DOMAIN_FLAG_MSI_PARENT"],
  [FLAG_MSI_DEVICE, "IRQ_DOMAIN_FLAG_MSI_DEVICE"],
];

function domainBlock(indent: number, name: string, size: number, mapped: number, flags: number): string {
  const pad = " ".repeat(indent);
  let s = `${pad}name:   ${name}\n${pad} size:   ${size}\n${pad} mapped: ${mapped}\n${pad} flags:  0x${flags.toString(16).padStart(8, "0")}\n`;
  for (const [bit, label] of FLAG_NAMES) if (flags & bit) s += `${pad}            ${label}\n`;
  return s;
}

function vectorLevel(system: IrqSystem, indent: number): string {
  const pad = " ".repeat(indent);
  let s = domainBlock(indent, "VECTOR", 0, system.irqs.inUse, FLAG_HIERARCHY | FLAG_NAME_ALLOCATED | (system.interruptRemapping ? 0 : FLAG_MSI_PARENT));
  const system_ = [];
  for (let v = 0; v < NR_VECTORS; v++) if (isSystemVector(v)) system_.push(v);
  const online = [];
  for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) online.push(c);
  const usage = system.matrix.usage();
  const allocated = usage.reduce((a, b) => a + b, 0);
  s += `${pad} Online bitmaps: ${String(online.length).padStart(7)}\n`;
  s += `${pad} Global available: ${String(online.length * VECTORS_PER_CPU - allocated).padStart(6)}\n`;
  s += `${pad} Global reserved: ${String(0).padStart(6)}\n`;
  s += `${pad} Total allocated: ${String(allocated).padStart(6)}\n`;
  s += `${pad} System: ${system_.length}: ${formatRangeList(system_)}\n`;
  s += `${pad} | CPU | avl | man | mac | act | vectors\n`;
  for (const c of online) {
    s += `${pad}   ${String(c).padStart(3)}  ${String(VECTORS_PER_CPU - usage[c]!).padStart(3)}     0     0  ${String(usage[c]!).padStart(3)}  ${formatRangeList(system.matrix.vectorsOf(c))}\n`;
  }
  return s;
}

/** The debugfs view of one per-device domain with its parent chain (/sys/kernel/debug/irq/domains/<name>). */
export function domainHierarchy(system: IrqSystem, domain: MsiDomain): string {
  let s = domainBlock(0, domain.name, 0, domain.allocated, FLAG_HIERARCHY | FLAG_NAME_ALLOCATED | FLAG_MSI | FLAG_MSI_DEVICE);
  let indent = 4;
  if (system.irtes) {
    s += ` parent: INTEL-IR-0-${DOMAIN_BUS_DMAR}\n`;
    s += domainBlock(indent, `INTEL-IR-0-${DOMAIN_BUS_DMAR}`, system.irtes.size, system.irtes.inUse, FLAG_HIERARCHY | FLAG_NAME_ALLOCATED | FLAG_ISOLATED_MSI | FLAG_MSI_PARENT);
    s += `${" ".repeat(indent)} parent: VECTOR\n`;
    indent += 4;
  } else {
    s += ` parent: VECTOR\n`;
  }
  return s + vectorLevel(system, indent);
}

/** Every per-device domain's hierarchy dump, one after another. */
export function domainsView(system: IrqSystem): string {
  const domains = system.domains();
  if (domains.length === 0) return vectorLevel(system, 0);
  return domains.map((d) => domainHierarchy(system, d)).join("\n");
}
