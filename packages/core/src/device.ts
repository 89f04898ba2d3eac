import { ImsimError, checkInt } from "./errors.js";
import { formatBdf, parseBdf, requesterIdOf, type PciAddress } from "./pci-id.js";

/** Bus a device sits on: `pci` for functions, `ntb` for NTB client devices, `subdevice` for design A's queue devices. */
export type BusName = "pci" | "ntb" | "subdevice" | "platform" | (string & {});

/**
 * A node of the device tree. Linux: `struct device` (include/linux/device.h) with, for PCI,
 * `struct pci_dev`'s bus/devfn and DMA aliases (drivers/pci/search.c pci_for_each_dma_alias).
 * A device is created and removed through its `IrqSystem`, which owns the tree.
 */
export class Device {
  readonly id: number;
  readonly name: string;
  readonly bus: BusName;
  readonly parent: Device | undefined;
  /** PCI address for PCI functions; undefined elsewhere. */
  readonly pci: PciAddress | undefined;
  /** 16-bit requester id (bus << 8 | devfn) for PCI functions; -1 elsewhere. */
  readonly requesterId: number;
  /** Other requester ids this function's DMA (and MSI writes) may carry, e.g. NTB proxy ids. */
  readonly dmaAliases: readonly number[];
  /** Free-form properties a strategy or driver hangs on the device (design A's PASID lives here). */
  readonly properties = new Map<string, unknown>();
  #children: Device[] = [];
  #removed = false;

  /** @internal Use IrqSystem.addPciDevice / addDevice. */
  constructor(id: number, name: string, bus: BusName, parent: Device | undefined, pci: PciAddress | undefined, dmaAliases: readonly number[]) {
    this.id = id;
    this.name = name;
    this.bus = bus;
    this.parent = parent;
    this.pci = pci;
    this.requesterId = pci ? requesterIdOf(pci) : -1;
    this.dmaAliases = Object.freeze([...dmaAliases]);
  }

  get children(): readonly Device[] {
    return this.#children;
  }
  get removed(): boolean {
    return this.#removed;
  }

  /** Path under /sys/devices: PCI functions sit under their root bus, children under their parent. */
  get sysfsPath(): string {
    if (this.parent) return `${this.parent.sysfsPath}/${this.name}`;
    if (this.pci) {
      const root = `pci${this.pci.domain.toString(16).padStart(4, "0")}:${this.pci.bus.toString(16).padStart(2, "0")}`;
      return `/sys/devices/${root}/${this.name}`;
    }
    return `/sys/devices/${this.bus}/${this.name}`;
  }

  /** /sys/bus/<bus>/devices/<name>: the link users go through. */
  get busPath(): string {
    return `/sys/bus/${this.bus}/devices/${this.name}`;
  }

  /** The nearest PCI function at or above this device: whose requester id its DMA carries. */
  get pciFunction(): Device | undefined {
    for (let d: Device | undefined = this; d; d = d.parent) if (d.pci) return d;
    return undefined;
  }

  /** @internal */
  attachChild(child: Device): void {
    this.#children.push(child);
  }
  /** @internal */
  detachChild(child: Device): void {
    const i = this.#children.indexOf(child);
    if (i >= 0) this.#children.splice(i, 1);
  }
  /** @internal */
  markRemoved(): void {
    this.#removed = true;
  }

  assertPresent(what = "device"): void {
    if (this.#removed) throw new ImsimError("ENODEV", `${what} ${this.name} has been removed`);
  }
}

export interface PciDeviceOptions {
  /** `0000:6a:01.0` form. */
  bdf: string;
  parent?: Device;
  /** Requester ids (bus << 8 | devfn) the function's writes may also carry. */
  dmaAliases?: readonly number[];
}

export interface DeviceOptions {
  name: string;
  bus: BusName;
  parent?: Device;
}

/** @internal Builds a PCI function's Device after validating its options. */
export function makePciDevice(id: number, options: PciDeviceOptions): Device {
  const pci = parseBdf(options.bdf);
  const aliases = options.dmaAliases ?? [];
  if (!Array.isArray(aliases)) throw new ImsimError("EINVAL", `dmaAliases of ${options.bdf} must be an array of requester ids`);
  for (const a of aliases) checkInt(a, 0, 0xffff, `DMA alias of ${options.bdf}`);
  return new Device(id, formatBdf(pci), "pci", options.parent, pci, aliases);
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
export function checkDeviceName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ImsimError("EINVAL", `device name must be 1-64 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(name)}`);
  }
  return name;
}
