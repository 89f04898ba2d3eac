// The "mainline" design: PCI/IMS as Linux v6.2-v6.9 shipped it, before the v6.10 revert for lack of
// users (../shared/research/linux.md §1, §10). pci_create_ims_domain() (drivers/pci/msi/irqdomain.c)
// makes IMS the PCI device's MSI_SECONDARY_DOMAIN; pci_ims_alloc_irq() (drivers/pci/msi/api.c) is
// msi_domain_alloc_irq_at(dev, MSI_SECONDARY_DOMAIN, MSI_ANY_INDEX, affdesc, icookie)
// (kernel/irq/msi.c), which copies the caller's union msi_instance_cookie (include/linux/msi_api.h)
// into the new descriptor; the IMS irqchip puts the PASID from that cookie into the entry when it
// writes it (tglx's example IDXD IMS irqchip, patch 33/33 of the v6.2 series). Which interrupt
// belongs to which queue is the driver's own business: VFIO's IMS backend (RFC, Oct 2023) kept a
// context per guest vector holding the IMS index (ims_id), the virq and the cookie.
import {
  ImsimError,
  MSI_SECONDARY_DOMAIN,
  PASID_MAX,
  type Device,
  type IrqSystem,
  type MessageStore,
  type MsiDesc,
  type MsiDomain,
  type QueueState,
  type StrategyDesign,
  type StrategyRecord,
} from "@imsim/core";

/**
 * The cookie of an interrupt whose queue has no PASID: IOMMU_PASID_INVALID, (-1U) in
 * include/linux/iommu.h. The IDXD IMS chip enabled the entry's PASID only for a valid one
 * (pasid_valid() on the cookie, Reinette Chatre's follow-up to patch 33/33).
 */
export const NO_PASID_COOKIE = 0xffffffff;

/** The PASID an interrupt's cookie stands for, -1 for none: what the IMS chip writes into the entry. */
export function pasidOfCookie(cookie: number): number {
  return cookie <= PASID_MAX ? cookie : -1;
}

/** The cookie a queue's interrupts carry: its PASID, or NO_PASID_COOKIE. */
export function cookieOfPasid(pasid: number | undefined): number {
  return pasid ?? NO_PASID_COOKIE;
}

/**
 * The driver's context of one vector of a queue, as VFIO's IMS backend kept one per guest vector
 * (struct vfio_pci_irq_ctx: ims_id, virq, icookie): the IMS index the interrupt got and the cookie
 * it was allocated with. The virq is the descriptor's (msi_domain_get_virq).
 */
interface VectorContext {
  readonly imsIndex: number;
  cookie: number;
}

/** The driver's per-queue table of vector contexts, by queue index (the guest's vector number). */
interface QueueContexts {
  readonly queue: QueueState;
  readonly vectors: Map<number, VectorContext>;
}

/**
 * Design "mainline": the PCI device keeps every IMS descriptor in its secondary MSI domain; each
 * interrupt is allocated with an instance cookie that is the queue's PASID, so the PASID reaches
 * the IMS entry from the descriptor itself whenever the message is written (no table in the write
 * path); the driver tracks a queue's interrupts in per-vector contexts. There is no per-queue sysfs
 * directory: the IMS template asks for no msi_irqs/ files (MSI_FLAG_DEV_SYSFS unset, as the IDXD
 * IMS chip's), so the interrupts show in /proc/interrupts and /sys/kernel/irq only.
 */
export class MainlineDesign implements StrategyDesign {
  readonly name = "mainline";
  readonly #system: IrqSystem;
  readonly #host: Device;
  readonly #domain: MsiDomain;
  readonly #queues = new Map<number, QueueContexts>();

