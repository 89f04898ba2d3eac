import {
  Entry16Store,
  HELD,
  createSystem,
  type Capabilities,
  type DeliveryResult,
  type Device,
  type HardwareAdapter,
  type HardwareInstance,
  type HardwareOptions,
  type ImsStrategy,
  type IrqSystem,
  type Queue,
  type QueueOptions,
  type StrategyFactory,
} from "@imsim/core";

// The bench's stand-ins for @imsim/hw-idxd and @imsim/hw-ntb, used when a package cannot be loaded
// or with IMSIM_BENCH_LOCAL_HW=1: one PCI function, one device-specific IMS store of 16-byte
// entries, the strategy on top, behind core's HardwareInstance. They model only what the
// measurements need: where a queue's entries are and how the device (or the NTB peer) writes one.

/** IDXD IMS table size on current parts: GENCAP max_ims_mult (8) × 256 (drivers/dma/idxd/registers.h). */
export const LOCAL_IDXD_IMS_ENTRIES = 2048;
/** BDF of the first DSA on a Sapphire Rapids socket, as `lspci -D` prints it. */
export const LOCAL_IDXD_BDF = "0000:6a:01.0";
/**
 * NTB function and the two proxy requester ids its peer's writes carry: devfns 01.0 and 01.1 of the
 * function's own bus, as DMA aliases must be (pci_add_dma_alias); with two of them interrupt
 * remapping verifies the bus only (set_msi_sid).
 */
export const LOCAL_NTB_BDF = "0000:05:00.1";
export const LOCAL_NTB_ALIASES = [0x0508, 0x0509] as const;
/** Entries of the NTB's message store (the MSI-X table ntb_msi allocates from). */
export const LOCAL_NTB_ENTRIES = 2048;

interface LocalSpec {
  name: string;
  bdf: string;
  aliases: readonly number[];
  chipName: string;
  entries: number;
  pasid: boolean;
  peerTrigger: boolean;
}

class LocalInstance implements HardwareInstance {
  readonly supports: Capabilities;
  readonly system: IrqSystem;
  readonly strategy: ImsStrategy;
  readonly host: Device;
  readonly store: Entry16Store;
  readonly #wireId: number;
  readonly #peer: boolean;
  /** Physical entry of queue index 0, per queue id: raise() is O(1) and allocates nothing. */
  readonly #base = new Map<number, number>();

  constructor(spec: LocalSpec, factory: StrategyFactory, options: HardwareOptions) {
    this.system = options.system ?? createSystem({ cpus: options.cpus ?? 4, interruptRemapping: true, name: spec.name });
    // On another bus (options.bus), the function and its aliases move there together.
    const bus = options.bus ?? Number.parseInt(spec.bdf.slice(5, 7), 16);
    const bdf = `${spec.bdf.slice(0, 5)}${bus.toString(16).padStart(2, "0")}${spec.bdf.slice(7)}`;
    const aliases = spec.aliases.map((a) => (bus << 8) | (a & 0xff));
    this.host = this.system.addPciDevice({ bdf, dmaAliases: aliases });
    this.#wireId = aliases[0] ?? this.host.requesterId;
    this.#peer = spec.peerTrigger;
    this.store = new Entry16Store({ chipName: spec.chipName, size: spec.entries, requesterId: this.#wireId, pasid: spec.pasid });
    try {
      this.strategy = factory(this.system, this.host, this.store);
    } catch (e) {
      this.system.removeDevice(this.host);
      throw e;
    }
    // The stand-in's device checks no submitter's PASID (it has no descriptors to submit).
    this.supports = { pasid: spec.pasid, pasidCheck: false, interruptRemapping: true, dmaAliases: aliases.length > 0, peerTrigger: spec.peerTrigger, link: false };
  }

  createQueue(options: QueueOptions): Queue {
    const q = this.strategy.createQueue(options);
    this.#base.set(q.id, options.slice?.base ?? 0);
    return q;
  }
  destroyQueue(queue: Queue): void {
    // free_irq before the interrupts go, as a driver does.
    for (const irq of this.strategy.irqs(queue)) this.system.freeAllActions(irq.virq);
    this.strategy.destroyQueue(queue);
    this.#base.delete(queue.id);
  }
  raise(queue: Queue, index: number): DeliveryResult {
    const entry = this.#entry(queue, index);
    const store = this.store;
    if (!this.#peer) return this.system.raise(store, entry);
    // NTB: the peer writes the published (address, data) through the window; the write carries the alias.
    if (store.isMasked(entry)) {
      store.setPending(entry, true);
      return HELD;
    }
    return this.system.msiWrite(store.addressLo(entry), store.addressHi(entry), store.data(entry), this.#wireId, -1);
  }
  writeAs(queue: Queue, index: number, forged: { requesterId?: number; pasid?: number }): DeliveryResult {
    const entry = this.#entry(queue, index);
    const store = this.store;
    return this.system.msiWrite(store.addressLo(entry), store.addressHi(entry), store.data(entry), forged.requesterId ?? this.#wireId, forged.pasid ?? store.pasid(entry));
  }
  wireRequesterId(): number {
    return this.#wireId;
  }
  removeDevice(): void {
    if (!this.host.removed) this.system.removeDevice(this.host);
  }
  /** Store entry of queue index `index`: the queue's slice base plus the index, as both designs place them. */
  #entry(queue: Queue, index: number): number {
    return this.#base.get(queue.id)! + index;
  }
  teardown(): void {
    this.strategy.dispose();
    if (!this.host.removed) this.system.removeDevice(this.host);
  }
}

function localAdapter(spec: LocalSpec): HardwareAdapter {
  return {
    name: spec.name,
    create: (factory, options) => new LocalInstance(spec, factory, options ?? {}),
  };
}

/** Local IDXD stand-in: a DSA function with a 2048-entry IMS table whose entries carry a PASID. */
export const localIdxdAdapter = localAdapter({
  name: "idxd",
  bdf: LOCAL_IDXD_BDF,
  aliases: [],
  chipName: "PCI-IDXD",
  entries: LOCAL_IDXD_IMS_ENTRIES,
  pasid: true,
  peerTrigger: false,
});

/** Local NTB stand-in: the peer triggers by writing into the window; writes carry a proxy-id DMA alias. */
export const localNtbAdapter = localAdapter({
  name: "ntb",
  bdf: LOCAL_NTB_BDF,
  aliases: LOCAL_NTB_ALIASES,
  chipName: "NTB-MSIX",
  entries: LOCAL_NTB_ENTRIES,
  pasid: false,
  peerTrigger: true,
});
