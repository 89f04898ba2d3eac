// The device tree: PCI functions with their BDF, requester id, bridges and DMA aliases, and
// non-PCI child devices (include/linux/pci.h, drivers/pci/search.c pci_for_each_dma_alias, drivers/base).
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
  /**
   * Quirk aliases: other requester ids on the function's own bus that its DMA (and MSI writes) may
   * carry (pci_dev::dma_alias_mask, e.g. NTB proxy ids).
   */
  readonly dmaAliases: readonly number[];
  /** What a PCI bridge function forwards (pci_dev::subordinate); undefined for endpoints. */
  readonly pciBridge: PciBridge | undefined;
  /** PCI identity (config space) of a PCI function, for its sysfs attributes. */
  readonly pciIds: PciIds | undefined;
  /** The bound driver's name (the sysfs `driver` link, `DRIVER=` in uevent), if any. */
  driver: string | undefined;
  /**
   * What the device's bus adds to its uevent file, `KEY=value` each (struct bus_type::uevent; e.g.
   * the dsa bus's `MODALIAS=idxd:t0`). PCI functions print theirs from `pciIds` (pci_uevent).
   */
  readonly busUevent: readonly string[];
  /** Free-form properties a strategy or driver hangs on the device (design A's PASID lives here). */
  readonly properties = new Map<string, unknown>();
  #children: Device[] = [];
  #removed = false;

  /** @internal Use IrqSystem.addPciDevice / addDevice. */
  constructor(
    id: number,
    name: string,
    bus: BusName,
    parent: Device | undefined,
    pci: PciAddress | undefined,
    dmaAliases: readonly number[],
    extra: { bridge?: PciBridge; ids?: PciIds; driver?: string; busUevent?: readonly string[] } = {},
  ) {
    this.id = id;
    this.name = name;
    this.bus = bus;
    this.parent = parent;
    this.pci = pci;
    this.requesterId = pci ? requesterIdOf(pci) : -1;
    this.dmaAliases = Object.freeze([...dmaAliases]);
    this.pciBridge = extra.bridge;
    this.pciIds = extra.ids;
    this.driver = extra.driver;
    this.busUevent = Object.freeze([...(extra.busUevent ?? [])]);
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

/**
 * A bridge function and how it forwards requester ids (pci_for_each_dma_alias): a PCIe-to-PCI
 * bridge makes its secondary bus's requests carry (secondary bus, devfn 0); a conventional PCI
 * bridge its own id; PCIe ports leave them alone.
 */
export interface PciBridge {
  kind: "pcie-to-pci" | "pci-to-pci" | "pcie-port";
  secondaryBus: number;
}

/** PCI configuration-space identity (vendor, device, class code, subsystem ids, revision). */
export interface PciIds {
  vendor: number;
  device: number;
  /** 24-bit class code (base class, subclass, programming interface). */
  classCode: number;
  subsystemVendor: number;
  subsystemDevice: number;
  revision: number;
}

export interface PciDeviceOptions {
  /** `0000:6a:01.0` form. */
  bdf: string;
  /** The device above it: a bridge whose secondary bus it sits on, or any parent. */
  parent?: Device;
  /** Quirk aliases: requester ids on the function's own bus that its writes may also carry. */
  dmaAliases?: readonly number[];
  /** Makes the function a bridge. */
  bridge?: PciBridge;
  /** Its identity; QEMU's PCI test device (1b36:0005, unassigned class) when omitted. */
  ids?: Partial<PciIds>;
  /** The driver bound to it (sysfs `driver` link). */
  driver?: string;
}

export interface DeviceOptions {
  name: string;
  bus: BusName;
  parent?: Device;
  /** The driver bound to it (sysfs `driver` link, `DRIVER=` in uevent). */
  driver?: string;
  /** `KEY=value` lines its bus adds to the uevent file (bus_type::uevent), e.g. `MODALIAS=idxd:t0`. */
  busUevent?: readonly string[];
}

const UEVENT_VAR = /^[A-Z0-9_]{1,32}=[ -~]{0,128}$/;

/** @internal Checks the non-PCI extras of addDevice. */
export function checkDeviceExtras(options: DeviceOptions): { driver?: string; busUevent?: readonly string[] } {
  const extra: { driver?: string; busUevent?: readonly string[] } = {};
  if (options.driver !== undefined) extra.driver = checkDeviceName(options.driver);
  if (options.busUevent !== undefined) {
    if (!Array.isArray(options.busUevent) || !options.busUevent.every((v) => typeof v === "string" && UEVENT_VAR.test(v))) {
      throw new ImsimError("EINVAL", `busUevent of ${options.name} must be an array of KEY=value strings, got ${JSON.stringify(options.busUevent)}`);
    }
    extra.busUevent = options.busUevent;
  }
  return extra;
}

/** @internal Builds a PCI function's Device after validating its options. */
export function makePciDevice(id: number, options: PciDeviceOptions): Device {
  const pci = parseBdf(options.bdf);
  const aliases = options.dmaAliases ?? [];
  if (!Array.isArray(aliases)) throw new ImsimError("EINVAL", `dmaAliases of ${options.bdf} must be an array of requester ids`);
  for (const a of aliases) {
    checkInt(a, 0, 0xffff, `DMA alias of ${options.bdf}`);
    // dma_alias_mask holds devfns: a quirk alias always lies on the function's own bus.
    if (a >>> 8 !== pci.bus) throw new ImsimError("EINVAL", `DMA alias 0x${a.toString(16)} of ${options.bdf} is not on its bus ${pci.bus.toString(16).padStart(2, "0")}`);
  }
  const extra: { bridge?: PciBridge; ids?: PciIds; driver?: string } = {};
  if (options.bridge !== undefined) {
    const b = options.bridge;
    if (typeof b !== "object" || b === null || !["pcie-to-pci", "pci-to-pci", "pcie-port"].includes(b.kind)) {
      throw new ImsimError("EINVAL", `bridge of ${options.bdf} must be { kind: "pcie-to-pci" | "pci-to-pci" | "pcie-port", secondaryBus }`);
    }
    checkInt(b.secondaryBus, 0, 0xff, `secondary bus of bridge ${options.bdf}`);
    extra.bridge = Object.freeze({ kind: b.kind, secondaryBus: b.secondaryBus });
  }
  const ids = options.ids ?? {};
  if (typeof ids !== "object" || ids === null) throw new ImsimError("EINVAL", `ids of ${options.bdf} must be an object`);
  extra.ids = Object.freeze({
    vendor: checkInt(ids.vendor ?? 0x1b36, 0, 0xffff, `vendor id of ${options.bdf}`),
    device: checkInt(ids.device ?? 0x0005, 0, 0xffff, `device id of ${options.bdf}`),
    classCode: checkInt(ids.classCode ?? 0xff0000, 0, 0xffffff, `class code of ${options.bdf}`),
    subsystemVendor: checkInt(ids.subsystemVendor ?? ids.vendor ?? 0x1af4, 0, 0xffff, `subsystem vendor id of ${options.bdf}`),
    subsystemDevice: checkInt(ids.subsystemDevice ?? 0x1100, 0, 0xffff, `subsystem device id of ${options.bdf}`),
    revision: checkInt(ids.revision ?? 0, 0, 0xff, `revision of ${options.bdf}`),
  });
  if (options.driver !== undefined) extra.driver = checkDeviceName(options.driver);
  return new Device(id, formatBdf(pci), "pci", options.parent, pci, aliases, extra);
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
export function checkDeviceName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ImsimError("EINVAL", `device name must be 1-64 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(name)}`);
  }
  return name;
}
