// The host's devices and their per-device MSI domains: the device tree (drivers/base/core.c) and
// msi_create_device_irq_domain / msi_remove_device_irq_domain (kernel/irq/msi.c), with the message
// store ownership that keeps two domains from writing one entry.
import { ImsimError, checkInt, describe } from "./errors.js";
import { Device, checkDeviceExtras, checkDeviceName, makePciDevice, type DeviceOptions, type PciDeviceOptions } from "./device.js";
import { MSI_MAX_DEVICE_IRQDOMAINS, MsiDomain } from "./msi-domain.js";
import { acceptTemplate, imsTemplate, pciMsiTemplate, pciMsixTemplate, type MsiDomainKind, type MsiTemplate } from "./msi-template.js";
import type { MsiIrqs } from "./msi-irqs.js";
import type { MsiDesc } from "./msi-desc.js";
import { StoreOwnership, rootOf } from "./store-ownership.js";
import { checkMessageStore, type MessageStore } from "./message-store.js";
import type { SourceId } from "./remapping.js";
import type { X86Platform } from "./x86-platform.js";
import type { DeliveryStats } from "./context.js";

/** Options of a per-device MSI domain (msi_create_device_irq_domain). */
export interface MsiDomainOptions {
  /** MSI_DEFAULT_DOMAIN (0) or MSI_SECONDARY_DOMAIN (1). */
  domainId: number;
  store: MessageStore;
  /** "msix" and "msi": the PCI templates; "ims": a PCI/IMS template (chip name from the store). */
  kind: MsiDomainKind;
  /** A template of your own instead of the kind's (its kind decides the rules). */
  template?: MsiTemplate;
  /** IMS only: populate msi_irqs/ (MSI_FLAG_DEV_SYSFS); the PCI kinds always do. */
  devSysfs?: boolean;
  /** Requester-id check resolved once now, for a child device (counted once, here). */
  sourceId?: SourceId;
  /** PASID each message is written with (-1 none): the IMS entry's PASID, read at every write. */
  pasidOf?: (desc: MsiDesc) => number;
}

function keyOf(bus: string, name: string): string {
  return `${bus}/${name}`;
}

export class DeviceRegistry {
  readonly #systemName: string;
  readonly #platform: X86Platform;
  readonly #msi: MsiIrqs;
  readonly #stats: DeliveryStats;
  /** Devices by bus and name: names are unique per bus (drivers/base/core.c device_add), not host-wide. */
  readonly #devices = new Map<string, Device>();
  readonly #domains = new Map<Device, (MsiDomain | undefined)[]>();
  readonly #ownership = new Map<MessageStore, StoreOwnership>();
  readonly #removalHooks = new Map<Device, (() => void)[]>();
  #nextDeviceId = 1;
  #nextDomainTag = 1;

  constructor(systemName: string, platform: X86Platform, msi: MsiIrqs, stats: DeliveryStats) {
    this.#systemName = systemName;
    this.#platform = platform;
    this.#msi = msi;
    this.#stats = stats;
  }

  get size(): number {
    return this.#devices.size;
  }

