import { Entry16Store, ImsimError, createSystem, type Device, type Queue, type StrategyFactory } from "@imsim/core";
import type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "../../src/adapter.js";

export interface GenericHardwareOptions {
  name: string;
  interruptRemapping: boolean;
  /** IMS-like entries with a PASID (IDXD style) or MSI-X-like entries without. */
  pasid: boolean;
  /** DMA aliases of the PCI function (requester ids); writes then carry the first one. */
  dmaAliases?: readonly number[];
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
      const host: Device = system.addPciDevice(o.dmaAliases ? { bdf: BDF, dmaAliases: o.dmaAliases } : { bdf: BDF });
      const wire = o.dmaAliases?.[0] ?? host.requesterId;
      const store = new Entry16Store({ chipName: "GEN-IMS", size: o.storeSize ?? 256, requesterId: wire, pasid: o.pasid });
      const strategy = strategyFactory(system, host, store);
      let up = true;
      const supports: Capabilities = {
        pasid: o.pasid,
        interruptRemapping: o.interruptRemapping,
        dmaAliases: (o.dmaAliases?.length ?? 0) > 0,
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
          if (!host.removed) system.removeDevice(host);
        },
      };
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

/** IDXD-like: IMS entries with PASID, interrupt remapping on. */
export const genericIms = genericHardware({ name: "generic-ims", interruptRemapping: true, pasid: true });
/** NTB-like: no PASID, no remapping, a DMA alias on another bus, a link. */
export const genericAliased = genericHardware({ name: "generic-aliased", interruptRemapping: false, pasid: false, dmaAliases: [0x8100], link: true, storeSize: 64 });
/** IR with two proxy aliases on one bus (verified by bus only), a link, no PASID. */
export const genericProxy = genericHardware({ name: "generic-proxy", interruptRemapping: true, pasid: false, dmaAliases: [0x8100, 0x8108], link: true, storeSize: 64 });
