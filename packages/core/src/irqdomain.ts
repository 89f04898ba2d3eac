// kernel/irq/irqdomain.c: hierarchical irq domains. Each interrupt has one irq_data per level of
// the hierarchy, from its device's domain down to the root (VECTOR on x86); allocation and
// activation walk that chain (irq_domain_alloc_irqs_hierarchy, irq_domain_activate_irq).
import { ImsimError } from "./errors.js";
import type { Cpumask } from "./cpumask.js";
import type { MsiMsg } from "./msi-message.js";
import type { IrqDesc } from "./irqdesc.js";

// Domain flags, include/linux/irqdomain.h (the values v6.9 and v6.12 share).
export const IRQ_DOMAIN_FLAG_HIERARCHY = 1 << 0;
export const IRQ_DOMAIN_NAME_ALLOCATED = 1 << 1;
export const IRQ_DOMAIN_FLAG_IPI_PER_CPU = 1 << 2;
export const IRQ_DOMAIN_FLAG_IPI_SINGLE = 1 << 3;
export const IRQ_DOMAIN_FLAG_MSI = 1 << 4;
export const IRQ_DOMAIN_FLAG_ISOLATED_MSI = 1 << 5;
export const IRQ_DOMAIN_FLAG_NO_MAP = 1 << 6;
export const IRQ_DOMAIN_FLAG_MSI_PARENT = 1 << 8;
export const IRQ_DOMAIN_FLAG_MSI_DEVICE = 1 << 9;
export const IRQ_DOMAIN_FLAG_NONCORE = 1 << 16;

/** Bus tokens (enum irq_domain_bus_token, include/linux/irqdomain_defs.h, v6.9): the suffix of a domain's name. */
export const DOMAIN_BUS_ANY = 0;
export const DOMAIN_BUS_WIRED = 1;
export const DOMAIN_BUS_GENERIC_MSI = 2;
export const DOMAIN_BUS_PCI_MSI = 3;
export const DOMAIN_BUS_PCI_DEVICE_MSI = 11;
export const DOMAIN_BUS_PCI_DEVICE_MSIX = 12;
export const DOMAIN_BUS_DMAR = 13;
export const DOMAIN_BUS_AMDVI = 14;
export const DOMAIN_BUS_PCI_DEVICE_IMS = 15;

/** irq_set_affinity return codes (include/linux/irq.h): the level updated everything below (DONE) or not (OK). */
export const IRQ_SET_MASK_OK = 0;
export const IRQ_SET_MASK_OK_NOCOPY = 1;
export const IRQ_SET_MASK_OK_DONE = 2;

/**
 * An interrupt controller as one level sees it (struct irq_chip). `name` is what /proc/interrupts
 * and debugfs print; `flags` are IRQCHIP_* bits. The callbacks act on the level's irq data.
 */
export interface IrqChip {
  readonly name: string;
  readonly flags: number;
  mask?(data: IrqData): void;
  unmask?(data: IrqData): void;
  /** irq_write_msi_msg: puts a composed message into the device's store. */
  writeMsiMsg?(data: IrqData, msg: MsiMsg): void;
}

/**
 * One level of one interrupt (struct irq_data): the domain, the hwirq in it, the chip and the
 * chip's private data (x86: struct apic_chip_data at the VECTOR level; the IRTE at the remapping
 * level; the MSI descriptor at the device level), and the next level down.
 */
export class IrqData {
  readonly desc: IrqDesc;
  readonly domain: IrqDomain;
  hwirq = 0;
  chip: IrqChip;
  chipData: unknown = undefined;
  parent: IrqData | undefined;

  constructor(desc: IrqDesc, domain: IrqDomain, parent: IrqData | undefined) {
    this.desc = desc;
    this.domain = domain;
    this.parent = parent;
    this.chip = NO_CHIP;
  }
  get virq(): number {
    return this.desc.virq;
  }
  /** The levels from this one down to the root. */
  *chain(): IterableIterator<IrqData> {
    for (let d: IrqData | undefined = this; d; d = d.parent) yield d;
  }
}

const NO_CHIP: IrqChip = Object.freeze({ name: "none", flags: 0 });

/**
 * What a domain does at its level (struct irq_domain_ops, plus the irq_chip callbacks the kernel
 * keeps on each level's chip for affinity and message composition). Each op acts on its own level
 * and calls the parent's through the helpers below, as the kernel's do; an op that throws must
 * have undone its own level's work.
 */
