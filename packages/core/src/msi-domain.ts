import { ImsimError, checkInt, describe } from "./errors.js";
import type { Device } from "./device.js";
import type { MessageStore } from "./message-store.js";
import type { SourceId } from "./irq-remapping.js";
import type { MsiDesc } from "./irq-desc.js";
import type { StoreOwnership } from "./store-ownership.js";

/** Linux MSI_ANY_INDEX (include/linux/msi_api.h): allocate at the lowest free index. */
export const MSI_ANY_INDEX = 0xffffffff;
/** Per-device domain ids (enum msi_domain_ids, v6.2-v6.9): the PCI MSI/MSI-X domain and the secondary (IMS) one. */
export const MSI_DEFAULT_DOMAIN = 0;
export const MSI_SECONDARY_DOMAIN = 1;
export const MSI_MAX_DEVICE_IRQDOMAINS = 2;

/** Bus tokens (enum irq_domain_bus_token, include/linux/irqdomain_defs.h): the suffix of debugfs domain names. */
export const DOMAIN_BUS_PCI_DEVICE_MSI = 11;
export const DOMAIN_BUS_PCI_DEVICE_MSIX = 12;
export const DOMAIN_BUS_DMAR = 13;
export const DOMAIN_BUS_PCI_DEVICE_IMS = 15;
export const DOMAIN_BUS_DEVICE_MSI = 16;

/** What `msi_irqs/<virq>` files of this domain read: Linux prints the device's mode, "msi" or "msix". */
export type MsiDomainKind = "msi" | "msix" | "ims";

/** Linux struct msi_map: the index and the virq it got. */
export interface MsiMap {
  index: number;
  virq: number;
}

export interface MsiAllocOptions {
  /** CPU mask (bit n = CPU n); all CPUs when omitted. */
  affinity?: number;
  /** Instance cookie (msi_instance_cookie): e.g. a PASID or queue id the domain's policy may read. */
  cookie?: number;
}

export interface MsiDomainOptions {
  /** MSI_DEFAULT_DOMAIN (0) or MSI_SECONDARY_DOMAIN (1). */
  domainId: number;
  store: MessageStore;
  kind: MsiDomainKind;
  /** Debugfs suffix; defaults from `kind`. */
  busToken?: number;
  /**
   * The requester-id check resolved once, at domain creation (design A resolves it through the
   * parent chain when the child is created). Omitted: resolved on every allocation, as Linux does.
   */
  sourceId?: SourceId;
  /** PASID a descriptor's message is written with (-1 none); consulted at every message write. */
  pasidOf?: (desc: MsiDesc) => number;
  /** Whether its interrupts appear in the device's msi_irqs/ (MSI_FLAG_DEV_SYSFS). Default true. */
  devSysfs?: boolean;
}

/** @internal What a domain needs from its system; IrqSystem implements it. */
export interface DomainBackend {
  readonly interruptRemapping: boolean;
  allocInterrupt(domain: MsiDomain, msiIndex: number, affinity: number, cookie: number): MsiDesc;
  checkFreeable(desc: MsiDesc): void;
  atomically<T>(op: () => T): T;
  freeInterrupt(domain: MsiDomain, desc: MsiDesc): void;
  rewrite(desc: MsiDesc): void;
}

/**
 * A per-device MSI domain: the interrupts of one device at indices 0..hwsize-1 over one message
 * store. Linux: the irq_domain created by msi_create_device_irq_domain() and the xarray
 * `msi_device_data::__domains[domid].store` of its descriptors (kernel/irq/msi.c). Allocation and
 * freeing follow msi_domain_alloc_irq_at / msi_domain_alloc_irqs_range / msi_domain_free_irqs_range:
 * any failure frees everything the call allocated.
 */
export class MsiDomain {
  readonly device: Device;
  readonly domainId: number;
  readonly store: MessageStore;
  readonly kind: MsiDomainKind;
  readonly busToken: number;
  readonly hwsize: number;
  readonly chipName: string;
  readonly sourceId: SourceId | undefined;
  readonly pasidOf: ((desc: MsiDesc) => number) | undefined;
  readonly devSysfs: boolean;
  /** Physical store entry of index 0 (slices start further in). */
  readonly storeBase: number;
  readonly ownership: StoreOwnership;
  readonly #backend: DomainBackend;
  readonly #descs: (MsiDesc | undefined)[];
  readonly #ownerTag: number;
  #count = 0;
  #removed = false;

