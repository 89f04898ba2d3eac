import {
  ImsimError,
  checkInt,
  createQueueIrqCache,
  describe,
  type Capabilities,
  type DeliveryResult,
  type HardwareAdapter,
  type HardwareInstance,
  type HardwareOptions,
  type Queue,
  type QueueIrq,
  type QueueOptions,
  type StrategyFactory,
} from "@imsim/core";

import { createNtbPair } from "./ntb-pair.js";
import { NtbTransport } from "./transport.js";

/** Default size of host A's MSI-X table in the adapter (and the cap on host B's). */
const ADAPTER_VECTORS = 64;
/** Default scratchpads per side: two per published descriptor plus the header, for up to 127 entries. */
const ADAPTER_SPADS = 256;
/** Most entries a PCI MSI-X table has (Table Size is 11 bits; PCIe base spec §7.7.2.2). */
const MSIX_MAX = 2048;

export interface NtbAdapterOptions extends HardwareOptions {
  /**
   * Default true: both hosts run with interrupt remapping, which checks the proxy id as a DMA alias.
   * The IMS strategies need it (PCI/IMS only under a physical remapping unit, Linux v6.9): with
   * false, or with `virtualIommu`, their `create` or first `createQueue` throws EOPNOTSUPP.
   */
  interruptRemapping?: boolean;
  /** Default false: the hosts' remapping units are virtual (a guest's vIOMMU), which offer no PCI/IMS. */
  virtualIommu?: boolean;
  /**
   * Entries of host A's MSI-X table, the store under test; default 64, at most 2048. Host B's table,
   * which only triggers, has min(this, 64).
   */
  msixVectors?: number;
  /** Scratchpads per side (`NtbPairOptions.spads`), default 256: enough for two per entry plus a header. */
  spads?: number;
}

/** Core's `HardwareAdapter` with the NTB adapter's options. */
export type NtbHardwareAdapter = HardwareAdapter<HardwareInstance, NtbAdapterOptions>;

function checkOptions(options: unknown, what: string): NtbAdapterOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `${what} must be an object, got ${describe(options)}`);
  const o = options as NtbAdapterOptions;
  if (o.interruptRemapping !== undefined && typeof o.interruptRemapping !== "boolean") {
    throw new ImsimError("EINVAL", `interruptRemapping of ${what} must be a boolean, got ${describe(o.interruptRemapping)}`);
  }
  if (o.virtualIommu !== undefined && typeof o.virtualIommu !== "boolean") {
    throw new ImsimError("EINVAL", `virtualIommu of ${what} must be a boolean, got ${describe(o.virtualIommu)}`);
  }
  if (o.msixVectors !== undefined) checkInt(o.msixVectors, 1, MSIX_MAX, `msixVectors of ${what}`);
  return o;
}

/**
 * The NTB model as the conformance suite drives it. The system under test is host A: its NTB
 * function's MSI-X table is the store, the strategy allocates there, and `raise` is host B writing
 * the published descriptor into its window (a peer trigger), so every delivery crosses the bridge
 * and, with interrupt remapping, is validated against the proxy requester id. Queues created by the
 * suite go straight to the strategy; their descriptors are published on demand, before the first
 * trigger, from the message the entry holds once its interrupt is requested (an IMS entry is
 * written at request_irq), and withdrawn when its last action is freed (deactivation zeroes the
 * entry; the MSI-X table's write hook sees it). destroyQueue, removeDevice and teardown withdraw
 * the descriptors and free every action of the queues' interrupts first, as a driver does.
 */