export interface IrqDomainOps {
  /**
   * Sets up this level's irq data of `descs` (hwirq, chip, chip data), consecutive virqs as
   * irq_domain_alloc_irqs passes [virq, virq + nr); calls the parent's alloc where it needs it.
   */
  alloc(domain: IrqDomain, descs: readonly IrqDesc[], arg: IrqAllocInfo): void;
  /** Releases this level's resources, then the parent's. */
  free(domain: IrqDomain, descs: readonly IrqDesc[]): void;
  /**
   * Activation after the parent's: a real vector, a present IRTE, a written message. `reserve`:
   * early activation in reservation mode. May return a function that puts the level back exactly as
   * it was before (used when a later step of the same operation fails; the kernel cannot fail
   * there, the model's injected faults can).
   */
  activate?(domain: IrqDomain, data: IrqData, reserve: boolean): (() => void) | void;
  /** Undoes activate, before the parent's deactivation. */
  deactivate?(domain: IrqDomain, data: IrqData): void;
  /** irq_chip::irq_set_affinity: returns IRQ_SET_MASK_OK or _DONE; throws ImsimError on failure. */
  setAffinity?(data: IrqData, mask: Cpumask, force: boolean): number;
  /** irq_chip::irq_compose_msi_msg: the message that reaches this level's target. */
  composeMsg?(data: IrqData, msg: MsiMsg): void;
}

/** What a device's allocation passes down the hierarchy (struct irq_alloc_info / msi_alloc_info_t). */
export interface IrqAllocInfo {
  /** The device whose requester id the message writes carry (set_msi_sid); undefined for platform interrupts. */
  readonly requester?: { readonly sourceOf: () => unknown } | undefined;
  /** Requester-id check resolved once by the caller (design A's child devices); skips the resolution. */
  readonly resolvedSource?: unknown;
  /** A fixed vector/CPU request of the caller (legacy interrupts). */
  readonly legacyVector?: number;
}

/** The parent role of MSI parent domains (struct msi_parent_ops): the chip-name prefix and what it supports. */
export interface MsiParentOps {
  readonly prefix: string;
  /** MSI_FLAG_* bits the parent supports; MSI_FLAG_PCI_IMS only on physical remapping units. */
  readonly supportedFlags: number;
}

export interface IrqDomainOptions {
  /** Base name (the fwnode's); the bus token is appended as "-<token>" unless it is DOMAIN_BUS_ANY. */
  name: string;
  busToken: number;
  parent: IrqDomain | undefined;
  ops: IrqDomainOps;
  flags: number;
  /** revmap size (0 for the hierarchical domains of x86, 65536 for the remapping table). */
  size?: number;
  msiParent?: MsiParentOps;
}

/** struct irq_domain. */
export class IrqDomain {
  readonly baseName: string;
  readonly name: string;
  readonly busToken: number;
  readonly parent: IrqDomain | undefined;
  readonly ops: IrqDomainOps;
  readonly flags: number;
  readonly size: number;
  readonly msiParent: MsiParentOps | undefined;
  /** Interrupts that have irq data at this level (mapcount). */
  mapped = 0;
  #removed = false;

  constructor(o: IrqDomainOptions) {
    this.baseName = o.name;
    this.name = o.busToken === DOMAIN_BUS_ANY ? o.name : `${o.name}-${o.busToken}`;
    this.busToken = o.busToken;
    this.parent = o.parent;
    this.ops = o.ops;
    this.flags = o.flags;
    this.size = o.size ?? 0;
    this.msiParent = o.msiParent;
  }
  get removed(): boolean {
    return this.#removed;
  }
  /** @internal */
  markRemoved(): void {
    this.#removed = true;
  }
  /** This domain, then its parents up to the root. */
  *chain(): IterableIterator<IrqDomain> {
    for (let d: IrqDomain | undefined = this; d; d = d.parent) yield d;
  }
}

/**
 * What the irq data of an interrupt outside every hierarchy points to: Linux leaves
 * irq_data::domain NULL there (the legacy PIC's cascade line), and debugfs prints an empty name.
 * It has no ops beyond doing nothing, and is in no host's list of domains.
 */
