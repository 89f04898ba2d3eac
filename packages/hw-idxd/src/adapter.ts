import {
  DEVICE_REFUSED,
  FAULTED,
  checkInt,
  createQueueIrqCache,
  ImsimError,
  createSystem,
  describe,
  type DeliveryResult,
  type HardwareAdapter,
  type HardwareInstance,
  type HardwareOptions,
  type ImsStrategy,
  type IrqSystem,
  type Queue,
  type QueueOptions,
  type StrategyFactory,
} from "@imsim/core";
import { D_INT_HANDLE, encodeDescriptor } from "./descriptor.js";
import { IdxdDevice, type IdxdCapabilities } from "./device.js";
import { IdxdDriver } from "./driver.js";

import { Memory } from "./memory.js";
import * as R from "./registers.js";

export interface IdxdAdapterOptions extends HardwareOptions {
  /**
   * Default true: an Intel IOMMU with interrupt remapping (it validates the source id; the PASID is
   * the device's to check). IMS needs it: with false, `create` throws EOPNOTSUPP.
   */
  interruptRemapping?: boolean;
  /** Default false: the remapping unit is a virtual IOMMU's ("vIR-"), which offers no IMS: `create` throws EOPNOTSUPP. */
  virtualIommu?: boolean;
  /** Device capabilities (counts, IMS size); Sapphire Rapids defaults. */
  capabilities?: Partial<IdxdCapabilities>;
}

/** PCI bus of the adapter's DSA unless `bus` says otherwise (0000:6a:01.0, as on a Sapphire Rapids host). */
const DEFAULT_BUS = 0x6a;

/** The shared WQ the adapter's queues submit to (type "user" in the default setup). */
const ADAPTER_WQ = 1;

/**
 * One live DSA with its driver: core's `HardwareInstance` (the contract the conformance suite and the
 * bench drive), plus the device and driver beneath.
 */
export interface IdxdHardwareInstance extends HardwareInstance {
  readonly device: IdxdDevice;
  readonly driver: IdxdDriver;
}

/** Core's `HardwareAdapter`, whose instances are `IdxdHardwareInstance`s and whose options are `IdxdAdapterOptions`. */
export type IdxdHardwareAdapter = HardwareAdapter<IdxdHardwareInstance, IdxdAdapterOptions>;

