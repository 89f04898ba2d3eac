// kernel/irq/irqdomain.c: /sys/kernel/debug/irq/domains/<name> (irq_domain_debug_show_one), one
// file per domain plus `default` (irq_default_domain, the VECTOR domain on x86: arch_early_irq_init
// in arch/x86/kernel/apic/vector.c). Format of Linux 6.12; the flag-name listing is 6.11+ text.
import type { IrqSystem } from "../irq-system.js";
import type { IrqDomain } from "../irqdomain.js";
import { MsiDomain } from "../msi-domain.js";
import { IRQDOMAIN_FLAG_NAMES, hex8, showBits } from "./irq-state.js";
import { matrixDebugShow } from "./vector-debug.js";

/** Where the files live. */
export const DEBUGFS_DOMAINS = "/sys/kernel/debug/irq/domains";

/** irq_domain_debug_show_one: a domain, then its parent chain, each level four columns further in. */
function showOne(system: IrqSystem, d: IrqDomain, ind: number): string {
  const p = " ".repeat(ind);
  let s = `${p}name:   ${d.name}\n`;
  s += `${p} size:   ${d.size}\n`;
  s += `${p} mapped: ${d.mapped}\n`;
  s += `${p} flags:  ${hex8(d.flags)}\n`;
  s += showBits(ind, d.flags, IRQDOMAIN_FLAG_NAMES);
  // The domain's debug_show op: only VECTOR has one on x86 (the vector matrix).
  if (d === system.vector.domain) s += matrixDebugShow(system.matrix, ind + 1);
  if (d.parent) s += `${p} parent: ${d.parent.name}\n${showOne(system, d.parent, ind + 4)}`;
  return s;
}

/** The debugfs file of one domain with its parent chain (/sys/kernel/debug/irq/domains/<name>). */
export function domainHierarchy(system: IrqSystem, domain: MsiDomain | IrqDomain): string {
  return showOne(system, domain instanceof MsiDomain ? domain.irqDomain : domain, 0);
}

/**
 * Every file of /sys/kernel/debug/irq/domains in the order the kernel creates the domains: VECTOR
 * and `default` (which shows the same domain), the remapping units, IO-APIC-0, DMAR-MSI, HPET-MSI-0,
 * then the per-device domains.
 */
export function debugfsDomainFiles(system: IrqSystem): Map<string, string> {
  const files = new Map<string, string>();
  const [vector, ...rest] = system.irqDomains();
  for (const d of [vector!, ...rest]) {
    files.set(`${DEBUGFS_DOMAINS}/${d.name}`, showOne(system, d, 0));
    if (d === vector) files.set(`${DEBUGFS_DOMAINS}/default`, showOne(system, d, 0));
  }
  return files;
}
