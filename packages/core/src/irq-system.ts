import { ImsimError, checkInt, describe, isImsimError } from "./errors.js";
import { Device, checkDeviceName, makePciDevice, type DeviceOptions, type PciDeviceOptions } from "./device.js";
import { IrqSpace } from "./irq-space.js";
import { VectorMatrix } from "./vector-matrix.js";
import { IrteTable, resolveSourceId, sourceIdMatches, type SourceId } from "./irq-remapping.js";
import { IrqDesc, MsiDesc, type IrqAction, type IrqHandler } from "./irq-desc.js";
import {
  MSI_MAX_DEVICE_IRQDOMAINS,
  MsiDomain,
  type DomainBackend,
  type MsiDomainOptions,
} from "./msi-domain.js";
import { StoreOwnership, rootOf } from "./store-ownership.js";
import type { MessageStore } from "./message-store.js";
import { PASID_MAX, checkMessageStore } from "./message-store.js";
import {
  compatApicId,
  compatVector,
  composeCompat,
  composeRemappable,
  isMsiAddress,
  isRemappable,
  remappableIndex,
} from "./msi-message.js";
import { FaultLog, type FaultReason } from "./fault-log.js";
import { HandlerErrorLog, type HandlerErrorRecord } from "./handler-errors.js";

/** True for a 32-bit word, signed or unsigned (what a register or message field holds). */
function isU32(v: number): boolean {
  return (v | 0) === v || v >>> 0 === v;
}

const FAULT_POINTS: readonly FaultPoint[] = ["store-write", "vector-alloc", "irte-alloc"];
const SYSTEM_NAME = /^[A-Za-z0-9_.:-]{1,32}$/;

/** Outcome of one interrupt write (numbers, so the hot path returns without allocating). */
export const DELIVERED = 0;
/** Held: the store entry was masked (pending bit set) or the virq disabled (IRQS_PENDING). */
export const HELD = 1;
/** Refused by interrupt remapping or not an interrupt address; see the fault log. */
export const FAULTED = 2;
/** Reached a CPU vector nobody owns (counted as ERR/spurious). */
export const SPURIOUS = 3;
export type DeliveryResult = typeof DELIVERED | typeof HELD | typeof FAULTED | typeof SPURIOUS;

/** Points where a test can make the next Nth operation fail with EIO. */
export type FaultPoint = "store-write" | "vector-alloc" | "irte-alloc";

export interface IrqSystemOptions {
  /** Number of CPUs (1-32), default 4. */
  cpus?: number;
  /** Interrupt remapping (an Intel IOMMU with IR on), default false. */
  interruptRemapping?: boolean;
  /** IRTE table size, default 65536 (VT-d maximum). */
  irteCount?: number;
  /** Highest virq + 1, default 32768. */
  maxVirqs?: number;
  /** Name used in views of several systems (NTB hosts), default "host": 1-32 characters of [A-Za-z0-9_.:-]. */
  name?: string;
  /**
   * Called with each error an interrupt handler throws during delivery, after the interrupt's
   * other actions ran. Delivery never throws a handler's error. Without a hook, the error is kept
   * in `system.handlerErrors` and warned about once per action (process.emitWarning).
   */
  onHandlerError?: (record: HandlerErrorRecord) => void;
}

/** Counts of everything the system hands out: compare two to prove a teardown released it all. */
export interface ResourceSnapshot {
  devices: number;
  domains: number;
  virqs: number;
  vectorsPerCpu: number[];
  irtes: number;
  descriptors: number;
  storeEntries: number;
  actions: number;
}

export interface DeliveryStats {
  delivered: number;
  held: number;
  faulted: number;
  spurious: number;
  /** Requester-id resolutions done (one per allocation unless a domain resolved once). */
  sourceIdResolutions: number;
  /** Message (store entry or IRTE) writes. */
  messageWrites: number;
}

/**
 * The validated route of each entry of one store: the virq its raise reached through the full path
 * (mask, decode, remapping checks, vector) when nothing has changed since. Like VT-d's interrupt
 * entry cache, it is dropped wholesale on any change: the store's version or the system's epoch.
 */
class RouteCache {
  /** The interrupt each entry reached, by entry; undefined: take the full path. */
  readonly irq: (IrqDesc | undefined)[];
  version = -1;
  epoch = -1;
  constructor(readonly store: MessageStore) {
    this.irq = new Array<IrqDesc | undefined>(store.size).fill(undefined);
  }
  reset(version: number, epoch: number): void {
    this.irq.fill(undefined);
    this.version = version;
    this.epoch = epoch;
  }
}

interface PendingChange {
  readonly store: MessageStore;
  readonly index: number;
  readonly pending: boolean;
}

/** Sysfs entries a strategy or driver adds to the view: called with an emitter when the view is built. */
export type SysfsProvider = (emit: (path: string, content: string) => void) => void;

