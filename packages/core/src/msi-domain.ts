// kernel/irq/msi.c: per-device MSI domains (msi_create_device_irq_domain), their descriptors
// (one xarray per domain id), and allocation at an index, at any index, or over a range, with a
// full rollback on failure (msi_domain_alloc_irq_at, msi_domain_alloc_irqs_range, _free_).
import { ImsimError, checkInt, describe } from "./errors.js";
import type { Device } from "./device.js";
import type { MessageStore } from "./message-store.js";
import type { StoreOwnership } from "./store-ownership.js";
import { MsiDesc } from "./msi-desc.js";
import { toCpumask, type Cpumask, type CpumaskLike } from "./cpumask.js";
import { spreadAffinity } from "./affinity.js";
import { IrqDomain, IRQ_DOMAIN_FLAG_HIERARCHY, IRQ_DOMAIN_FLAG_MSI, IRQ_DOMAIN_FLAG_MSI_DEVICE, IRQ_DOMAIN_NAME_ALLOCATED, type IrqChip } from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";
import type { MsiTemplate } from "./msi-template.js";
import type { MsiEnv } from "./msi-env.js";
import type { SourceId } from "./remapping.js";
import { MSI_FLAG_ACTIVATE_EARLY, MSI_FLAG_DEV_SYSFS, MSI_FLAG_MUST_REACTIVATE } from "./msi-flags.js";

/** Linux MSI_ANY_INDEX (include/linux/msi_api.h): allocate at the lowest free index. */
export const MSI_ANY_INDEX = 0xffffffff;
/** Per-device domain ids (enum msi_domain_ids, v6.2-v6.9): the PCI MSI/MSI-X domain and the secondary (IMS) one. */
export const MSI_DEFAULT_DOMAIN = 0;
export const MSI_SECONDARY_DOMAIN = 1;
export const MSI_MAX_DEVICE_IRQDOMAINS = 2;
/** Longest device-domain chip name: struct msi_domain_template::name is 48 bytes with its NUL (include/linux/msi.h). */
export const MSI_CHIP_NAME_MAX = 47;

/** Linux struct msi_map: the index and the virq it got. */
export interface MsiMap {
  index: number;
  virq: number;
}

export interface MsiAllocOptions {
  /** CPUs the interrupt may target (a mask, "0-3", [0, 1], …); all CPUs when omitted. Acts as a set affinity (IRQD_AFFINITY_SET). */
  affinity?: CpumaskLike;
  /**
   * Managed interrupts (irq_affinity_desc::is_managed): spread by the kernel over `affinity` (or
   * all CPUs), reserved per CPU, shut down while none of their CPUs is online, never moved by users.
   */
  managed?: boolean;
  /** Instance cookie (msi_instance_cookie): e.g. a PASID or a queue id, kept in the descriptor. */
  cookie?: number;
}

/**
 * A per-device MSI domain: the interrupts of one device at indices 0..hwsize-1 over one message
 * store, as the irq domain of msi_create_device_irq_domain() and the descriptor xarray
 * `msi_device_data::__domains[domid].store` (kernel/irq/msi.c). Its level in each interrupt's
 * hierarchy sits on the device's MSI parent (INTEL-IR-n with remapping, VECTOR without).
 */
export class MsiDomain {
  readonly device: Device;
  readonly domainId: number;
  readonly store: MessageStore;
  readonly template: MsiTemplate;
  /** The domain's level in the hierarchy. */
  readonly irqDomain: IrqDomain;
  readonly chip: IrqChip;
  readonly hwsize: number;
  /** MSI_FLAG_* of the domain after its parent restricted them (msi_domain_info::flags). */
  readonly flags: number;
  /** Physical store entry of index 0 (slices start further in). */
  readonly storeBase: number;
  readonly ownership: StoreOwnership;
  /**
   * The requester-id check resolved once, when the domain was made (design A resolves it through
   * the parent chain when its child device is set up); undefined: resolved at each IRTE allocation.
   */
  readonly sourceId: SourceId | undefined;
  /** PASID a descriptor's message is written with (-1 none): the IMS entry's PASID field. */
  readonly pasidOf: ((desc: MsiDesc) => number) | undefined;
  readonly #env: MsiEnv;
  readonly #descs: (MsiDesc | undefined)[];
  readonly #irqs: (IrqDesc | undefined)[];
  readonly #ownerTag: number;
  #count = 0;
  #removed = false;

