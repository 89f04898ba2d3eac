import type { MsiMsg } from "./msi-message.js";
import type { MsiDomain } from "./msi-domain.js";
import type { Device } from "./device.js";

/** An interrupt handler: Linux's irq_handler_t (irq, dev_id). Called on the delivery path. */
export type IrqHandler = (virq: number, devId: unknown) => void;

/** One requested handler of a virq (Linux: struct irqaction, its `name` shows in /proc/interrupts). */
export interface IrqAction {
  readonly name: string;
  readonly handler: IrqHandler;
  readonly devId: unknown;
}

/**
 * One MSI descriptor: an interrupt of a device at an index of one of its domains.
 * Linux: struct msi_desc (include/linux/msi.h); `msiIndex` is msi_desc::msi_index, `cookie` the
 * msi_instance_cookie, `msg` the cached msi_msg last written to the store.
 */
export class MsiDesc {
  readonly device: Device;
  readonly domainId: number;
  readonly msiIndex: number;
  /** Index in the physical store (differs from msiIndex when the domain covers a slice). */
  readonly storeIndex: number;
  readonly virq: number;
  readonly cookie: number;
  /** Last message written; updated in place, never reallocated. */
  readonly msg: MsiMsg = { addressLo: 0, addressHi: 0, data: 0 };
  /** PASID last written with the message (-1: none). */
  pasid = -1;
  /** How many times the message (store entry or IRTE) was (re)written: a live-interrupt disturbance counter. */
  writes = 0;

  constructor(device: Device, domainId: number, msiIndex: number, storeIndex: number, virq: number, cookie: number) {
    this.device = device;
    this.domainId = domainId;
    this.msiIndex = msiIndex;
    this.storeIndex = storeIndex;
    this.virq = virq;
    this.cookie = cookie;
  }
}

/**
 * Per-virq state. Linux: struct irq_desc + irq_data (include/linux/irqdesc.h): hwirq, chip, affinity,
 * effective affinity, state, per-CPU counts (kstat_irqs), actions.
 */
export class IrqDesc {
  readonly virq: number;
  readonly domain: MsiDomain;
  readonly msiDesc: MsiDesc;
  /** hwirq as /proc/interrupts shows it: the index within the per-device domain. */
  readonly hwirq: number;
  /** Requested CPUs (bit n = CPU n): /proc/irq/N/smp_affinity. */
  affinity: number;
  /** The CPU the message targets now (effective_affinity), -1 while none. */
  effectiveCpu = -1;
  vector = 0;
  /** IRTE index under interrupt remapping, -1 otherwise. */
  irte = -1;
  /** True once a handler was requested (IRQD started). */
  started = false;
  /** disable_irq() nesting depth; delivered only at 0. */
  depth = 0;
  /** Chip-level mask state of the store entry. */
  masked = true;
  /** An interrupt arrived while disabled or while its handler ran (IRQS_PENDING); replayed once. */
  pending = false;
  /** Its actions are running (IRQD_IRQ_INPROGRESS): a raise now is marked pending, not nested. */
  inProgress = false;
  readonly counts: Uint32Array;
  actions: IrqAction[] = [];

  constructor(virq: number, domain: MsiDomain, msiDesc: MsiDesc, affinity: number, cpus: number) {
    this.virq = virq;
    this.domain = domain;
    this.msiDesc = msiDesc;
    this.hwirq = msiDesc.msiIndex;
    this.affinity = affinity;
    this.counts = new Uint32Array(cpus);
  }

  get chipName(): string {
    return this.domain.chipName;
  }
  get enabled(): boolean {
    return this.started && this.depth === 0;
  }
  get total(): number {
    let n = 0;
    for (let i = 0; i < this.counts.length; i++) n += this.counts[i]!;
    return n;
  }
}