export const NO_IRQ_DOMAIN: IrqDomain = new IrqDomain({
  name: "",
  busToken: DOMAIN_BUS_ANY,
  parent: undefined,
  flags: 0,
  ops: { alloc: () => undefined, free: () => undefined },
});

/** The irq data of `desc` at `domain`'s level, or undefined (irq_domain_get_irq_data). */
export function irqDataAt(desc: IrqDesc, domain: IrqDomain): IrqData | undefined {
  for (let d: IrqData | undefined = desc.data; d; d = d.parent) if (d.domain === domain) return d;
  return undefined;
}

/**
 * irq_domain_alloc_irqs_parent: allocates the parent level of [virq, virq + nr). The caller's level
 * is already linked into each descriptor's chain, so the parent's irq data goes below it.
 */
export function allocParent(domain: IrqDomain, descs: readonly IrqDesc[], arg: IrqAllocInfo): void {
  const parent = domain.parent;
  if (!parent) throw new ImsimError("EINVAL", `domain ${domain.name} has no parent to allocate from`);
  allocLevel(parent, descs, arg);
}

/** Links a new level of `domain` under each descriptor's current bottom level and runs its alloc op. */
export function allocLevel(domain: IrqDomain, descs: readonly IrqDesc[], arg: IrqAllocInfo): void {
  const added: IrqData[] = [];
  for (const desc of descs) {
    const d = new IrqData(desc, domain, undefined);
    const bottom = desc.bottom;
    if (bottom) bottom.parent = d;
    else desc.data = d;
    added.push(d);
  }
  try {
    domain.ops.alloc(domain, descs, arg);
  } catch (e) {
    for (const d of added) unlink(d);
    throw e;
  }
  domain.mapped += descs.length;
}

function unlink(d: IrqData): void {
  const desc = d.desc;
  if (desc.data === d) {
    desc.data = undefined as unknown as IrqData;
    return;
  }
  for (let x: IrqData | undefined = desc.data; x; x = x.parent) {
    if (x.parent === d) {
      x.parent = undefined;
      return;
    }
  }
}

/** irq_domain_free_irqs_parent: frees the parent level of each descriptor's chain below `domain`. */
export function freeParent(domain: IrqDomain, descs: readonly IrqDesc[]): void {
  if (domain.parent) freeLevel(domain.parent, descs);
}

/** Runs `domain`'s free op for the descriptors and unlinks its level (and what its op freed below). */
export function freeLevel(domain: IrqDomain, descs: readonly IrqDesc[]): void {
  domain.ops.free(domain, descs);
  domain.mapped -= descs.length;
  for (const desc of descs) {
    const d = irqDataAt(desc, domain);
    if (d) unlink(d);
  }
}

/**
 * __irq_domain_activate_irq: activates the parent levels first, then `data`'s. All or nothing: a
 * failing level's parents are put back as they were. Returns the undo of the whole activation.
 */
export function activateLevel(data: IrqData, reserve: boolean): () => void {
  const undos: (() => void)[] = [];
  const levels = [...data.chain()].reverse();
  try {
    for (const d of levels) {
      const activate = d.domain.ops.activate;
      if (!activate) continue;
      const undo = activate(d.domain, d, reserve);
      const deactivate = d.domain.ops.deactivate;
      undos.push(undo ?? (deactivate ? () => deactivate(d.domain, d) : () => undefined));
    }
  } catch (e) {
    for (const u of undos.reverse()) u();
    throw e;
  }
  return () => {
    for (const u of undos.reverse()) u();
  };
}

/** __irq_domain_deactivate_irq: this level first, then the parents. */
export function deactivateLevel(data: IrqData): void {
  data.domain.ops.deactivate?.(data.domain, data);
  if (data.parent) deactivateLevel(data.parent);
}

/** irq_chip_compose_msi_msg (kernel/irq/chip.c): the first level from the top that can compose the message does it. */
export function composeMsg(data: IrqData, msg: MsiMsg): void {
  let composer: IrqData | undefined;
  for (let d: IrqData | undefined = data; d && !composer; d = d.parent) if (d.domain.ops.composeMsg) composer = d;
  if (!composer) throw new ImsimError("EINVAL", `no level of virq ${data.virq} composes a message`);
  composer.domain.ops.composeMsg!(composer, msg);
}
