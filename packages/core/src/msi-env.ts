// What a per-device MSI domain needs from its system (IrqSystem implements it): the hierarchy
// allocation of kernel/irq/msi.c (__msi_domain_alloc_irqs, msi_init_virq, msi_domain_free_locked)
// and the chip's message writes.
import type { Cpumask } from "./cpumask.js";
import type { IrqDomainOps } from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";
import type { MsiDesc } from "./msi-desc.js";
import type { MsiMsg } from "./msi-message.js";
import type { MsiDomain } from "./msi-domain.js";

/** @internal */
export interface MsiEnv {
  readonly nrCpus: number;
  /** cpu_possible_mask: where managed interrupts are spread without a mask. */
  readonly allCpus: Cpumask;
  /**
   * Allocates the Linux irq of `desc` through the hierarchy (virq, every level's resources),
   * activates it early if the domain asks (reservation mode: on the shutdown vector), and links it.
   * `affinity` undefined: the default affinity. All or nothing.
   */
  allocIrq(domain: MsiDomain, desc: MsiDesc, affinity: Cpumask | undefined, managed: boolean): IrqDesc;
  /** Deactivates if needed, frees every level and the virq. */
  freeIrq(domain: MsiDomain, irq: IrqDesc): void;
  /** EBUSY while actions are requested or its own handler runs. */
  checkFreeable(irq: IrqDesc): void;
  /** Frees actions without asking (device removal). */
  dropActions(irq: IrqDesc): void;
  /** irq_write_msi_msg: the message (and the domain's PASID for it) into the store entry. */
  writeMessage(domain: MsiDomain, irq: IrqDesc, msg: MsiMsg): void;
  /** Writes the current message again (a PASID change), if the interrupt has one written. */
  rewrite(domain: MsiDomain, irq: IrqDesc): void;
  /** The device sends the message of entry `index` (its pending bit was set when the entry was unmasked). */
  deviceSends(domain: MsiDomain, index: number): void;
  /** The ops of the domain's level: msi_domain_alloc, msi_domain_activate, … */
  msiLevelOps(domain: MsiDomain): IrqDomainOps;
  atomically<T>(op: () => T): T;
}
