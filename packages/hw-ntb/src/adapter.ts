import { ImsimError, createQueueIrqCache, type DeliveryResult, type Queue, type QueueOptions, type StrategyFactory } from "@imsim/core";
import type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "@imsim/conformance";

import { createNtbPair } from "./ntb-pair.js";
import { NtbTransport } from "./transport.js";

/** Size of host A's MSI-X table in the adapter (and the scratchpads to publish all of it). */
const ADAPTER_VECTORS = 64;
const ADAPTER_SPADS = 256;

/**
 * The NTB model as the conformance suite drives it. The system under test is host A: its NTB
 * function's MSI-X table is the store, the strategy allocates there, and `raise` is host B writing
 * the published descriptor into its window (a peer trigger), so every delivery crosses the bridge
 * and, with interrupt remapping, is validated against the proxy requester id. Queues created by the
 * suite go straight to the strategy; their descriptors are published on demand, before the first
 * trigger (and re-published by the MSI-X table's write hook when a message changes).
 */
export const ntbAdapter: HardwareAdapter = {
  name: "ntb",
  create(strategyFactory: StrategyFactory, options: HardwareOptions = {}): HardwareInstance {
    const cpus = options.cpus ?? 4;
    const pair = createNtbPair({
      a: { cpus, interruptRemapping: true, msixVectors: ADAPTER_VECTORS },
      b: { cpus, interruptRemapping: true, msixVectors: ADAPTER_VECTORS },
      spads: ADAPTER_SPADS,
    });
    const a = new NtbTransport(pair.a, strategyFactory);
    const b = new NtbTransport(pair.b, strategyFactory);
    const strategy = a.strategy;
    const supports: Capabilities = { pasid: false, interruptRemapping: true, dmaAliases: true, peerTrigger: true, link: true };

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
  },
};
