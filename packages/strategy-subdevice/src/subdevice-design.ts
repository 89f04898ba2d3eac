import {
  ImsimError,
  MSI_DEFAULT_DOMAIN,
  StoreSlice,
  imsTemplate,
  type Device,
  type IrqSystem,
  type MessageStore,
  type MsiDomain,
  type QueueState,
  type SourceId,
  type StrategyDesign,
  type StrategyRecord,
} from "@imsim/core";

/** Design A's record of one queue: the child device and what was resolved when it was made. */
interface Subdevice {
  readonly device: Device;
  readonly domain: MsiDomain;
  readonly slice: StoreSlice;
  /** Requester-id check, resolved once through the parent chain when the child was created. */
  readonly source: SourceId;
  readonly queue: QueueState;
}

const PASID_PROPERTY = "pasid";

/**
 * The chip name stem of a child's domain: the device-specific store's own (IDXD's "PCI-IDXD"), but
 * never "PCI-MSIX" for a slice of a PCI function's MSI-X table: that chip name only ever carries
 * the function's PCI address (pci_msix_template, drivers/pci/msi/irqdomain.c), and the child is no
 * PCI function. Its domain is named "<prefix>MSIX-<child>" instead.
 */
const MSIX_SLICE_CHIP = "MSIX";

function childChipName(store: MessageStore): string {
  return store.msixTable === true ? MSIX_SLICE_CHIP : store.chipName;
}

/**
 * Design A, "subdevices": every queue is a child device (bus `subdevice`) of the host with its own
 * MSI data and its own IMS domain over its slice of the host's store. Its interrupts show up in
 * the child's msi_irqs/ with nothing added; its PASID is a property of the child; the requester id
 * is resolved once, through the parent chain, when the child is created.
 */
export class SubdeviceDesign implements StrategyDesign {
  readonly name = "subdevice";
  readonly #system: IrqSystem;
  readonly #host: Device;
  readonly #store: MessageStore;
  readonly #byQueue = new Map<number, Subdevice>();
  readonly #byDevice = new Map<Device, Subdevice>();

  constructor(system: IrqSystem, host: Device, store: MessageStore) {
    this.#system = system;
    this.#host = host;
    this.#store = store;
  }

  #sub(queue: QueueState): Subdevice {
    const sub = this.#byQueue.get(queue.id);
    if (!sub) throw new ImsimError("ENOENT", `queue ${queue.name} has no subdevice`);
    return sub;
  }

  attachQueue(queue: QueueState): void {
    const system = this.#system;
    const device = system.addDevice({ name: queue.name, bus: "subdevice", parent: this.#host });
    try {
      device.properties.set(PASID_PROPERTY, queue.pasid ?? -1);
      const source = system.resolveSourceId(device);
      const slice = new StoreSlice(this.#store, queue.base, queue.count);
      const domain = system.createMsiDomain(device, {
        domainId: MSI_DEFAULT_DOMAIN,
        store: slice,
        kind: "ims",
        // The child's own msi_irqs/ is design A's answer to the sysfs concern.
        template: imsTemplate(childChipName(this.#store), { devSysfs: true }),
        sourceId: source,
        pasidOf: () => device.properties.get(PASID_PROPERTY) as number,
      });
      const sub: Subdevice = { device, domain, slice, source, queue };
      this.#byQueue.set(queue.id, sub);
      this.#byDevice.set(device, sub);
    } catch (e) {
      system.removeDevice(device);
      throw e;
    }
  }

  detachQueue(queue: QueueState): void {
    const sub = this.#sub(queue);
    this.#byQueue.delete(queue.id);
    this.#byDevice.delete(sub.device);
    if (!sub.device.removed) this.#system.removeDevice(sub.device);
  }

  domainOf(queue: QueueState): MsiDomain {
    return this.#sub(queue).domain;
  }

  /** The child's domain covers exactly the queue's slice: queue index = msi_index. */
  msiIndexOf(_queue: QueueState, index: number): number {
    return index;
  }

  owns(queue: QueueState, index: number): boolean {
    return this.#sub(queue).domain.desc(index) !== undefined;
  }

  indicesOf(queue: QueueState): number[] {
    const out: number[] = [];
    for (const desc of this.#sub(queue).domain.descs()) out.push(desc.msiIndex);
    return out;
  }

  /** The queue id: the PASID lives on the child device, so the cookie has nothing to carry. */
  cookieOf(queue: QueueState): number {
    return queue.id;
  }

  // The child's domain is the queue's: nothing to record per index.
  claimIndex(): void {}
  releaseIndex(): void {}

  queueOfVirq(virq: number): QueueState | undefined {
    const desc = this.#system.irqDesc(virq)?.msiDesc;
    return desc ? this.#byDevice.get(desc.device)?.queue : undefined;
  }

  recordPasid(queue: QueueState, pasid: number | undefined): void {
    this.#sub(queue).device.properties.set(PASID_PROPERTY, pasid ?? -1);
  }

  requesterId(queue: QueueState): number {
    return this.#sub(queue).source.requesterId;
  }

  queueSysfsDir(queue: QueueState): string {
    return `${this.#sub(queue).device.sysfsPath}/msi_irqs`;
  }

  /** Nothing extra: the child device's own msi_irqs/ is the queue's view. */
  readonly sysfs = (): void => {};

  /**
   * What design A keeps: per queue, the child device and what hangs off it. Nothing per interrupt:
   * the descriptors are core's, in the child's own domain.
   */
  records(): StrategyRecord[] {
    const queues = this.#byQueue.size;
    return [
      { what: "queue index maps (by queue id, by child device)", per: "fixed", count: 2 },
      { what: "subdevice (record, child device, its PASID property, IMS domain, store slice, resolved source id: six objects per queue)", per: "queue", count: queues * 6 },
    ];
  }
}