function createInstance(strategyFactory: StrategyFactory, options: IdxdAdapterOptions = {}): IdxdHardwareInstance {
  if (typeof strategyFactory !== "function") throw new ImsimError("EINVAL", `the IDXD adapter needs a strategy factory, got ${describe(strategyFactory)}`);
  const shared = options.system;
  if (shared !== undefined && (typeof shared !== "object" || shared === null || typeof shared.addPciDevice !== "function")) {
    throw new ImsimError("EINVAL", `system must be an IrqSystem (createSystem()), got ${describe(shared)}`);
  }
  // The DSA's own bus in the default set-up (bus 0x6a, device 1), or the bus the caller picks.
  const bus = options.bus === undefined ? DEFAULT_BUS : checkInt(options.bus, 0, 255, "PCI bus of the IDXD device");
  const system: IrqSystem =
    shared ??
    createSystem({
      cpus: options.cpus ?? 4,
      interruptRemapping: options.interruptRemapping ?? true,
      ...(options.virtualIommu === undefined ? {} : { virtualIommu: options.virtualIommu }),
    });
  const bdf = `0000:${bus.toString(16).padStart(2, "0")}:01.0`;
  const device = new IdxdDevice(system, { ...(options.capabilities ?? {}), bdf, memory: new Memory(1 << 24, "host memory") });
  let driver: IdxdDriver;
  let strategy: ImsStrategy;
  try {
    driver = IdxdDriver.probe(device, { strategy: strategyFactory });
    try {
      // EOPNOTSUPP without an IMS domain (no interrupt remapping, a virtual IOMMU): queues here are IMS clients.
      strategy = driver.strategy;
    } catch (e) {
      driver.remove();
      throw e;
    }
  } catch (e) {
    system.removeDevice(device.pci);
    throw e;
  }
  const ims = device.ims!;
  /**
   * The raise descriptor, encoded once: a no-op with RCI. Only its interrupt handle (the u16 at byte
   * 36) changes from call to call, written through a view made here, so raise() allocates nothing.
   */
  const desc = encodeDescriptor({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_RCI, intHandle: 0 });
  const descView = new DataView(desc.buffer, desc.byteOffset, R.DESC_SIZE);
  const portal = R.portalOffset(ADAPTER_WQ, false, true);

  const irqCache = createQueueIrqCache(strategy);

  /**
   * Store entry of queue index `index`. The caller has validated the handle (`strategy.pasidOf`
   * throws what `strategy.irqs` would); a cache miss takes the strategy's lookup, with its errors.
   */
  const storeIndexOf = (queue: Queue, index: number): number => {
    const storeIndex = irqCache.storeIndexOf(queue, index);
    if (storeIndex < 0) throw new ImsimError("ENOENT", `queue ${queue.name} has no interrupt at index ${describe(index)}`);
    return storeIndex;
  };

  /**
   * Runs a no-op with a completion interrupt on the queue's IMS entry `storeIndex`, submitted
   * (ENQCMD) under `pasid` (-1: ENQCMDS without one), and returns what became of the interrupt.
   * The device raises nothing when it refuses the handle (its PASID check, or a handle not
   * granted): `stats.interrupts` does not move, and the refusal is recorded where the device
   * records it, in SWERR (status 0x19, no completion record to take it).
   */
  const complete = (storeIndex: number, pasid: number): DeliveryResult | typeof DEVICE_REFUSED => {
    descView.setUint16(D_INT_HANDLE, driver.imsHandle(storeIndex), true);
    const raised = device.stats.interrupts;
    device.lastDelivery = -1;
    device.submit(portal, desc, pasid);
    device.run();
    if (device.stats.interrupts === raised) return DEVICE_REFUSED;
    return device.lastDelivery === -1 ? FAULTED : device.lastDelivery;
  };

  /** free_irq of every action on the queue's interrupts (the suite's included), then the queue: what an owner tearing down does. */
  const destroyQueue = (queue: Queue): void => {
    driver.destroyImsQueue(queue, { freeActions: true });
  };

  return {
    supports: { pasid: true, interruptRemapping: system.interruptRemapping, pasidCheck: true, dmaAliases: false, peerTrigger: false, link: false },
    system,
    strategy,
    device,
    driver,
    createQueue(queueOptions: QueueOptions): Queue {
      return driver.createImsQueue(ADAPTER_WQ, queueOptions);
    },
    destroyQueue,
    /**
     * A no-op descriptor with a completion interrupt on the queue's IMS entry, under the queue's PASID, run by the device.
     * The device checks the entry's PASID Enable and PASID against the submission (DSA spec §5.4, see
     * IdxdDevice #imsEntryAllows): the strategy writes the queue's PASID on its entries, so a queue with
     * a PASID submits under it and a PASID-less queue (pasidOf undefined) submits without one (ENQCMDS
     * without PASID, -1), matching an entry whose PASID Enable is 0.
     */
    raise(queue: Queue, index: number): DeliveryResult {
      const pasid = strategy.pasidOf(queue) ?? -1; // validates the handle, as strategy.irqs would
      const r = complete(storeIndexOf(queue, index), pasid);
      // The queue's own PASID matches its entries: a refusal here is a handle the device did not take.
      return r === DEVICE_REFUSED ? FAULTED : r;
    },
    /**
     * The same completion, submitted under `submitter.pasid` (-1: none): the device compares it with
     * the IMS entry's PASID Enable and PASID (DSA spec rev 3.0 §5.4, §9.2.28) and, when they differ,
     * completes the descriptor with 0x19 (invalid interrupt handle), records it in SWERR and raises
     * nothing: DEVICE_REFUSED. The IOMMU never sees the write.
     */
    raiseAs(queue: Queue, index: number, submitter: { pasid: number }): DeliveryResult | typeof DEVICE_REFUSED {
      strategy.pasidOf(queue); // validates the handle, as strategy.irqs would
      if (typeof submitter !== "object" || submitter === null) throw new ImsimError("EINVAL", `submitter must be an object with a pasid, got ${describe(submitter)}`);
      const pasid = submitter.pasid === -1 ? -1 : checkInt(submitter.pasid, 0, 0xfffff, "submitter PASID");
      return complete(storeIndexOf(queue, index), pasid);
    },
    writeAs(queue: Queue, index: number, forged: { requesterId?: number; pasid?: number }): DeliveryResult {
      strategy.pasidOf(queue); // validates the handle, as strategy.irqs would
      const i = storeIndexOf(queue, index);
      return system.msiWrite(ims.addressLo(i), ims.addressHi(i), ims.data(i), forged.requesterId ?? ims.requesterId, forged.pasid ?? ims.pasid(i));
    },
    wireRequesterId(queue: Queue): number {
      strategy.requesterId(queue); // validates the handle
      return ims.requesterId;
    },
    removeDevice(): void {
      system.removeDevice(device.pci);
    },
    /** Unbinds the driver, which frees every action still requested on its queues' interrupts first, then removes the device. */
    teardown(): void {
      driver.remove();
      if (!device.pci.removed) system.removeDevice(device.pci);
    },
  };
}

/**
 * Creates an adapter with fixed options (other counts, CPUs). Without interrupt remapping or with a
 * virtual IOMMU its `create` throws EOPNOTSUPP: those platforms offer no IMS domain.
 */
export function createIdxdAdapter(defaults: IdxdAdapterOptions = {}): IdxdHardwareAdapter {
  return {
    name: defaults.interruptRemapping === false ? "idxd (no IR)" : defaults.virtualIommu === true ? "idxd (vIOMMU)" : "idxd",
    create: (factory: StrategyFactory, options?: IdxdAdapterOptions) => createInstance(factory, { ...defaults, ...(options ?? {}) }),
  };
}

/**
 * The conformance suite's hardware adapter for IDXD: one DSA with its driver, queues as IMS clients
 * of a shared WQ, `raise` as a real completion interrupt (a no-op descriptor with RCI).
 */
export const idxdAdapter: IdxdHardwareAdapter = createIdxdAdapter();
/** The same object as `idxdAdapter` (each hardware package exports `<x>Adapter` and `<x>Hardware`). */
export const idxdHardware: IdxdHardwareAdapter = idxdAdapter;
