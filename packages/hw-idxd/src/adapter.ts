import {
  FAULTED,
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
  /** Default true: an Intel IOMMU with interrupt remapping, which validates source id and PASID. */
  interruptRemapping?: boolean;
  /** Device capabilities (counts, IMS size); Sapphire Rapids defaults. */
  capabilities?: Partial<IdxdCapabilities>;
}

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
  const system: IrqSystem = createSystem({ cpus: options.cpus ?? 4, interruptRemapping: options.interruptRemapping ?? true });
  const device = new IdxdDevice(system, { ...(options.capabilities ?? {}), memory: new Memory(1 << 24, "host memory") });
  let driver: IdxdDriver;
  try {
    driver = IdxdDriver.probe(device, { strategy: strategyFactory });
  } catch (e) {
    system.removeDevice(device.pci);
    throw e;
  }
  const strategy: ImsStrategy = driver.strategy;
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

  return {
    supports: { pasid: true, interruptRemapping: system.interruptRemapping, dmaAliases: false, peerTrigger: false, link: false },
    system,
    strategy,
    device,
    driver,
    createQueue(queueOptions: QueueOptions): Queue {
      return driver.createImsQueue(ADAPTER_WQ, queueOptions);
    },
    destroyQueue(queue: Queue): void {
      driver.destroyImsQueue(queue);
    },
    /**
     * A no-op descriptor with a completion interrupt on the queue's IMS entry, under the queue's PASID, run by the device.
     * The device checks the entry's PASID Enable and PASID against the submission (DSA spec §5.4, see
     * IdxdDevice #imsEntryAllows): the strategy writes the queue's PASID on its entries, so a queue with
     * a PASID submits under it and a PASID-less queue (pasidOf undefined) submits without one (ENQCMDS
     * without PASID, -1), matching an entry whose PASID Enable is 0.
     */
    raise(queue: Queue, index: number): DeliveryResult {
      const pasid = strategy.pasidOf(queue) ?? -1; // validates the handle, as strategy.irqs would
      const storeIndex = storeIndexOf(queue, index);
      descView.setUint16(D_INT_HANDLE, driver.imsHandle(storeIndex), true);
      device.lastDelivery = -1;
      device.submit(portal, desc, pasid);
      device.run();
      return device.lastDelivery === -1 ? FAULTED : device.lastDelivery;
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
    teardown(): void {
      driver.remove();
      if (!device.pci.removed) system.removeDevice(device.pci);
    },
  };
}

/** Creates an adapter with fixed options (IR off, other counts). */
export function createIdxdAdapter(defaults: IdxdAdapterOptions = {}): IdxdHardwareAdapter {
  return {
    name: defaults.interruptRemapping === false ? "idxd (no IR)" : "idxd",
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
