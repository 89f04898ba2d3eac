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
  /** Default true: both hosts run with interrupt remapping, which checks the proxy id as a DMA alias. */
  interruptRemapping?: boolean;
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
  if (o.msixVectors !== undefined) checkInt(o.msixVectors, 1, MSIX_MAX, `msixVectors of ${what}`);
  return o;
}

/**
 * The NTB model as the conformance suite drives it. The system under test is host A: its NTB
 * function's MSI-X table is the store, the strategy allocates there, and `raise` is host B writing
 * the published descriptor into its window (a peer trigger), so every delivery crosses the bridge
 * and, with interrupt remapping, is validated against the proxy requester id. Queues created by the
 * suite go straight to the strategy; their descriptors are published on demand, before the first
 * trigger (and re-published by the MSI-X table's write hook when a message changes).
 */
function createInstance(strategyFactory: StrategyFactory, options: NtbAdapterOptions): HardwareInstance {
  if (typeof strategyFactory !== "function") throw new ImsimError("EINVAL", `the NTB adapter needs a strategy factory, got ${describe(strategyFactory)}`);
  const cpus = options.cpus ?? 4;
  const interruptRemapping = options.interruptRemapping ?? true;
  const vectors = options.msixVectors ?? ADAPTER_VECTORS;
  const pair = createNtbPair({
    a: { cpus, interruptRemapping, msixVectors: vectors },
    b: { cpus, interruptRemapping, msixVectors: Math.min(vectors, ADAPTER_VECTORS) },
    spads: options.spads ?? ADAPTER_SPADS,
  });
  const a = new NtbTransport(pair.a, strategyFactory);
  const b = new NtbTransport(pair.b, strategyFactory);
  const strategy = a.strategy;
  const supports: Capabilities = { pasid: false, interruptRemapping, dmaAliases: true, peerTrigger: true, link: true };

  const irqCache = createQueueIrqCache(strategy);

  const entryOf = (queue: Queue, index: number): number => {
    strategy.pasidOf(queue); // validates the handle, throwing what strategy.irqs would
    const storeIndex = irqCache.storeIndexOf(queue, index);
    if (storeIndex < 0) throw new ImsimError("ENOENT", `queue ${queue.name} has no interrupt at index ${String(index)}`);
    if (!pair.isLinkUp) throw new ImsimError("ENOLINK", `NTB link is down: host B cannot trigger ${queue.name}[${index}]`);
    if (!a.isPublished(storeIndex)) a.publish(storeIndex);
    return storeIndex;
  };

  return {
    supports,
    system: pair.a.system,
    strategy,
    createQueue: (o: QueueOptions) => strategy.createQueue(o),
    destroyQueue: (q: Queue) => strategy.destroyQueue(q),
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
      if (!pair.a.removed) pair.a.system.removeDevice(pair.a.pciFunction);
    },
    teardown: () => {
      a.dispose();
      b.dispose();
      pair.dispose();
    },
  };
}

/**
 * Creates an NTB adapter with fixed options (IR off, another table size); per-call options of
 * `create` override them. Throws EINVAL for options of the wrong type.
 */
export function createNtbAdapter(defaults: NtbAdapterOptions = {}): NtbHardwareAdapter {
  const fixed = checkOptions(defaults, "NTB adapter options");
  const parts = [
    ...(fixed.interruptRemapping === false ? ["no IR"] : []),
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