  addPciDevice(options: PciDeviceOptions): Device {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `PCI device options must be an object`);
    return this.#attach(makePciDevice(this.#nextDeviceId, options), options.parent);
  }

  addDevice(options: DeviceOptions): Device {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `device options must be an object`);
    const name = checkDeviceName(options.name);
    if (typeof options.bus !== "string" || options.bus === "pci") {
      throw new ImsimError("EINVAL", `bus of ${name} must be a non-PCI bus name (use addPciDevice for PCI), got ${describe(options.bus)}`);
    }
    return this.#attach(new Device(this.#nextDeviceId, name, options.bus, options.parent, undefined, [], checkDeviceExtras(options)), options.parent);
  }

  #attach(dev: Device, parent: Device | undefined): Device {
    if (parent !== undefined && (!(parent instanceof Device) || this.#devices.get(keyOf(parent.bus, parent.name)) !== parent)) {
      throw new ImsimError("ENODEV", `parent of ${dev.name} is not a device of system ${this.#systemName}`);
    }
    const key = keyOf(dev.bus, dev.name);
    if (this.#devices.has(key)) throw new ImsimError("EEXIST", `a device named ${dev.name} already exists on bus ${dev.bus} of ${this.#systemName}`);
    this.#nextDeviceId++;
    this.#devices.set(key, dev);
    parent?.attachChild(dev);
    return dev;
  }

  /**
   * The device named `name` on `bus`; without a bus, the PCI device of that name if there is one,
   * else the first device added under that name (an NTB device shares its PCI function's name).
   */
  device(name: string, bus?: string): Device | undefined {
    if (bus !== undefined) return this.#devices.get(keyOf(bus, name));
    const pci = this.#devices.get(keyOf("pci", name));
    if (pci) return pci;
    for (const d of this.#devices.values()) if (d.name === name) return d;
    return undefined;
  }

  devices(): Device[] {
    return [...this.#devices.values()];
  }

  /** ENODEV unless `dev` is a present device of this system. */
  check(dev: unknown): Device {
    if (!(dev instanceof Device) || this.#devices.get(keyOf(dev.bus, dev.name)) !== dev) {
      throw new ImsimError("ENODEV", `${dev instanceof Device ? dev.name : describe(dev)} is not a present device of system ${this.#systemName}`);
    }
    return dev;
  }

  onRemove(device: Device, hook: () => void): () => void {
    this.check(device);
    const list = this.#removalHooks.get(device) ?? [];
    list.push(hook);
    this.#removalHooks.set(device, list);
    return () => {
      const l = this.#removalHooks.get(device);
      if (l) l.splice(l.indexOf(hook) >>> 0, 1);
    };
  }

  /** Children first, then the device's hooks (last registered first), then its domains, forced. */
  remove(device: Device): void {
    this.check(device);
    for (const child of [...device.children].reverse()) this.remove(child);
    const hooks = this.#removalHooks.get(device) ?? [];
    this.#removalHooks.delete(device);
    for (const hook of hooks.reverse()) hook();
    for (const d of this.#domains.get(device) ?? []) if (d) this.#removeDomain(d, true);
    this.#domains.delete(device);
    device.parent?.detachChild(device);
    this.#devices.delete(keyOf(device.bus, device.name));
    device.markRemoved();
  }

  createMsiDomain(device: Device, options: MsiDomainOptions): MsiDomain {
    this.check(device);
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `MSI domain options must be an object`);
    checkInt(options.domainId, 0, MSI_MAX_DEVICE_IRQDOMAINS - 1, `MSI domain id of ${device.name}`);
    if (!["msi", "msix", "ims"].includes(options.kind)) throw new ImsimError("EINVAL", `MSI domain kind must be msi, msix or ims, got ${describe(options.kind)}`);
    const store = checkMessageStore(options.store, `store of the MSI domain of ${device.name}`);
    if (options.pasidOf !== undefined && typeof options.pasidOf !== "function") throw new ImsimError("EINVAL", `pasidOf must be a function`);
    const list = this.#domains.get(device) ?? [];
    if (list[options.domainId]) throw new ImsimError("EEXIST", `${device.name} already has MSI domain ${options.domainId} (${list[options.domainId]!.name})`);
    const template =
      options.template ??
      (options.kind === "msix" ? pciMsixTemplate(store.chipName) : options.kind === "msi" ? pciMsiTemplate() : imsTemplate(store.chipName, { devSysfs: options.devSysfs ?? false }));
    const parent = this.#platform.msiParentFor(device);
    const accepted = acceptTemplate(parent, template, device.name);
    const { root, base } = rootOf(store);
    const own = this.#ownership.get(root) ?? new StoreOwnership(root);
    this.#ownership.set(root, own);
    const domain = new MsiDomain(this.#msi, device, options.domainId, store, template, parent, accepted, { sourceId: options.sourceId, pasidOf: options.pasidOf }, own, base, this.#nextDomainTag++);
    // A child device's requester id, resolved once when it is set up (design A's claim).
    if (options.sourceId !== undefined) this.#stats.sourceIdResolutions++;
    list[options.domainId] = domain;
    this.#domains.set(device, list);
    return domain;
  }

  msiDomain(device: Device, domainId: number): MsiDomain | undefined {
    return this.#domains.get(device)?.[domainId];
  }

  domains(): MsiDomain[] {
    const out: MsiDomain[] = [];
    for (const list of this.#domains.values()) for (const d of list) if (d) out.push(d);
    return out;
  }

  removeMsiDomain(device: Device, domainId: number): void {
    this.check(device);
    const d = this.#domains.get(device)?.[domainId];
    if (!d) throw new ImsimError("ENOENT", `${device.name} has no MSI domain ${describe(domainId)}`);
    this.#removeDomain(d, false);
  }

  #removeDomain(d: MsiDomain, force: boolean): void {
    d.freeAll(force);
    const list = this.#domains.get(d.device);
    if (list) list[d.domainId] = undefined;
    d.markRemoved();
    const own = d.ownership;
    if (own.inUse === 0 && !this.domains().some((x) => x.ownership === own)) this.#ownership.delete(own.store);
  }

  /** Store entries in use over every store a domain writes. */
  storeEntriesInUse(): number {
    let n = 0;
    for (const o of this.#ownership.values()) n += o.inUse;
    return n;
  }
}