function createInstance(strategyFactory: StrategyFactory, options: NtbAdapterOptions): HardwareInstance {
  if (typeof strategyFactory !== "function") throw new ImsimError("EINVAL", `the NTB adapter needs a strategy factory, got ${describe(strategyFactory)}`);
  const cpus = options.cpus ?? 4;
  const interruptRemapping = options.interruptRemapping ?? true;
  const virtualIommu = options.virtualIommu ?? false;
  const vectors = options.msixVectors ?? ADAPTER_VECTORS;
  const shared = options.system;
  const bus = options.bus === undefined ? undefined : checkInt(options.bus, 0, 255, "PCI bus of the NTB function");
  const placement = {
    ...(shared === undefined ? {} : { system: shared }),
    ...(bus === undefined ? {} : { bdf: `0000:${bus.toString(16).padStart(2, "0")}:00.1` }),
  };
  const pair = createNtbPair({
    a: { cpus, interruptRemapping, virtualIommu, msixVectors: vectors, ...placement },
    b: { cpus, interruptRemapping, virtualIommu, msixVectors: Math.min(vectors, ADAPTER_VECTORS) },
    spads: options.spads ?? ADAPTER_SPADS,
  });
  // A strategy that cannot live on these hosts (an IMS one without a physical remapping unit:
  // EOPNOTSUPP) leaves nothing behind.
  let a: NtbTransport | undefined;
  let b: NtbTransport;
  try {
    a = new NtbTransport(pair.a, strategyFactory);
    b = new NtbTransport(pair.b, strategyFactory);
  } catch (e) {
    a?.dispose();
    pair.dispose();
    throw e;
  }
  const ta = a;
  const strategy = ta.strategy;
  const system = pair.a.system;
  const supports: Capabilities = { pasid: false, pasidCheck: false, interruptRemapping: system.interruptRemapping, dmaAliases: true, peerTrigger: true, link: true };

  const irqCache = createQueueIrqCache(strategy);

  const entryOf = (queue: Queue, index: number): number => {
    strategy.pasidOf(queue); // validates the handle, throwing what strategy.irqs would
    const storeIndex = irqCache.storeIndexOf(queue, index);
    if (storeIndex < 0) throw new ImsimError("ENOENT", `queue ${queue.name} has no interrupt at index ${String(index)}`);
    if (!pair.isLinkUp) throw new ImsimError("ENOLINK", `NTB link is down: host B cannot trigger ${queue.name}[${index}]`);
    if (!ta.isPublished(storeIndex)) ta.publish(storeIndex);
    return storeIndex;
  };

  /** EBUSY, before anything changes, when one of `irqs` is running its handler (free_irq would wait for itself). */
  const checkNotRunning = (queue: Queue, irqs: readonly QueueIrq[]): void => {
    for (const irq of irqs) {
      if (system.irqDesc(irq.virq)?.inProgress === true) {
        throw new ImsimError("EBUSY", `queue ${queue.name} cannot be released from the handler of its virq ${irq.virq} (free_irq would wait for itself)`);
      }
    }
  };
  /**
   * What a driver does before its queue's interrupts go (ntbm_msi_free_irq): withdraw each
   * descriptor from the peer, then free_irq every action (the suite's too), so that the strategy
   * frees interrupts without actions.
   */
  const releaseActions = (irqs: readonly QueueIrq[]): void => {
    for (const irq of irqs) {
      ta.unpublish(irq.storeIndex);
      system.freeAllActions(irq.virq);
    }
  };
  /** releaseActions for every queue of the strategy, all or nothing. */
  const releaseAll = (): void => {
    if (pair.a.removed || ta.disposed) return;
    const all = strategy.queues().map((q) => [q, strategy.irqs(q)] as const);
    for (const [q, irqs] of all) checkNotRunning(q, irqs);
    for (const [, irqs] of all) releaseActions(irqs);
  };

  return {
    supports,
    system,
    strategy,
    createQueue: (o: QueueOptions) => strategy.createQueue(o),
    destroyQueue: (q: Queue) => {
      const irqs = strategy.irqs(q); // throws for a handle the strategy does not know, as destroyQueue would
      checkNotRunning(q, irqs);
      releaseActions(irqs);
      strategy.destroyQueue(q);
    },
    raise(queue, index) {
      return b.triggerSlot(entryOf(queue, index)) as DeliveryResult;
    },
    writeAs(queue, index, forged) {
      const slot = entryOf(queue, index);
      const d = b.peerDescriptor(slot);
      if (!d) throw new ImsimError("ENOENT", `host B has no descriptor for ${queue.name}[${index}]`);
      return pair.a.inboundWrite(b.msi.widx, d.addrOffset, d.data, forged.requesterId ?? pair.a.wireRequesterId, forged.pasid ?? -1) as DeliveryResult;
    },
    wireRequesterId: () => pair.a.wireRequesterId,
    linkDown: () => pair.disconnect(),
    linkUp: () => pair.connect(),
    removeDevice: () => {
      if (pair.a.removed) return;
      // The driver's remove() frees its irqs before the function goes (devres would do it after).
      releaseAll();
      system.removeDevice(pair.a.pciFunction);
    },
    teardown: () => {
      releaseAll();
      ta.dispose();
      b.dispose();
      pair.dispose();
    },
  };
}

/**
 * Creates an NTB adapter with fixed options (IR off, a virtual IOMMU, another table size); per-call
 * options of `create` override them. Throws EINVAL for options of the wrong type.
 */
export function createNtbAdapter(defaults: NtbAdapterOptions = {}): NtbHardwareAdapter {
  const fixed = checkOptions(defaults, "NTB adapter options");
  const parts = [
    ...(fixed.interruptRemapping === false ? ["no IR"] : []),
    ...(fixed.virtualIommu === true ? ["vIOMMU"] : []),
    ...(fixed.msixVectors !== undefined && fixed.msixVectors !== ADAPTER_VECTORS ? [`${fixed.msixVectors}-entry table`] : []),
  ];
  return {
    name: parts.length === 0 ? "ntb" : `ntb (${parts.join(", ")})`,
    create: (factory: StrategyFactory, options?: NtbAdapterOptions) => createInstance(factory, { ...fixed, ...checkOptions(options, "NTB instance options") }),
  };
}

/**
 * The conformance suite's hardware adapter for NTB: host A's 64-entry MSI-X table is the store, IR
 * on, proxy-id aliases, `raise` = host B's write into its window (descriptors published on demand
 * before the first trigger).
 */
export const ntbAdapter: NtbHardwareAdapter = createNtbAdapter();
/** The same object as `ntbAdapter` (each hardware package exports `<x>Adapter` and `<x>Hardware`). */
export const ntbHardware: NtbHardwareAdapter = ntbAdapter;