/**
 * One simulated machine: CPUs and their vector tables, the virq space, the vector domain, optional
 * interrupt remapping, the device tree with per-device MSI domains, and the delivery path.
 */
export class IrqSystem implements DomainBackend {
  readonly name: string;
  readonly cpus: number;
  readonly interruptRemapping: boolean;
  readonly irqs: IrqSpace;
  readonly matrix: VectorMatrix;
  readonly irtes: IrteTable | undefined;
  readonly faults = new FaultLog();
  readonly stats: DeliveryStats = { delivered: 0, held: 0, faulted: 0, spurious: 0, sourceIdResolutions: 0, messageWrites: 0 };
  readonly #descs: (IrqDesc | undefined)[] = [];
  readonly #devices = new Map<string, Device>();
  readonly #domains = new Map<Device, (MsiDomain | undefined)[]>();
  readonly #ownership = new Map<MessageStore, StoreOwnership>();
  readonly #removalHooks = new Map<Device, (() => void)[]>();
  readonly #sysfsProviders = new Set<SysfsProvider>();
  readonly #injected = new Map<FaultPoint, number>();
  #nextDeviceId = 1;
  #nextDomainTag = 1;
  readonly #routes = new WeakMap<MessageStore, RouteCache>();
  #lastRoutes: RouteCache | undefined;
  /** Changes with anything that can change where an interrupt goes (IRTEs, vectors, irq state, handlers). */
  #epoch = 0;
  readonly #onHandlerError: ((record: HandlerErrorRecord) => void) | undefined;
  /** Errors thrown by interrupt handlers during delivery; delivery itself never throws them. */
  readonly handlerErrors = new HandlerErrorLog();