  /** @internal Created by IrqSystem.createMsiDomain. */
  constructor(device: Device, options: MsiDomainOptions, backend: DomainBackend, ownership: StoreOwnership, storeBase: number, ownerTag: number) {
    this.device = device;
    this.domainId = options.domainId;
    this.store = options.store;
    this.kind = options.kind;
    this.busToken =
      options.busToken ??
      (options.kind === "msix" ? DOMAIN_BUS_PCI_DEVICE_MSIX : options.kind === "msi" ? DOMAIN_BUS_PCI_DEVICE_MSI : DOMAIN_BUS_PCI_DEVICE_IMS);
    this.hwsize = options.store.size;
    this.chipName = `${backend.interruptRemapping ? "IR-" : ""}${options.store.chipName}-${device.name}`;
    this.sourceId = options.sourceId;
    this.pasidOf = options.pasidOf;
    this.devSysfs = options.devSysfs ?? true;
    this.storeBase = storeBase;
    this.ownership = ownership;
    this.#backend = backend;
    this.#descs = new Array<MsiDesc | undefined>(this.hwsize);
    this.#ownerTag = ownerTag;
  }

  /** Debugfs name: chip name plus bus token, e.g. IR-PCI-MSIX-0000:6a:01.0-12. */
  get name(): string {
    return `${this.chipName}-${this.busToken}`;
  }
  get allocated(): number {
    return this.#count;
  }
  get removed(): boolean {
    return this.#removed;
  }

  #assertLive(): void {
    if (this.#removed) throw new ImsimError("ENODEV", `MSI domain ${this.name} has been removed`);
    this.device.assertPresent();
  }

  /** The descriptor at `index`, if allocated. */
  desc(index: number): MsiDesc | undefined {
    return this.#descs[index];
  }

  /** Virq at `index`, 0 when none (msi_domain_get_virq). */
  getVirq(index: number): number {
    return this.#descs[index]?.virq ?? 0;
  }

