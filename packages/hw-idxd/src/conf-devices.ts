import { type Device, type IrqSystem } from "@imsim/core";

/**
 * The dsa bus's uevent variable (idxd_bus_uevent, drivers/dma/idxd/bus.c: "MODALIAS=" with
 * IDXD_DEVICES_MODALIAS_FMT "idxd:t%d" of 0), the same for every device on that bus.
 */
const DSA_BUS_UEVENT = ["MODALIAS=idxd:t0"] as const;

/** Drivers of the dsa bus a WQ binds to when enabled: idxd_dmaengine_drv ("dmaengine") for kernel WQs, idxd_user_drv ("user") for user WQs. */
const WQ_DRIVER: Readonly<Record<string, string | undefined>> = { kernel: "dmaengine", user: "user", vdev: undefined };

/**
 * The configuration devices an IDXD driver registers on the dsa bus (drivers/dma/idxd/init.c):
 * the device `dsa<id>` under its PCI function (dev_set_name "%s%d" of the "dsa" name prefix and
 * idxd->id) and one `wq<id>.<n>` under it per WQ the device has ("wq%d.%d"). Linux also registers
 * engines and groups there; the model has no use for them. The id is the first one free on the
 * host, as ida_alloc gives it, unless the caller names one.
 */
export class IdxdConfDevices {
  readonly device: Device;
  readonly #wqs: Device[];
  readonly #system: IrqSystem;

  constructor(system: IrqSystem, pci: Device, instance: number, numWqs: number) {
    this.#system = system;
    this.device = system.addDevice({ name: `dsa${instance}`, bus: "dsa", parent: pci, busUevent: DSA_BUS_UEVENT });
    try {
      this.#wqs = Array.from({ length: numWqs }, (_, n) => system.addDevice({ name: `wq${instance}.${n}`, bus: "dsa", parent: this.device, busUevent: DSA_BUS_UEVENT }));
    } catch (e) {
      system.removeDevice(this.device);
      throw e;
    }
  }

  /** The first instance number with no `dsa<n>` on the host (ida_alloc(&idxd_ida)). */
  static firstFreeInstance(system: IrqSystem): number {
    let n = 0;
    while (system.device(`dsa${n}`, "dsa") !== undefined) n++;
    return n;
  }

  /** The WQ's device. */
  wq(id: number): Device | undefined {
    return this.#wqs[id];
  }

  /** Binds (enabled) or unbinds the WQ's driver by its type. */
  setWqEnabled(id: number, type: string, enabled: boolean): void {
    const dev = this.#wqs[id];
    if (dev) dev.driver = enabled ? WQ_DRIVER[type] : undefined;
  }

  /** Unregisters them all (the WQs go with the device). */
  remove(): void {
    if (!this.device.removed) this.#system.removeDevice(this.device);
  }
}