  /** @internal Created by IrqSystem.createMsiDomain once the parent accepted the template. */
  constructor(
    env: MsiEnv,
    device: Device,
    domainId: number,
    store: MessageStore,
    template: MsiTemplate,
    parent: IrqDomain,
    accepted: { flags: number; chipFlags: number },
    extra: { sourceId: SourceId | undefined; pasidOf: ((desc: MsiDesc) => number) | undefined },
    ownership: StoreOwnership,
    storeBase: number,
    ownerTag: number,
  ) {
    this.#env = env;
    this.sourceId = extra.sourceId;
    this.pasidOf = extra.pasidOf;
    this.device = device;
    this.domainId = domainId;
    this.store = store;
    this.template = template;
    this.hwsize = store.size;
    this.flags = accepted.flags;
    this.ownership = ownership;
    this.storeBase = storeBase;
    this.#ownerTag = ownerTag;
    this.#descs = new Array<MsiDesc | undefined>(this.hwsize);
    this.#irqs = new Array<IrqDesc | undefined>(this.hwsize);
    // msi_create_device_irq_domain (kernel/irq/msi.c): "%s%s-%s" of prefix, template chip and
    // dev_name into the template's 48-byte name buffer, so at most 47 characters.
    const chipName = `${parent.msiParent?.prefix ?? ""}${template.chipName}-${device.name}`.slice(0, MSI_CHIP_NAME_MAX);
    this.chip = {
      name: chipName,
      flags: accepted.chipFlags,
      mask: (d) => this.#setMasked(d.desc, true),
      unmask: (d) => this.#setMasked(d.desc, false),
      writeMsiMsg: (d, msg) => env.writeMessage(this, d.desc, msg),
    };
    this.irqDomain = new IrqDomain({
      name: chipName,
      busToken: template.busToken,
      parent,
      flags: IRQ_DOMAIN_FLAG_HIERARCHY | IRQ_DOMAIN_NAME_ALLOCATED | IRQ_DOMAIN_FLAG_MSI | IRQ_DOMAIN_FLAG_MSI_DEVICE,
      ops: env.msiLevelOps(this),
    });
  }

  get name(): string {
    return this.irqDomain.name;
  }
  get chipName(): string {
    return this.chip.name;
  }
  get busToken(): number {
    return this.template.busToken;
  }
  get kind(): MsiTemplate["kind"] {
    return this.template.kind;
  }
  /** MSI_FLAG_DEV_SYSFS: its interrupts appear in the device's msi_irqs/. */
  get devSysfs(): boolean {
    return (this.flags & MSI_FLAG_DEV_SYSFS) !== 0;
  }
  /** Early activation with reservation (PCI MSI/MSI-X): msi_check_reservation_mode. */
  get reservationMode(): boolean {
    return (this.flags & (MSI_FLAG_ACTIVATE_EARLY | MSI_FLAG_MUST_REACTIVATE)) === (MSI_FLAG_ACTIVATE_EARLY | MSI_FLAG_MUST_REACTIVATE) && this.template.reservable;
  }
  get allocated(): number {
    return this.#count;
  }
  get removed(): boolean {
    return this.#removed;
  }