  constructor(system: IrqSystem, host: Device, store: MessageStore) {
    this.#system = system;
    this.#host = host;
    // pci_create_ims_domain(): the secondary domain of the PCI device over the whole store.
    this.#domain = system.createMsiDomain(host, {
      domainId: MSI_SECONDARY_DOMAIN,
      store,
      kind: "ims",
      devSysfs: false,
      // The chip's irq_write_msi_msg: the PASID comes from the descriptor's own cookie.
      pasidOf: (desc: MsiDesc) => pasidOfCookie(desc.cookie),
    });
  }

  #contexts(queue: QueueState): QueueContexts {
    const c = this.#queues.get(queue.id);
    if (!c) throw new ImsimError("ENOENT", `queue ${queue.name} has no vector contexts in the driver of ${this.#host.name}`);
    return c;
  }

  attachQueue(queue: QueueState): void {
    this.#queues.set(queue.id, { queue, vectors: new Map() });
  }

  detachQueue(queue: QueueState): void {
    this.#queues.delete(queue.id);
  }

  domainOf(): MsiDomain {
    return this.#domain;
  }

  /**
   * The host's domain spans the store: queue index i is IMS index base + i. Core picks the lowest
   * free index of the queue's slice with the domain's own search (`lowestFreeIn`, the one
   * `allocAt(MSI_ANY_INDEX)` runs over the whole domain), so a queue without a slice gets exactly
   * the index pci_ims_alloc_irq() would.
   */
  msiIndexOf(queue: QueueState, index: number): number {
    return queue.base + index;
  }

  owns(queue: QueueState, index: number): boolean {
    return this.#contexts(queue).vectors.has(index);
  }

  indicesOf(queue: QueueState): number[] {
    return [...this.#contexts(queue).vectors.keys()].sort((a, b) => a - b);
  }

  /** A new vector context with the queue's current cookie; an index the queue holds is refused. */
  claimIndex(queue: QueueState, index: number): void {
    const vectors = this.#contexts(queue).vectors;
    if (vectors.has(index)) throw new ImsimError("EBUSY", `vector ${index} of queue ${queue.name} already has IMS entry ${queue.base + index}`);
    // Another queue's entry is refused by the domain (EBUSY), and releaseIndex drops this context.
    vectors.set(index, { imsIndex: queue.base + index, cookie: cookieOfPasid(queue.pasid) });
  }

  releaseIndex(queue: QueueState, index: number): void {
    this.#contexts(queue).vectors.delete(index);
  }

  /** The vector context's cookie: the PASID, passed to the allocation as pci_ims_alloc_irq's icookie. */
  cookieOf(queue: QueueState, index: number): number {
    return this.#contexts(queue).vectors.get(index)?.cookie ?? cookieOfPasid(queue.pasid);
  }

  /**
   * A PASID change: each vector context and its descriptor get the new cookie (core then rewrites
   * the entries). v6.9 had no call for this; see MsiDomain.setCookie.
   */
  recordPasid(queue: QueueState, pasid: number | undefined): void {
    const cookie = cookieOfPasid(pasid);
    for (const ctx of this.#contexts(queue).vectors.values()) {
      ctx.cookie = cookie;
      if (this.#domain.desc(ctx.imsIndex)) this.#domain.setCookie(ctx.imsIndex, cookie);
    }
  }

  /** The queue whose vector context holds the descriptor's IMS index (what a handler's dev_id gives the driver). */
  queueOfVirq(virq: number): QueueState | undefined {
    const desc = this.#system.irqDesc(virq)?.msiDesc;
    if (!desc || desc.device !== this.#host || desc.domainId !== MSI_SECONDARY_DOMAIN) return undefined;
    for (const c of this.#queues.values()) {
      if (c.vectors.get(desc.msiIndex - c.queue.base)?.imsIndex === desc.msiIndex) return c.queue;
    }
    return undefined;
  }

  /** The host's requester id, resolved now; the IRTE allocation resolves it per interrupt, as for any PCI interrupt. */
  requesterId(): number {
    return this.#system.resolveSourceId(this.#host).requesterId;
  }

  /** No sysfs of its own (and no queueSysfsDir): nothing per queue is exposed. */
  readonly sysfs = (): void => {};

  /** The driver's records: a context table per queue and a context per vector. */
  records(): StrategyRecord[] {
    let vectors = 0;
    for (const c of this.#queues.values()) vectors += c.vectors.size;
    return [
      { what: "driver's queue map", per: "fixed", count: 1 },
      { what: "vector-context table (one per queue)", per: "queue", count: this.#queues.size },
      { what: "per-vector context (IMS index, cookie)", per: "interrupt", count: vectors },
    ];
  }

  dispose(): void {
    this.#system.removeMsiDomain(this.#host, MSI_SECONDARY_DOMAIN);
  }
}