  constructor(options: IrqSystemOptions = {}) {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `system options must be an object, got ${describe(options)}`);
    this.cpus = checkInt(options.cpus ?? 4, 1, 32, "CPU count");
    this.interruptRemapping = options.interruptRemapping ?? false;
    if (typeof this.interruptRemapping !== "boolean") throw new ImsimError("EINVAL", `interruptRemapping must be a boolean`);
    const name = options.name ?? "host";
    if (typeof name !== "string" || !SYSTEM_NAME.test(name)) throw new ImsimError("EINVAL", `system name must be 1-32 characters of [A-Za-z0-9_.:-], got ${describe(name)}`);
    this.name = name;
    if (options.onHandlerError !== undefined && typeof options.onHandlerError !== "function") {
      throw new ImsimError("EINVAL", `onHandlerError must be a function, got ${describe(options.onHandlerError)}`);
    }
    this.#onHandlerError = options.onHandlerError;
    this.irqs = new IrqSpace(checkInt(options.maxVirqs ?? 32768, 32, 1 << 24, "maxVirqs"));
    this.matrix = new VectorMatrix(this.cpus);
    this.irtes = this.interruptRemapping ? new IrteTable(checkInt(options.irteCount ?? 65536, 1, 65536, "irteCount")) : undefined;
  }

  // ---------------------------------------------------------------- device tree

  addPciDevice(options: PciDeviceOptions): Device {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `PCI device options must be an object`);
    const dev = makePciDevice(this.#nextDeviceId, options);
    return this.#attach(dev, options.parent);
  }

  addDevice(options: DeviceOptions): Device {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `device options must be an object`);
    const name = checkDeviceName(options.name);
    if (typeof options.bus !== "string" || options.bus === "pci") {
      throw new ImsimError("EINVAL", `bus of ${name} must be a non-PCI bus name (use addPciDevice for PCI), got ${describe(options.bus)}`);
    }
    return this.#attach(new Device(this.#nextDeviceId, name, options.bus, options.parent, undefined, []), options.parent);
  }

  #attach(dev: Device, parent: Device | undefined): Device {
    if (parent !== undefined) {
      if (!(parent instanceof Device) || this.#devices.get(parent.name) !== parent) {
        throw new ImsimError("ENODEV", `parent of ${dev.name} is not a device of system ${this.name}`);
      }
    }
    if (this.#devices.has(dev.name)) throw new ImsimError("EEXIST", `a device named ${dev.name} already exists in ${this.name}`);
    this.#nextDeviceId++;
    this.#devices.set(dev.name, dev);
    parent?.attachChild(dev);
    return dev;
  }

  device(name: string): Device | undefined {
    return this.#devices.get(name);
  }
  devices(): Device[] {
    return [...this.#devices.values()];
  }

  #checkDevice(dev: unknown): Device {
    if (!(dev instanceof Device) || this.#devices.get(dev.name) !== dev) {
      const name = dev instanceof Device ? dev.name : describe(dev);
      throw new ImsimError("ENODEV", `${name} is not a present device of system ${this.name}`);
    }
    return dev;
  }

  /** Runs `hook` when `device` is removed, before its interrupts are released (devres order). Returns an unregister function. */
  onRemove(device: Device, hook: () => void): () => void {
    this.#checkDevice(device);
    const list = this.#removalHooks.get(device) ?? [];
    list.push(hook);
    this.#removalHooks.set(device, list);
    return () => {
      const l = this.#removalHooks.get(device);
      if (l) l.splice(l.indexOf(hook) >>> 0, 1);
    };
  }

  /** Removes `device` and its children, releasing every interrupt, vector, IRTE and store entry they own. */
  removeDevice(device: Device): void {
    this.#checkDevice(device);
    for (const child of [...device.children].reverse()) this.removeDevice(child);
    const hooks = this.#removalHooks.get(device) ?? [];
    this.#removalHooks.delete(device);
    for (const hook of hooks.reverse()) hook();
    const domains = this.#domains.get(device) ?? [];
    for (const d of domains) if (d) this.#removeDomain(d);
    this.#domains.delete(device);
    device.parent?.detachChild(device);
    this.#devices.delete(device.name);
    device.markRemoved();
  }

  // ---------------------------------------------------------------- domains

  /** Creates a per-device MSI domain (msi_create_device_irq_domain). EEXIST if the id is taken. */
  createMsiDomain(device: Device, options: MsiDomainOptions): MsiDomain {
    this.#checkDevice(device);
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `MSI domain options must be an object`);
    checkInt(options.domainId, 0, MSI_MAX_DEVICE_IRQDOMAINS - 1, `MSI domain id of ${device.name}`);
    if (!["msi", "msix", "ims"].includes(options.kind)) throw new ImsimError("EINVAL", `MSI domain kind must be msi, msix or ims, got ${describe(options.kind)}`);
    const store = checkMessageStore(options.store, `store of the MSI domain of ${device.name}`);
    const list = this.#domains.get(device) ?? [];
    if (list[options.domainId]) throw new ImsimError("EEXIST", `${device.name} already has MSI domain ${options.domainId} (${list[options.domainId]!.name})`);
    const { root, base } = rootOf(store);
    let own = this.#ownership.get(root);
    if (!own) {
      own = new StoreOwnership(root);
      this.#ownership.set(root, own);
    }
    const domain = new MsiDomain(device, options, this, own, base, this.#nextDomainTag++);
    list[options.domainId] = domain;
    this.#domains.set(device, list);
    return domain;
  }

  msiDomain(device: Device, domainId: number): MsiDomain | undefined {
    return this.#domains.get(device)?.[domainId];
  }

  /** Every live per-device domain, in creation order of their devices. */
  domains(): MsiDomain[] {
    const out: MsiDomain[] = [];
    for (const list of this.#domains.values()) for (const d of list) if (d) out.push(d);
    return out;
  }

  /** Frees the domain's interrupts and removes it (msi_remove_device_irq_domain). */
  removeMsiDomain(device: Device, domainId: number): void {
    this.#checkDevice(device);
    const d = this.#domains.get(device)?.[domainId];
    if (!d) throw new ImsimError("ENOENT", `${device.name} has no MSI domain ${describe(domainId)}`);
    this.#removeDomain(d);
  }

  #removeDomain(d: MsiDomain): void {
    d.freeAll();
    const list = this.#domains.get(d.device);
    if (list) list[d.domainId] = undefined;
    d.markRemoved();
    const own = d.ownership;
    if (own.inUse === 0 && ![...this.#domains.values()].some((l) => l.some((x) => x?.ownership === own))) {
      this.#ownership.delete(own.store);
    }
  }

  /** Requester-id check for `device`'s interrupts, resolved now through its parent chain and DMA aliases. */
  resolveSourceId(device: Device): SourceId {
    this.stats.sourceIdResolutions++;
    return resolveSourceId(device);
  }

  // ---------------------------------------------------------------- allocation backend (DomainBackend)

  /** Makes the Nth (0-based) next operation at `point` fail with EIO; for rollback tests. */
  injectFault(point: FaultPoint, nth = 0): void {
    if (!FAULT_POINTS.includes(point)) throw new ImsimError("EINVAL", `fault point must be one of ${FAULT_POINTS.join(", ")}, got ${describe(point)}`);
    checkInt(nth, 0, Number.MAX_SAFE_INTEGER, `fault countdown for ${point}`);
    this.#injected.set(point, nth);
  }
  clearInjectedFaults(): void {
    this.#injected.clear();
  }
  #maybeFail(point: FaultPoint): void {
    const left = this.#injected.get(point);
    if (left === undefined) return;
    if (left === 0) {
      this.#injected.delete(point);
      throw new ImsimError("EIO", `injected ${point} failure`);
    }
    this.#injected.set(point, left - 1);
  }

  /** @internal */
  allocInterrupt(domain: MsiDomain, msiIndex: number, affinity: number, cookie: number): MsiDesc {
    const mask = (affinity & this.matrix.allCpusMask) >>> 0;
    if (mask === 0) throw new ImsimError("EINVAL", `affinity 0x${affinity.toString(16)} names no CPU of ${this.cpus}`);
    const virq = this.irqs.alloc(1);
    const desc = new MsiDesc(domain.device, domain.domainId, msiIndex, domain.storeBase + msiIndex, virq, cookie);
    const irq = new IrqDesc(virq, domain, desc, mask, this.cpus);
    let step = 0;
    try {
      this.#maybeFail("vector-alloc");
      const cpu = this.matrix.pickCpu(mask);
      if (cpu < 0) throw new ImsimError("ENOSPC", `no online CPU in mask 0x${mask.toString(16)} has a free vector`);
      irq.vector = this.matrix.allocOn(cpu, virq);
      irq.effectiveCpu = cpu;
      step = 1;
      if (this.irtes) {
        this.#maybeFail("irte-alloc");
        irq.irte = this.irtes.alloc(virq);
      }
      step = 2;
      this.#descs[virq] = irq;
      // A raise that hit the entry while it belonged to nobody must not fire into the new owner.
      this.#clearPending(domain.store, msiIndex);
      this.#writeMessage(irq, true);
    } catch (e) {
      this.#descs[virq] = undefined;
      if (step >= 2 && irq.irte >= 0) this.irtes!.free(irq.irte);
      if (step >= 1) this.matrix.free(irq.effectiveCpu, irq.vector);
      this.irqs.free(virq);
      throw e;
    }
    return desc;
  }

  /** Composes the message bottom-up and writes it (IRTE, then store entry with its PASID). Rolls back its own writes on failure. */
  #writeMessage(irq: IrqDesc, storeToo: boolean): void {
    const desc = irq.msiDesc;
    const domain = irq.domain;
    const pasid = domain.pasidOf ? domain.pasidOf(desc) : -1;
    if (pasid !== -1) checkInt(pasid, 0, PASID_MAX, `PASID for ${domain.name} index ${desc.msiIndex}`);
    if (this.irtes) {
      const source = domain.sourceId ?? this.resolveSourceId(domain.device);
      // Store first: it is the step that can fail, and the IRTE must not change when it does.
      if (storeToo) {
        const m = composeRemappable(irq.irte, 0);
        this.#storeWrite(irq, m.addressLo, m.addressHi, m.data, pasid);
      } else if (pasid !== desc.pasid) {
        this.#storeWrite(irq, desc.msg.addressLo, desc.msg.addressHi, desc.msg.data, pasid);
      }
      this.irtes.program(irq.irte, irq.vector, irq.effectiveCpu, source, pasid);
    } else {
      const m = composeCompat(irq.effectiveCpu, irq.vector);
      this.#storeWrite(irq, m.addressLo, m.addressHi, m.data, pasid);
    }
    desc.writes++;
    this.stats.messageWrites++;
    this.#epoch++;
  }

  #storeWrite(irq: IrqDesc, lo: number, hi: number, data: number, pasid: number): void {
    const desc = irq.msiDesc;
    const store = irq.domain.store;
    this.#maybeFail("store-write");
    store.writeMessage(desc.msiIndex, lo, hi, data);
    store.setPasid(desc.msiIndex, pasid);
    if (irq.masked) store.setMasked(desc.msiIndex, true);
    desc.msg.addressLo = lo;
    desc.msg.addressHi = hi;
    desc.msg.data = data;
    desc.pasid = pasid;
  }

  /**
   * @internal EBUSY while the interrupt's handler runs: freeing it from its own handler would
   * wait for itself in synchronize_irq() in Linux. Checked before any change.
   */
  checkFreeable(desc: MsiDesc): void {
    if (this.#descs[desc.virq]?.inProgress) {
      throw new ImsimError("EBUSY", `virq ${desc.virq} (${desc.device.name} index ${desc.msiIndex}) cannot be freed from its own handler`);
    }
  }

  /**
   * Runs `op`; when it throws, the work counters of `stats` (requester-id resolutions, message
   * writes) return to their values before it, so they count only the work of operations that
   * succeeded. Nested calls compose: each failed scope undoes its own part.
   */
  atomically<T>(op: () => T): T {
    const resolutions = this.stats.sourceIdResolutions;
    const writes = this.stats.messageWrites;
    const outer = this.#pendingJournal;
    const journal: PendingChange[] = [];
    this.#pendingJournal = journal;
    try {
      const result = op();
      outer?.push(...journal);
      return result;
    } catch (e) {
      // Pending bits the operation cleared (allocations, and the frees that rolled them back) come
      // back as the device held them: a raise that arrived before stays owed.
      for (let i = journal.length - 1; i >= 0; i--) journal[i]!.store.setPending(journal[i]!.index, journal[i]!.pending);
      this.stats.sourceIdResolutions = resolutions;
      this.stats.messageWrites = writes;
      throw e;
    } finally {
      this.#pendingJournal = outer;
    }
  }

  /** Pending bits cleared inside the innermost atomically() scope, to restore if it fails. */
  #pendingJournal: PendingChange[] | undefined;

  #clearPending(store: MessageStore, index: number): void {
    const pending = store.isPending(index);
    if (!pending) return;
    this.#pendingJournal?.push({ store, index, pending });
    store.setPending(index, false);
  }

  /** @internal */
  freeInterrupt(domain: MsiDomain, desc: MsiDesc): void {
    this.#epoch++;
    const irq = this.#descs[desc.virq]!;
    const store = domain.store;
    store.setMasked(desc.msiIndex, true);
    this.#clearPending(store, desc.msiIndex);
    store.writeMessage(desc.msiIndex, 0, 0, 0);
    if (store.supportsPasid) store.setPasid(desc.msiIndex, -1);
    if (irq.irte >= 0) this.irtes!.free(irq.irte);
    this.matrix.free(irq.effectiveCpu, irq.vector);
    irq.actions = [];
    this.#descs[desc.virq] = undefined;
    this.irqs.free(desc.virq);
  }

  /** @internal */
  rewrite(desc: MsiDesc): void {
    const irq = this.#descs[desc.virq]!;
    this.#writeMessage(irq, !this.irtes);
  }

  // ---------------------------------------------------------------- irq API

  irqDesc(virq: number): IrqDesc | undefined {
    return typeof virq === "number" ? this.#descs[virq] : undefined;
  }

  #irq(virq: unknown): IrqDesc {
    checkInt(virq, 1, this.irqs.limit - 1, "virq");
    const irq = this.#descs[virq as number];
    if (!irq) throw new ImsimError("ENOENT", `virq ${virq} is not allocated in ${this.name}`);
    return irq;
  }

  /** Every allocated virq's descriptor, ascending. */
  *irqDescs(): IterableIterator<IrqDesc> {
    for (const d of this.#descs) if (d) yield d;
  }

  /** request_irq(): adds an action; the first one starts (unmasks) the interrupt. */
  requestIrq(virq: number, name: string, handler: IrqHandler, devId: unknown = undefined): void {
    const irq = this.#irq(virq);
    if (typeof name !== "string" || name.length === 0 || name.length > 64) throw new ImsimError("EINVAL", `action name must be a 1-64 character string, got ${describe(name)}`);
    if (typeof handler !== "function") throw new ImsimError("EINVAL", `handler for virq ${virq} must be a function, got ${describe(handler)}`);
    if (irq.actions.some((a) => a.name === name)) throw new ImsimError("EBUSY", `virq ${virq} already has an action named ${name}`);
    const action: IrqAction = { name, handler, devId };
    this.#epoch++;
    irq.actions = [...irq.actions, action];
    if (!irq.started) {
      // irq_startup() resets the disable depth (kernel/irq/chip.c; KUnit irq_free_disabled_test).
      irq.started = true;
      irq.depth = 0;
      this.#startup(irq);
    }
  }

  /** free_irq(): removes the named action; the last one shuts the interrupt down (masked). */
  freeIrq(virq: number, name: string): void {
    const irq = this.#irq(virq);
    if (!irq.actions.some((a) => a.name === name)) throw new ImsimError("ENOENT", `virq ${virq} has no action named ${describe(name)}`);
    if (irq.inProgress) throw new ImsimError("EBUSY", `free_irq(${virq}, ${name}) from the interrupt's own handler would wait for itself (synchronize_irq)`);
    irq.actions = irq.actions.filter((a) => a.name !== name);
    this.#epoch++;
    if (irq.actions.length === 0) {
      irq.started = false;
      irq.pending = false;
      this.#mask(irq);
    }
  }

  /** disable_irq(): nests; the entry is masked at the first level. */
  disableIrq(virq: number): void {
    const irq = this.#irq(virq);
    if (irq.depth === 0xffff) throw new ImsimError("EINVAL", `virq ${virq} disabled too deeply`);
    irq.depth++;
    this.#epoch++;
    if (irq.depth === 1) this.#mask(irq);
  }

  /** enable_irq(): at depth 0 a held interrupt is delivered once (Linux's resend). EINVAL when unbalanced. */
  enableIrq(virq: number): void {
    const irq = this.#irq(virq);
    if (irq.depth === 0) throw new ImsimError("EINVAL", `unbalanced enable for virq ${virq} (not disabled)`);
    irq.depth--;
    this.#epoch++;
    if (irq.depth === 0 && irq.started) this.#startup(irq);
  }

  #startup(irq: IrqDesc): void {
    if (irq.pending) {
      irq.pending = false;
      this.#handle(irq, irq.effectiveCpu);
    }
    this.#unmask(irq);
  }

  #mask(irq: IrqDesc): void {
    this.#epoch++;
    irq.masked = true;
    irq.domain.store.setMasked(irq.msiDesc.msiIndex, true);
  }

  #unmask(irq: IrqDesc): void {
    this.#epoch++;
    irq.masked = false;
    const store = irq.domain.store;
    const i = irq.msiDesc.msiIndex;
    store.setMasked(i, false);
    if (store.isPending(i)) {
      store.setPending(i, false);
      this.msiWrite(store.addressLo(i), store.addressHi(i), store.data(i), store.requesterId, store.pasid(i));
    }
  }

  /** Sets the requested CPUs of `virq`; it moves when its effective CPU leaves the mask. */
  setAffinity(virq: number, mask: number): void {
    this.atomically(() => this.#setAffinity(virq, mask));
  }

  #setAffinity(virq: number, mask: number): void {
    const irq = this.#irq(virq);
    checkInt(mask, 1, 0xffffffff, `affinity mask for virq ${virq}`);
    const m = (mask & this.matrix.allCpusMask) >>> 0;
    if (m === 0 || (m & this.matrix.onlineMask) === 0) throw new ImsimError("EINVAL", `affinity 0x${mask.toString(16)} for virq ${virq} names no online CPU`);
    if (((m >>> irq.effectiveCpu) & 1) === 0) this.#move(irq, m);
    irq.affinity = m;
  }

  /** Moves an interrupt to the least-loaded online CPU of `mask`: new vector, message re-composed and re-written. */
  #move(irq: IrqDesc, mask: number): void {
    const oldCpu = irq.effectiveCpu;
    const oldVector = irq.vector;
    this.#moveKeepingOld(irq, mask);
    this.matrix.free(oldCpu, oldVector);
  }

  /** Takes a CPU off or on line. Offline moves its interrupts first; EBUSY for the last online CPU. */
  setCpuOnline(cpu: number, online: boolean): void {
    this.atomically(() => this.#setCpuOnline(cpu, online));
  }

  #setCpuOnline(cpu: number, online: boolean): void {
    checkInt(cpu, 0, this.cpus - 1, "CPU");
    if (typeof online !== "boolean") throw new ImsimError("EINVAL", `online must be a boolean, got ${describe(online)}`);
    if (online === this.matrix.isOnline(cpu)) return;
    this.#epoch++;
    if (online) {
      this.matrix.setOnline(cpu, true);
      return;
    }
    const others = (this.matrix.onlineMask & ~(1 << cpu)) >>> 0;
    if (others === 0) throw new ImsimError("EBUSY", `CPU${cpu} is the last online CPU`);
    this.matrix.setOnline(cpu, false);
    const moved: { irq: IrqDesc; cpu: number; vector: number }[] = [];
    try {
      for (const irq of this.irqDescs()) {
        if (irq.effectiveCpu !== cpu) continue;
        const within = (irq.affinity & others) >>> 0;
        const before = { irq, cpu: irq.effectiveCpu, vector: irq.vector };
        this.#moveKeepingOld(irq, within !== 0 ? within : others);
        moved.push(before);
      }
    } catch (e) {
      for (const m of moved.reverse()) this.#moveBack(m.irq, m.cpu, m.vector);
      this.matrix.setOnline(cpu, true);
      throw new ImsimError(isImsimError(e) ? e.code : "EIO", `CPU${cpu} cannot go offline: ${(e as Error).message}`);
    }
    for (const m of moved) this.matrix.free(m.cpu, m.vector);
  }

  #moveKeepingOld(irq: IrqDesc, mask: number): void {
    const cpu = this.matrix.pickCpu(mask);
    if (cpu < 0) throw new ImsimError("ENOSPC", `no online CPU in 0x${mask.toString(16)} has a free vector for virq ${irq.virq}`);
    const vector = this.matrix.allocOn(cpu, irq.virq);
    const oldCpu = irq.effectiveCpu;
    const oldVector = irq.vector;
    irq.effectiveCpu = cpu;
    irq.vector = vector;
    try {
      this.#writeMessage(irq, !this.irtes);
    } catch (e) {
      irq.effectiveCpu = oldCpu;
      irq.vector = oldVector;
      this.matrix.free(cpu, vector);
      throw e;
    }
  }

  #moveBack(irq: IrqDesc, cpu: number, vector: number): void {
    this.matrix.free(irq.effectiveCpu, irq.vector);
    irq.effectiveCpu = cpu;
    irq.vector = vector;
    this.#writeMessage(irq, !this.irtes);
  }

  isCpuOnline(cpu: number): boolean {
    return this.matrix.isOnline(cpu);
  }

  // ---------------------------------------------------------------- delivery (hot path)

  /**
   * The device raises entry `index` of `store`: held in the pending bit while masked, else written
   * to the interrupt address with the store's requester id and the entry's PASID.
   * EINVAL (nothing recorded, nothing delivered) when `store` is not a message store or `index` is
   * not an integer entry of it.
   */
  raise(store: MessageStore, index: number): DeliveryResult {
    // Fast path, kept small so that it inlines: a route validated since the last change. The
    // integer check also keeps "0" or 0.5 from reading the cache as 0.
    const routes = this.#lastRoutes;
    if (routes !== undefined && routes.store === store && index >>> 0 === index && routes.version === store.version && routes.epoch === this.#epoch) {
      const irq = routes.irq[index];
      if (irq !== undefined && !irq.inProgress) return this.#runEdge(irq, irq.effectiveCpu);
    }
    return this.#raiseSlow(store, index);
  }

  #raiseSlow(store: MessageStore, index: number): DeliveryResult {
    if (typeof store !== "object" || store === null || typeof store.isMasked !== "function" || typeof store.size !== "number") {
      throw new ImsimError("EINVAL", `raise needs a message store, got ${describe(store)}`);
    }
    if (index >>> 0 !== index || index >= store.size) {
      throw new ImsimError("EINVAL", `entry to raise must be an integer in [0, ${store.size - 1}] of ${store.chipName}, got ${describe(index)}`);
    }
    let routes = this.#lastRoutes;
    if (routes === undefined || routes.store !== store) routes = this.#routesOf(store);
    const version = store.version;
    const epoch = this.#epoch;
    if ((routes.version !== version || routes.epoch !== epoch) && typeof version === "number") routes.reset(version, epoch);
    if (store.isMasked(index)) {
      store.setPending(index, true);
      this.stats.held++;
      return HELD;
    }
    // "| 0": addresses above 2^31 would otherwise travel as boxed doubles.
    const virq = this.#resolve(store.addressLo(index) | 0, store.addressHi(index) | 0, store.data(index) | 0, store.requesterId, store.pasid(index));
    if (virq <= 0) return -virq as DeliveryResult;
    const irq = this.#descs[virq]!;
    const cpu = this.#resolvedCpu;
    // The route is remembered before any handler runs, so a handler that raises another entry
    // (or frees, allocates, moves) cannot leave its own target in this entry's slot. Only a route
    // to an interrupt that would run now is kept; every change to that bumps the epoch.
    if (routes.epoch === epoch && routes.version === store.version && irq.depth === 0 && irq.started && cpu === irq.effectiveCpu) {
      routes.irq[index] = irq;
    }
    return this.#handle(irq, cpu);
  }

  #routesOf(store: MessageStore): RouteCache {
    let routes = this.#routes.get(store);
    if (routes === undefined) {
      routes = new RouteCache(store);
      this.#routes.set(store, routes);
    }
    this.#lastRoutes = routes;
    return routes;
  }

  /**
   * A memory write of `data` to (addressHi:addressLo) carrying `requesterId` and `pasid` (-1 none):
   * decoded as an MSI, validated by interrupt remapping, dispatched to the CPU's vector.
   * EINVAL when an argument is not a 32-bit integer (addresses, data), a 16-bit requester id, or a
   * PASID (-1 or 20 bits); nothing is recorded then.
   */
  msiWrite(addressLo: number, addressHi: number, data: number, requesterId: number, pasid: number): DeliveryResult {
    if (!isU32(addressLo) || !isU32(addressHi) || !isU32(data)) {
      throw new ImsimError("EINVAL", `an interrupt write needs 32-bit address and data words, got ${describe(addressLo)}, ${describe(addressHi)}, ${describe(data)}`);
    }
    if (requesterId >>> 0 !== requesterId || requesterId > 0xffff) throw new ImsimError("EINVAL", `requester id must be a 16-bit integer, got ${describe(requesterId)}`);
    if (pasid !== -1 && (pasid >>> 0 !== pasid || pasid > PASID_MAX)) throw new ImsimError("EINVAL", `PASID must be -1 or in [0, ${PASID_MAX}], got ${describe(pasid)}`);
    const virq = this.#resolve(addressLo | 0, addressHi | 0, data | 0, requesterId, pasid);
    if (virq <= 0) return -virq as DeliveryResult;
    return this.#handle(this.#descs[virq]!, this.#resolvedCpu);
  }

  /** The CPU the last #resolve reached; read right after it, before any handler can run. */
  #resolvedCpu = 0;

  /**
   * Where a write goes, without running anything: the virq it reaches (the CPU in #resolvedCpu),
   * or -FAULTED / -SPURIOUS after recording why.
   */
  #resolve(addressLo: number, addressHi: number, data: number, requesterId: number, pasid: number): number {
    if (!isMsiAddress(addressLo, addressHi)) return this.#fault("not-msi-address", -1, requesterId, pasid, addressLo);
    let cpu: number;
    let vector: number;
    const irtes = this.irtes;
    if (irtes) {
      if (!isRemappable(addressLo)) return this.#fault("compat-format-blocked", -1, requesterId, pasid, addressLo);
      const index = remappableIndex(addressLo, data);
      if (index >= irtes.size || irtes.present[index] === 0) return this.#fault("irte-not-present", index, requesterId, pasid, addressLo);
      if (!sourceIdMatches(irtes.svt[index]!, irtes.sid[index]!, requesterId)) return this.#fault("source-id-mismatch", index, requesterId, pasid, addressLo);
      if (irtes.pasid[index] !== pasid) return this.#fault("pasid-mismatch", index, requesterId, pasid, addressLo);
      cpu = irtes.destination[index]!;
      vector = irtes.vector[index]!;
    } else {
      if (isRemappable(addressLo)) return this.#fault("remappable-without-ir", -1, requesterId, pasid, addressLo);
      cpu = compatApicId(addressLo);
      vector = compatVector(data);
    }
    // An offline CPU owns no device vector (its interrupts moved away), so no online check is needed.
    const virq = this.matrix.lookup(cpu, vector);
    if (virq <= 0 || this.#descs[virq] === undefined) {
      this.stats.spurious++;
      return -SPURIOUS;
    }
    this.#resolvedCpu = cpu;
    return virq;
  }

  /**
   * handle_edge_irq (kernel/irq/chip.c): an interrupt whose handler is running, that is disabled or
   * has no action is marked pending (IRQS_PENDING) and masked; otherwise it is counted and run.
   */
  #handle(irq: IrqDesc, cpu: number): DeliveryResult {
    if (irq.inProgress || irq.depth !== 0 || !irq.started) {
      irq.pending = true;
      if (!irq.masked) this.#mask(irq);
      this.stats.held++;
      return HELD;
    }
    return this.#runEdge(irq, cpu);
  }

  /**
   * The body of handle_edge_irq once the interrupt may run: count it on `cpu`, run every action
   * with IRQD_IRQ_INPROGRESS set, and run again while a raise arrived meanwhile (unmasking first),
   * so handlers of one interrupt never nest. A throwing action does not stop the others or the
   * flow: its error is recorded (see `handlerErrors`).
   */
  #runEdge(irq: IrqDesc, cpu: number): DeliveryResult {
    irq.counts[cpu]!++;
    this.stats.delivered++;
    let hookError: unknown = undefined;
    do {
      if (irq.pending) {
        irq.pending = false;
        if (irq.masked) this.#unmask(irq);
      }
      irq.inProgress = true;
      const actions = irq.actions;
      for (let i = 0; i < actions.length; i++) {
        const a = actions[i]!;
        try {
          a.handler(irq.virq, a.devId);
        } catch (e) {
          try {
            this.#handlerFailed(irq, a, e);
          } catch (h) {
            hookError ??= h;
          }
        }
      }
      irq.inProgress = false;
    } while (irq.pending && irq.depth === 0 && irq.started && this.#descs[irq.virq] === irq);
    // An onHandlerError hook that throws reaches the caller, but only once the flow is complete.
    if (hookError !== undefined) throw hookError;
    return DELIVERED;
  }

  #handlerFailed(irq: IrqDesc, action: IrqAction, error: unknown): void {
    const record = this.handlerErrors.record(irq.virq, action.name, error);
    if (this.#onHandlerError) {
      this.#onHandlerError(record);
    } else if (this.handlerErrors.firstOf(irq.virq, action.name)) {
      const text = `imsim: handler ${action.name} of virq ${irq.virq} in ${this.name} threw: ${error instanceof Error ? error.message : String(error)} (kept in system.handlerErrors; pass onHandlerError to createSystem to handle it)`;
      const proc = (globalThis as { process?: { emitWarning?: (w: string) => void } }).process;
      if (proc?.emitWarning) proc.emitWarning(text);
      else console.warn(text);
    }
  }

  #fault(reason: FaultReason, irte: number, requesterId: number, pasid: number, address: number): number {
    this.stats.faulted++;
    this.faults.record(reason, irte, requesterId, pasid, address >>> 0);
    return -FAULTED;
  }

  // ---------------------------------------------------------------- views and snapshots

  addSysfsProvider(provider: SysfsProvider): () => void {
    this.#sysfsProviders.add(provider);
    return () => this.#sysfsProviders.delete(provider);
  }
  /** @internal Used by the sysfs view. */
  sysfsProviders(): Iterable<SysfsProvider> {
    return this.#sysfsProviders;
  }

  snapshot(): ResourceSnapshot {
    let descriptors = 0;
    let actions = 0;
    for (const d of this.domains()) descriptors += d.allocated;
    for (const irq of this.irqDescs()) actions += irq.actions.length;
    let storeEntries = 0;
    for (const o of this.#ownership.values()) storeEntries += o.inUse;
    return {
      devices: this.#devices.size,
      domains: this.domains().length,
      virqs: this.irqs.inUse,
      vectorsPerCpu: this.matrix.usage(),
      irtes: this.irtes?.inUse ?? 0,
      descriptors,
      storeEntries,
      actions,
    };
  }
}

/** Creates a system: `createSystem({ cpus: 4, interruptRemapping: true })`. */
export function createSystem(options: IrqSystemOptions = {}): IrqSystem {
  return new IrqSystem(options);
}
