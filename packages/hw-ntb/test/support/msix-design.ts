import {
  ImsimError,
  MSI_DEFAULT_DOMAIN,
  createQueueStrategy,
  type Device,
  type IrqSystem,
  type MessageStore,
  type MsiDomain,
  type QueueState,
  type StrategyDesign,
  type StrategyFactory,
} from "@imsim/core";

/**
 * Not a design of the IMS debate: what Linux's ntb_msi really runs on. The NTB hardware driver
 * allocates the function's PCI MSI-X vectors (pci_alloc_irq_vectors), and drivers/ntb/msi.c walks
 * the descriptors of `ntb->pdev`. Here the function's PCI/MSI-X domain (MSI_DEFAULT_DOMAIN) covers
 * the whole table and queue pairs are slices of it, owned through one index → queue table. PCI
 * MSI-X needs no interrupt remapping and writes its message at allocation (MSI_FLAG_ACTIVATE_EARLY),
 * so the tests use it for the hosts without IR, where an IMS design is refused (EOPNOTSUPP).
 * Test-only: no sysfs of its own, no records, no PASID (MSI-X entries carry none).
 */
class MsixDesign implements StrategyDesign {
  readonly name = "msix";
  readonly #system: IrqSystem;
  readonly #host: Device;
  readonly #domain: MsiDomain;
  readonly #owner: (QueueState | undefined)[];
  readonly #indices = new Map<number, Set<number>>();

  constructor(system: IrqSystem, host: Device, store: MessageStore) {
    this.#system = system;
    this.#host = host;
    this.#owner = new Array<QueueState | undefined>(store.size);
    this.#domain = system.createMsiDomain(host, { domainId: MSI_DEFAULT_DOMAIN, store, kind: "msix" });
  }

  attachQueue(queue: QueueState): void {
    this.#indices.set(queue.id, new Set());
  }
  detachQueue(queue: QueueState): void {
    this.#indices.delete(queue.id);
  }
  domainOf(): MsiDomain {
    return this.#domain;
  }
  msiIndexOf(queue: QueueState, index: number): number {
    return queue.base + index;
  }
  queueOfVirq(virq: number): QueueState | undefined {
    const desc = this.#system.irqDesc(virq)?.msiDesc;
    if (!desc || desc.device !== this.#host || desc.domainId !== MSI_DEFAULT_DOMAIN) return undefined;
    return this.#owner[desc.msiIndex];
  }
  owns(queue: QueueState, index: number): boolean {
    return this.#owner[queue.base + index] === queue;
  }
  indicesOf(queue: QueueState): number[] {
    return [...(this.#indices.get(queue.id) ?? [])].map((at) => at - queue.base).sort((a, b) => a - b);
  }
  claimIndex(queue: QueueState, index: number): void {
    const at = queue.base + index;
    const other = this.#owner[at];
    if (other !== undefined) throw new ImsimError("EBUSY", `MSI-X entry ${at} of ${this.#host.name} belongs to queue ${other.name}`);
    this.#owner[at] = queue;
    this.#indices.get(queue.id)!.add(at);
  }
  releaseIndex(queue: QueueState, index: number): void {
    const at = queue.base + index;
    if (this.#owner[at] === queue) this.#owner[at] = undefined;
    this.#indices.get(queue.id)?.delete(at);
  }
  cookieOf(queue: QueueState): number {
    return queue.id;
  }
  recordPasid(): void {}
  requesterId(): number {
    return this.#system.resolveSourceId(this.#host).requesterId;
  }
  queueSysfsDir(): string {
    return `${this.#host.sysfsPath}/msi_irqs`;
  }
  readonly sysfs = (): void => {};
  records(): [] {
    return [];
  }
  dispose(): void {
    this.#system.removeMsiDomain(this.#host, MSI_DEFAULT_DOMAIN);
  }
}

/** The NTB function's own PCI/MSI-X vectors as a strategy: `new NtbTransport(pair.a, msix)` on a host without IR. */
export const msix: StrategyFactory = (system, host, store, options) => createQueueStrategy(system, host, store, (s, h, st) => new MsixDesign(s, h, st), options);