  /** Allocated descriptors in index order (msi_domain_for_each_desc, MSI_DESC_ASSOCIATED). */
  *descs(): IterableIterator<MsiDesc> {
    for (const d of this.#descs) if (d) yield d;
  }

  #checkOptions(options: MsiAllocOptions | undefined): { affinity: number; cookie: number } {
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new ImsimError("EINVAL", `allocation options must be an object, got ${describe(options)}`);
    }
    const affinity = options?.affinity ?? -1;
    if (options?.affinity !== undefined) checkInt(options.affinity, 1, 0xffffffff, `affinity mask for ${this.name}`);
    const cookie = options?.cookie ?? 0;
    if (options?.cookie !== undefined) checkInt(options.cookie, 0, Number.MAX_SAFE_INTEGER, `instance cookie for ${this.name}`);
    return { affinity: affinity >>> 0, cookie };
  }

  #checkIndex(index: unknown, what: string): number {
    return checkInt(index, 0, this.hwsize - 1, `${what} of ${this.name} (hwsize ${this.hwsize})`);
  }

  /** Whether `index` can be taken now: free here and in the physical store. */
  isFree(index: number): boolean {
    return this.#descs[index] === undefined && this.ownership.ownerOf(this.storeBase + index) === 0;
  }

  /** Lowest index this domain could allocate at, -1 if none (xa_alloc within [0, hwsize-1]). */
  lowestFree(): number {
    return this.lowestFreeIn(0, this.hwsize - 1);
  }

  /** Lowest free index in [first, last], -1 if none. */
  lowestFreeIn(first: number, last: number): number {
    const at = this.ownership.lowestFree(this.storeBase + first, this.storeBase + last + 1);
    return at < 0 ? -1 : at - this.storeBase;
  }

  /** Allocates one interrupt at `index`, or at the lowest free index for MSI_ANY_INDEX (msi_domain_alloc_irq_at). */
  allocAt(index: number, options?: MsiAllocOptions): MsiMap {
    return this.#backend.atomically(() => this.#allocAt(index, options));
  }

  #allocAt(index: number, options?: MsiAllocOptions): MsiMap {
    this.#assertLive();
    const opts = this.#checkOptions(options);
    let at: number;
    if (index === MSI_ANY_INDEX) {
      at = this.lowestFree();
      if (at < 0) throw new ImsimError("ENOSPC", `${this.name} has no free index (hwsize ${this.hwsize})`);
    } else {
      at = this.#checkIndex(index, "MSI index");
      this.#checkFree(at);
    }
    const desc = this.#allocOne(at, opts.affinity, opts.cookie);
    return { index: at, virq: desc.virq };
  }

  #checkFree(at: number): void {
    if (this.#descs[at] !== undefined) throw new ImsimError("EBUSY", `MSI index ${at} of ${this.name} is already allocated (virq ${this.#descs[at]!.virq})`);
    if (this.ownership.ownerOf(this.storeBase + at) !== 0) {
      throw new ImsimError("EBUSY", `${this.store.chipName} entry ${this.storeBase + at} under index ${at} of ${this.name} belongs to another domain`);
    }
  }

  /** Allocates every index in [first, last] or none (msi_domain_alloc_irqs_range). */
  allocRange(first: number, last: number, options?: MsiAllocOptions): MsiMap[] {
    return this.#backend.atomically(() => this.#allocRange(first, last, options));
  }

  #allocRange(first: number, last: number, options?: MsiAllocOptions): MsiMap[] {
    this.#assertLive();
    const opts = this.#checkOptions(options);
    this.#checkIndex(first, "first MSI index");
    this.#checkIndex(last, "last MSI index");
    if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of ${this.name} is empty`);
    for (let i = first; i <= last; i++) this.#checkFree(i);
    const done: MsiDesc[] = [];
    try {
      for (let i = first; i <= last; i++) done.push(this.#allocOne(i, opts.affinity, opts.cookie));
    } catch (e) {
      for (let j = done.length - 1; j >= 0; j--) this.#freeOne(done[j]!);
      throw e;
    }
    return done.map((d) => ({ index: d.msiIndex, virq: d.virq }));
  }

  /** Allocates `count` interrupts at the lowest free indices, all or none. */
  allocAny(count: number, options?: MsiAllocOptions): MsiMap[] {
    return this.#backend.atomically(() => this.#allocAny(count, options));
  }

  #allocAny(count: number, options?: MsiAllocOptions): MsiMap[] {
    this.#assertLive();
    checkInt(count, 1, this.hwsize, `interrupt count for ${this.name}`);
    const opts = this.#checkOptions(options);
    const done: MsiDesc[] = [];
    try {
      for (let n = 0; n < count; n++) {
        const at = this.lowestFree();
        if (at < 0) throw new ImsimError("ENOSPC", `${this.name} has ${n} free indices, ${count} requested (hwsize ${this.hwsize})`);
        done.push(this.#allocOne(at, opts.affinity, opts.cookie));
      }
    } catch (e) {
      for (let j = done.length - 1; j >= 0; j--) this.#freeOne(done[j]!);
      throw e;
    }
    return done.map((d) => ({ index: d.msiIndex, virq: d.virq }));
  }

  #allocOne(at: number, affinity: number, cookie: number): MsiDesc {
    this.ownership.claim(this.storeBase + at, this.#ownerTag);
    let desc: MsiDesc;
    try {
      desc = this.#backend.allocInterrupt(this, at, affinity, cookie);
    } catch (e) {
      this.ownership.release(this.storeBase + at);
      throw e;
    }
    this.#descs[at] = desc;
    this.#count++;
    return desc;
  }

  #freeOne(desc: MsiDesc): void {
    this.#backend.freeInterrupt(this, desc);
    this.#descs[desc.msiIndex] = undefined;
    this.#count--;
    this.ownership.release(this.storeBase + desc.msiIndex);
  }

  /** Throws what `free(index)` would for a state reason (EBUSY from its own handler), changing nothing. */
  assertFreeable(index: number): void {
    const desc = this.#descs[index];
    if (desc) this.#backend.checkFreeable(desc);
  }

  /** Frees the interrupt at `index` (msi_domain_free_irqs_range for [index, index]). ENOENT if none. */
  free(index: number): void {
    this.#assertLive();
    const at = this.#checkIndex(index, "MSI index");
    const desc = this.#descs[at];
    if (!desc) throw new ImsimError("ENOENT", `MSI index ${at} of ${this.name} is not allocated`);
    this.#backend.checkFreeable(desc);
    this.#freeOne(desc);
  }

  /** Frees every allocated index in [first, last]; ENOENT (and nothing freed) when none is allocated. */
  freeRange(first: number, last: number): number {
    this.#assertLive();
    this.#checkIndex(first, "first MSI index");
    this.#checkIndex(last, "last MSI index");
    if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of ${this.name} is empty`);
    let any = false;
    for (let i = first; i <= last && !any; i++) any = this.#descs[i] !== undefined;
    if (!any) throw new ImsimError("ENOENT", `${this.name} has no interrupt in [${first}, ${last}]`);
    for (let i = first; i <= last; i++) {
      const d = this.#descs[i];
      if (d) this.#backend.checkFreeable(d);
    }
    let n = 0;
    for (let i = first; i <= last; i++) {
      const d = this.#descs[i];
      if (d) {
        this.#freeOne(d);
        n++;
      }
    }
    return n;
  }

  /** Frees every interrupt of the domain; returns how many. */
  freeAll(): number {
    let n = 0;
    for (let i = 0; i < this.#descs.length; i++) {
      const d = this.#descs[i];
      if (d) {
        this.#freeOne(d);
        n++;
      }
    }
    return n;
  }

  /** Re-composes and rewrites the message (and PASID) of `index`: after a PASID change, for one. */
  rewrite(index: number): void {
    this.#backend.atomically(() => this.#rewrite(index));
  }

  #rewrite(index: number): void {
    this.#assertLive();
    const desc = this.#descs[this.#checkIndex(index, "MSI index")];
    if (!desc) throw new ImsimError("ENOENT", `MSI index ${index} of ${this.name} is not allocated`);
    this.#backend.rewrite(desc);
  }

  /** @internal */
  markRemoved(): void {
    this.#removed = true;
  }
}
