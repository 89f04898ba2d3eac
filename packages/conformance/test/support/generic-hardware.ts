import { DEVICE_REFUSED, Entry16Store, ImsimError, createSystem, type Device, type Queue, type StrategyFactory } from "@imsim/core";
import type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "../../src/adapter.js";

export interface GenericHardwareOptions {
  name: string;
  interruptRemapping: boolean;
  /** IMS-like entries with a PASID (IDXD style) or MSI-X-like entries without. */
  pasid: boolean;
  /** Quirk DMA aliases of the PCI function (requester ids on its bus); writes then carry the first one. */
  dmaAliases?: readonly number[];
  /** Puts the function behind a conventional PCI bridge on bus 0x5f: its writes carry the bridge's id (a topology alias). */
  behindPciBridge?: boolean;
  /** The device checks the submitter's PASID against the entry's, as DSA does (raiseAs). */
  pasidCheck?: boolean;
  /** Simulated link: raise throws ENOLINK while down. */
  link?: boolean;
  storeSize?: number;
}

const BDF = "0000:6a:01.0";

/**
 * A small hardware model for the suite's own tests: one PCI function with an IMS-like Entry16Store,
 * raising store entries directly (system.raise). Not a real device: hw-idxd and hw-ntb are.
 */
export function genericHardware(o: GenericHardwareOptions): HardwareAdapter {
  return {
    name: o.name,
    create(strategyFactory: StrategyFactory, options: HardwareOptions = {}): HardwareInstance {
      const system = createSystem({ cpus: options.cpus ?? 4, interruptRemapping: o.interruptRemapping });
      const bridge = o.behindPciBridge ? system.addPciDevice({ bdf: "0000:5f:00.0", bridge: { kind: "pci-to-pci", secondaryBus: 0x6a } }) : undefined;
      const host: Device = system.addPciDevice({ bdf: BDF, ...(o.dmaAliases ? { dmaAliases: o.dmaAliases } : {}), ...(bridge ? { parent: bridge } : {}) });
      const wire = bridge?.requesterId ?? o.dmaAliases?.[0] ?? host.requesterId;
      const store = new Entry16Store({ chipName: "GEN-IMS", size: o.storeSize ?? 256, requesterId: wire, pasid: o.pasid });
      let strategy;
      try {
        strategy = strategyFactory(system, host, store);
      } catch (e) {
        system.removeDevice(bridge ?? host);
        throw e;
      }
      let up = true;
      const supports: Capabilities = {
        pasid: o.pasid,
        interruptRemapping: o.interruptRemapping,
        pasidCheck: o.pasidCheck ?? false,
        dmaAliases: (o.dmaAliases?.length ?? 0) > 0 || bridge !== undefined,
        peerTrigger: false,
        link: o.link ?? false,
      };
      const storeIndexOf = (queue: Queue, index: number): number => {
        const irq = strategy.irqs(queue).find((i) => i.index === index);
        if (!irq) throw new ImsimError("ENOENT", `queue ${queue.name} has no interrupt at index ${index}`);
        return irq.storeIndex;
      };
      const instance: HardwareInstance = {
        supports,
        system,
        strategy,
        createQueue: (options) => strategy.createQueue(options),
        destroyQueue: (queue) => strategy.destroyQueue(queue),
        raise(queue, index) {
          if (!up) throw new ImsimError("ENOLINK", `link of ${host.name} is down`);
          return system.raise(store, storeIndexOf(queue, index));
        },
        writeAs(queue, index, forged) {
          const i = storeIndexOf(queue, index);
          return system.msiWrite(store.addressLo(i), store.addressHi(i), store.data(i), forged.requesterId ?? wire, forged.pasid ?? store.pasid(i));
        },
        wireRequesterId: () => wire,
        removeDevice() {
          if (!host.removed) system.removeDevice(host);
        },
        teardown() {
          strategy.dispose();
          if (bridge && !bridge.removed) system.removeDevice(bridge);
          else if (!host.removed) system.removeDevice(host);
        },
      };
      if (o.pasidCheck) {
        instance.raiseAs = (queue, index, submitter) => {
          if (!up) throw new ImsimError("ENOLINK", `link of ${host.name} is down`);
          const i = storeIndexOf(queue, index);
          // DSA §5.4: an entry without PASID enable serves only work without a PASID, one with it only its PASID.
          if (store.pasid(i) !== submitter.pasid) return DEVICE_REFUSED;
          return system.raise(store, i);
        };
      }
      if (o.link) {
        instance.linkDown = () => {
          up = false;
        };
        instance.linkUp = () => {
          up = true;
        };
      }
      return instance;
    },
  };
}

/** IDXD-like: IMS entries with PASID, checked by the device; interrupt remapping on. */
export const genericIms = genericHardware({ name: "generic-ims", interruptRemapping: true, pasid: true, pasidCheck: true });
/** Behind a conventional PCI bridge (its writes carry the bridge's id), a link, no PASID. */
export const genericAliased = genericHardware({ name: "generic-aliased", interruptRemapping: true, pasid: false, behindPciBridge: true, link: true, storeSize: 64 });
/** Two proxy aliases on its own bus (verified by bus only), a link, no PASID. */
export const genericProxy = genericHardware({ name: "generic-proxy", interruptRemapping: true, pasid: false, dmaAliases: [0x6a10, 0x6a18], link: true, storeSize: 64 });