  /** The entry's mask bit; unmasking an entry whose pending bit is set makes the device send it (MSI-X PBA semantics). */
  #setMasked(desc: IrqDesc, masked: boolean): void {
    const m = desc.msiDesc;
    if (!m) return;
    this.store.setMasked(m.msiIndex, masked);
    if (!masked && this.store.isPending(m.msiIndex)) {
      this.store.setPending(m.msiIndex, false);
      this.#env.deviceSends(this, m.msiIndex);
    }
  }

  #assertLive(): void {
    if (this.#removed) throw new ImsimError("ENODEV", `MSI domain ${this.name} has been removed`);
    this.device.assertPresent();
  }

  /** The descriptor at `index`, if allocated. */
  desc(index: number): MsiDesc | undefined {
    return this.#descs[index];
  }
  /** The irq descriptor of `index`, if allocated. */
  irq(index: number): IrqDesc | undefined {
    return this.#irqs[index];
  }
  /** Virq at `index`, 0 when none (msi_domain_get_virq). */
  getVirq(index: number): number {
    return this.#descs[index]?.virq ?? 0;
  }
  /** Allocated descriptors in index order (msi_domain_for_each_desc, MSI_DESC_ASSOCIATED). */
  *descs(): IterableIterator<MsiDesc> {
    for (const d of this.#descs) if (d) yield d;
  }

  #checkIndex(index: unknown, what: string): number {
    return checkInt(index, 0, this.hwsize - 1, `${what} of ${this.name} (hwsize ${this.hwsize})`);
  }

  #checkOptions(options: MsiAllocOptions | undefined): { affinity: Cpumask | undefined; managed: boolean; cookie: number } {
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new ImsimError("EINVAL", `allocation options must be an object, got ${describe(options)}`);
    }
    const affinity = options?.affinity === undefined ? undefined : toCpumask(options.affinity, this.#env.nrCpus, `affinity for ${this.name}`);
    const managed = options?.managed ?? false;
    if (typeof managed !== "boolean") throw new ImsimError("EINVAL", `managed must be a boolean, got ${describe(managed)}`);
    const cookie = options?.cookie ?? 0;
    if (options?.cookie !== undefined) checkInt(options.cookie, 0, Number.MAX_SAFE_INTEGER, `instance cookie for ${this.name}`);
    return { affinity, managed, cookie };
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

  #checkFree(at: number): void {
    const d = this.#descs[at];
    if (d !== undefined) throw new ImsimError("EBUSY", `MSI index ${at} of ${this.name} is already allocated (virq ${d.virq})`);
    if (this.ownership.ownerOf(this.storeBase + at) !== 0) {
      throw new ImsimError("EBUSY", `${this.store.chipName} entry ${this.storeBase + at} under index ${at} of ${this.name} belongs to another domain`);
    }
  }

  /** Allocates one interrupt at `index`, or at the lowest free index for MSI_ANY_INDEX (msi_domain_alloc_irq_at). */
  allocAt(index: number, options?: MsiAllocOptions): MsiMap {
    return this.#env.atomically(() => {
      this.#assertLive();
      const o = this.#checkOptions(options);
      let at: number;
      if (index === MSI_ANY_INDEX) {
        at = this.lowestFree();
        if (at < 0) throw new ImsimError("ENOSPC", `${this.name} has no free index (hwsize ${this.hwsize})`);
      } else {
        at = this.#checkIndex(index, "MSI index");
        this.#checkFree(at);
      }
      const masks = o.managed ? spreadAffinity(1, o.affinity ?? this.#env.allCpus) : [o.affinity];
      return this.#allocIndices([at], masks, o.managed, o.cookie)[0]!;
    });
  }

  /** Allocates every index in [first, last] or none (msi_domain_alloc_irqs_range). Managed ones are spread over the mask. */
  allocRange(first: number, last: number, options?: MsiAllocOptions): MsiMap[] {
    return this.#env.atomically(() => {
      this.#assertLive();
      const o = this.#checkOptions(options);
      this.#checkIndex(first, "first MSI index");
      this.#checkIndex(last, "last MSI index");
      if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of ${this.name} is empty`);
      for (let i = first; i <= last; i++) this.#checkFree(i);
      const indices = Array.from({ length: last - first + 1 }, (_, i) => first + i);
      return this.#allocIndices(indices, this.#masksFor(indices.length, o), o.managed, o.cookie);
    });
  }

  /** Allocates `count` interrupts at the lowest free indices, all or none. */
  allocAny(count: number, options?: MsiAllocOptions): MsiMap[] {
    return this.#env.atomically(() => {
      this.#assertLive();
      checkInt(count, 1, this.hwsize, `interrupt count for ${this.name}`);
      const o = this.#checkOptions(options);
      const indices: number[] = [];
      for (let from = 0; indices.length < count; ) {
        const at = from >= this.hwsize ? -1 : this.lowestFreeIn(from, this.hwsize - 1);
        if (at < 0) throw new ImsimError("ENOSPC", `${this.name} has ${indices.length} free indices, ${count} requested (hwsize ${this.hwsize})`);
        indices.push(at);
        from = at + 1;
      }
      return this.#allocIndices(indices, this.#masksFor(count, o), o.managed, o.cookie);
    });
  }

  #masksFor(n: number, o: { affinity: Cpumask | undefined; managed: boolean }): (Cpumask | undefined)[] {
    return o.managed ? spreadAffinity(n, o.affinity ?? this.#env.allCpus) : new Array<Cpumask | undefined>(n).fill(o.affinity);
  }

  #allocIndices(indices: number[], masks: (Cpumask | undefined)[], managed: boolean, cookie: number): MsiMap[] {
    const done: number[] = [];
    try {
      indices.forEach((at, i) => {
        this.ownership.claim(this.storeBase + at, this.#ownerTag);
        const desc = new MsiDesc(this.device, this.domainId, at, this.storeBase + at, 0, cookie);
        this.#descs[at] = desc;
        try {
          this.#irqs[at] = this.#env.allocIrq(this, desc, masks[i], managed);
        } catch (e) {
          this.#descs[at] = undefined;
          this.ownership.release(this.storeBase + at);
          throw e;
        }
        this.#count++;
        done.push(at);
      });
    } catch (e) {
      for (const at of done.reverse()) this.#freeOne(at);
      throw e;
    }
    return indices.map((at) => ({ index: at, virq: this.#descs[at]!.virq }));
  }

  #freeOne(at: number): void {
    const irq = this.#irqs[at]!;
    this.#env.freeIrq(this, irq);
    this.#descs[at] = undefined;
    this.#irqs[at] = undefined;
    this.#count--;
    this.ownership.release(this.storeBase + at);
  }

  /** Throws what `free(index)` would for a state reason (EBUSY: actions requested, or its own handler running), changing nothing. */
  assertFreeable(index: number): void {
    const irq = this.#irqs[index];
    if (irq) this.#env.checkFreeable(irq);
  }

  /** Frees the interrupt at `index` (msi_domain_free_irqs_range for [index, index]). ENOENT if none; EBUSY while it has actions. */
  free(index: number): void {
    this.#assertLive();
    const at = this.#checkIndex(index, "MSI index");
    if (!this.#descs[at]) throw new ImsimError("ENOENT", `MSI index ${at} of ${this.name} is not allocated`);
    this.assertFreeable(at);
    this.#freeOne(at);
  }

  /** Frees every allocated index in [first, last]; ENOENT (and nothing freed) when none is allocated, EBUSY when one has actions. */
  freeRange(first: number, last: number): number {
    this.#assertLive();
    this.#checkIndex(first, "first MSI index");
    this.#checkIndex(last, "last MSI index");
    if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of ${this.name} is empty`);
    const targets: number[] = [];
    for (let i = first; i <= last; i++) if (this.#descs[i]) targets.push(i);
    if (targets.length === 0) throw new ImsimError("ENOENT", `${this.name} has no interrupt in [${first}, ${last}]`);
    for (const i of targets) this.assertFreeable(i);
    for (const i of targets) this.#freeOne(i);
    return targets.length;
  }

  /**
   * Frees every interrupt of the domain; returns how many. With `force` (device removal, devres
   * order) actions still requested are freed first; without it, EBUSY as for free().
   */
  freeAll(force = false): number {
    const targets: number[] = [];
    for (let i = 0; i < this.hwsize; i++) if (this.#descs[i]) targets.push(i);
    if (force) for (const i of targets) this.#env.dropActions(this.#irqs[i]!);
    else for (const i of targets) this.assertFreeable(i);
    for (const i of targets) this.#freeOne(i);
    return targets.length;
  }

  /**
   * Changes the instance cookie of the live descriptor at `index` (msi_desc::data.icookie). v6.9
   * copies the cookie once, in msi_domain_alloc_irq_at(), and offers no call to change it (VFIO's
   * IMS backend applied a new cookie to the next allocation only, vfio_pci_ims_set_cookie in the
   * 2023 RFC); the model lets a driver update it in place, as one holding the descriptor lock could,
   * and `rewrite(index)` then writes the entry with it. ENOENT when `index` holds no interrupt.
   */
  setCookie(index: number, cookie: number): void {
    this.#assertLive();
    const at = this.#checkIndex(index, "MSI index");
    const desc = this.#descs[at];
    if (!desc) throw new ImsimError("ENOENT", `MSI index ${at} of ${this.name} is not allocated`);
    desc.cookie = checkInt(cookie, 0, Number.MAX_SAFE_INTEGER, `instance cookie for ${this.name}`);
  }

  /** Rewrites the message (and PASID) of `index` if it is written: after a PASID change, for one. */
  rewrite(index: number): void {
    this.#env.atomically(() => {
      this.#assertLive();
      const at = this.#checkIndex(index, "MSI index");
      const irq = this.#irqs[at];
      if (!irq) throw new ImsimError("ENOENT", `MSI index ${index} of ${this.name} is not allocated`);
      this.#env.rewrite(this, irq);
    });
  }

  /** @internal */
  markRemoved(): void {
    this.#removed = true;
    this.irqDomain.markRemoved();
  }
}
