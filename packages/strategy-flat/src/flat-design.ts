import {
  ImsimError,
  MSI_SECONDARY_DOMAIN,
  msiMode,
  type Device,
  type IrqSystem,
  type MessageStore,
  type MsiDesc,
  type MsiDomain,
  type QueueState,
  type StrategyDesign,
  type StrategyRecord,
} from "@imsim/core";

/** One row of the per-queue table: which indices and which PASID belong to the queue. */
interface QueueRow {
  readonly queue: QueueState;
  readonly indices: Set<number>;
  pasid: number;
}

/**
 * Design B, "flat": the host device keeps every descriptor of its store in one IMS domain (its
 * secondary domain); a per-queue table records which indices and which PASID belong to which
 * queue. The PASID is looked up in that table whenever a message is written; the requester id is
 * the host's, resolved per allocation as for any PCI interrupt; the host's msi_irqs/ lists every
 * interrupt, so a per-queue attribute group (`ims_queues/<queue>/msi_irqs/`) is added to let users
 * find one queue's.
 */
export class FlatDesign implements StrategyDesign {
  readonly name = "flat";
  readonly #system: IrqSystem;
  readonly #host: Device;
  readonly #domain: MsiDomain;
  readonly #rows = new Map<number, QueueRow>();
  /** Row owning each store index: the table consulted at message-write time. */
  readonly #rowOfIndex: (QueueRow | undefined)[];

  constructor(system: IrqSystem, host: Device, store: MessageStore) {
    this.#system = system;
    this.#host = host;
    this.#rowOfIndex = new Array<QueueRow | undefined>(store.size);
    this.#domain = system.createMsiDomain(host, {
      domainId: MSI_SECONDARY_DOMAIN,
      store,
      kind: "ims",
      // Design B's choice: the host's msi_irqs/ lists every interrupt of the store, IMS included.
      devSysfs: true,
      pasidOf: (desc: MsiDesc) => this.#rowOfIndex[desc.msiIndex]?.pasid ?? -1,
    });
  }

  #row(queue: QueueState): QueueRow {
    const row = this.#rows.get(queue.id);
    if (!row) throw new ImsimError("ENOENT", `queue ${queue.name} has no row in the IMS queue table of ${this.#host.name}`);
    return row;
  }

  attachQueue(queue: QueueState): void {
    this.#rows.set(queue.id, { queue, indices: new Set(), pasid: queue.pasid ?? -1 });
  }

  detachQueue(queue: QueueState): void {
    this.#rows.delete(queue.id);
  }

  domainOf(): MsiDomain {
    return this.#domain;
  }

  /** The host's domain covers the whole store: queue index i is host index base + i. */
  msiIndexOf(queue: QueueState, index: number): number {
    return queue.base + index;
  }

  owns(queue: QueueState, index: number): boolean {
    return this.#row(queue).indices.has(queue.base + index);
  }

  indicesOf(queue: QueueState): number[] {
    const out: number[] = [];
    for (const at of this.#row(queue).indices) out.push(at - queue.base);
    return out.sort((a, b) => a - b);
  }

  claimIndex(queue: QueueState, index: number): void {
    const at = queue.base + index;
    const row = this.#row(queue);
    const other = this.#rowOfIndex[at];
    if (other !== undefined) throw new ImsimError("EBUSY", `IMS entry ${at} of ${this.#host.name} belongs to queue ${other.queue.name}`);
    this.#rowOfIndex[at] = row;
    row.indices.add(at);
  }

  releaseIndex(queue: QueueState, index: number): void {
    const at = queue.base + index;
    const row = this.#row(queue);
    if (this.#rowOfIndex[at] === row) this.#rowOfIndex[at] = undefined;
    row.indices.delete(at);
  }

  queueOfVirq(virq: number): QueueState | undefined {
    const desc = this.#system.irqDesc(virq)?.msiDesc;
    if (!desc || desc.device !== this.#host || desc.domainId !== MSI_SECONDARY_DOMAIN) return undefined;
    return this.#rowOfIndex[desc.msiIndex]?.queue;
  }

  /** The queue id: the PASID is looked up in the queue table at each write, not carried in the descriptor. */
  cookieOf(queue: QueueState): number {
    return queue.id;
  }

  recordPasid(queue: QueueState, pasid: number | undefined): void {
    this.#row(queue).pasid = pasid ?? -1;
  }

  /** The host's requester id, resolved now (as Linux does per allocation). */
  requesterId(): number {
    return this.#system.resolveSourceId(this.#host).requesterId;
  }

  queueSysfsDir(queue: QueueState): string {
    return `${this.#host.sysfsPath}/ims_queues/${queue.name}/msi_irqs`;
  }

  /** The extra mechanism: one attribute group per queue listing its virqs and its PASID. */
  readonly sysfs = (emit: (path: string, content: string) => void): void => {
    if (this.#host.removed) return;
    // Same content as the host's msi_irqs/ files: the device's mode, as msi_mode_show prints it.
    const mode = msiMode(this.#system, this.#host);
    for (const row of this.#rows.values()) {
      const dir = `${this.#host.sysfsPath}/ims_queues/${row.queue.name}`;
      emit(`${dir}/pasid`, row.pasid < 0 ? "none\n" : `${row.pasid}\n`);
      for (const index of [...row.indices].sort((a, b) => a - b)) {
        const virq = this.#domain.getVirq(index);
        if (virq) emit(`${dir}/msi_irqs/${virq}`, mode);
      }
    }
  };

  dispose(): void {
    this.#system.removeMsiDomain(this.#host, MSI_SECONDARY_DOMAIN);
  }

  /** Nodes the per-queue attribute groups add to sysfs (directories and files). */
  extraSysfsNodes(): number {
    let n = this.#rows.size > 0 ? 1 : 0;
    for (const row of this.#rows.values()) n += 3 + row.indices.size;
    return n;
  }

  /** What design B keeps beside the host's domain: the queue table and its index sets. */
  records(): StrategyRecord[] {
    let interrupts = 0;
    for (const row of this.#rows.values()) interrupts += row.indices.size;
    return [
      { what: "host IMS domain's descriptor table and the index → queue table (one slot per store entry each)", per: "fixed", count: 2 },
      { what: "queue table map", per: "fixed", count: 1 },
      { what: "queue row (row, index set: two objects per queue)", per: "queue", count: this.#rows.size * 2 },
      { what: "index-set entry + index-table slot (two records per interrupt)", per: "interrupt", count: interrupts * 2 },
    ];
  }
}
