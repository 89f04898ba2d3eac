// The facade over core's modules for one simulated x86 host: the public API checks its arguments
// and hands over to irqdesc, irqdomain, vector/matrix, remapping, msi, chip, manage, cpuhotplug
// and delivery, as kernel/irq and arch/x86 split the work.
import { ImsimError, checkInt, describe } from "./errors.js";
import type { Device, DeviceOptions, PciDeviceOptions } from "./device.js";
import { Cpumask, NR_CPUS_MAX, toCpumask, type CpumaskLike } from "./cpumask.js";
import { IrqSpace, type IrqAction, type IrqDesc, type IrqHandler } from "./irqdesc.js";
import { IrqDescTable } from "./irqdesc-table.js";
import type { IrqDomain } from "./irqdomain.js";
import type { MsiDomain } from "./msi-domain.js";
import { MsiIrqs } from "./msi-irqs.js";
import type { MessageStore } from "./message-store.js";
import { DeviceRegistry, type MsiDomainOptions } from "./device-registry.js";
import { FaultInjector, WorkJournal } from "./rollback.js";
import { FaultLog } from "./fault-log.js";
import { HandlerErrorLog, type HandlerErrorRecord } from "./handler-errors.js";
import { IRTE_MAX, irteOf, resolveSourceId, type RemapUnit, type SourceId } from "./remapping.js";
import { X86Platform, Q35_GSI_TOP, probeNrIrqs } from "./x86-platform.js";
import { IrqManager } from "./manage.js";
import { cpuOffline, cpuOnline } from "./cpuhotplug.js";
import { Delivery } from "./delivery.js";
import type { DeliveryResult } from "./chip.js";
import type { ArchCounts, DeliveryStats, FaultPoint, IrqContext } from "./context.js";
import { busOf } from "./pci-id.js";
import type { VectorDomain } from "./vector.js";
import type { IrqMatrix } from "./matrix.js";

export type { FaultPoint, DeliveryStats } from "./context.js";
export { DELIVERED, HELD, FAULTED, SPURIOUS, type DeliveryResult } from "./chip.js";
export type { MsiDomainOptions } from "./device-registry.js";
const SYSTEM_NAME = /^[A-Za-z0-9_.:-]{1,32}$/;

export interface IrqSystemOptions {
  /** Number of CPUs (1-8192), default 4. */
  cpus?: number;
  /** Interrupt remapping (Intel IOMMUs with IR on), default false. */
  interruptRemapping?: boolean;
  /** DMAR units with remapping, each over an equal share of the PCI buses (1-16), default 1. */
  iommus?: number;
  /** The IOMMUs are virtual (VT-d caching mode, a guest's vIOMMU): "vIR-" parents without PCI/IMS. */
  virtualIommu?: boolean;
  /** Entries per remapping table (64-65536), default 65536 (the VT-d maximum). */
  irteCount?: number;
  /** Highest virq + 1, default 2^20. */
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
  /** Global vector reservations (interrupts allocated but not activated). */
  reservedVectors: number;
  /** Managed vector reservations over all CPUs. */
  managedVectors: number;
  irtes: number;
  descriptors: number;
  storeEntries: number;
  actions: number;
}

/** Sysfs entries a strategy or driver adds to the view: called with an emitter when the view is built. */
export type SysfsProvider = (emit: (path: string, content: string) => void) => void;

/** One simulated x86 host: CPUs, the interrupt hierarchy, devices and their MSI domains, delivery. */
export class IrqSystem {
  readonly name: string;
  /** nr_cpu_ids. */
  readonly cpus: number;
  readonly interruptRemapping: boolean;
  readonly faults = new FaultLog();
  readonly stats: DeliveryStats = { delivered: 0, held: 0, faulted: 0, spurious: 0, sourceIdResolutions: 0, messageWrites: 0 };
  /** Errors thrown by interrupt handlers during delivery; delivery itself never throws them. */
  readonly handlerErrors = new HandlerErrorLog();
  readonly arch: ArchCounts;
  readonly platform: X86Platform;
  readonly #ctx: IrqContext;
  readonly #manager: IrqManager;
  readonly #msi: MsiIrqs;
  readonly #delivery: Delivery;
  readonly #onHandlerError: ((record: HandlerErrorRecord) => void) | undefined;
  readonly #registry: DeviceRegistry;
  readonly #sysfsProviders = new Set<SysfsProvider>();
  readonly #injected = new FaultInjector();
  readonly #journal = new WorkJournal(this.stats);
  /** The snapshot right after boot: what a full teardown returns to. */
  readonly bootSnapshot: ResourceSnapshot;

  constructor(options: IrqSystemOptions = {}) {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `system options must be an object, got ${describe(options)}`);
    const nrCpus = checkInt(options.cpus ?? 4, 1, NR_CPUS_MAX, "CPU count");
    const ir = options.interruptRemapping ?? false;
    if (typeof ir !== "boolean") throw new ImsimError("EINVAL", `interruptRemapping must be a boolean, got ${describe(ir)}`);
    const virtualIommu = options.virtualIommu ?? false;
    if (typeof virtualIommu !== "boolean") throw new ImsimError("EINVAL", `virtualIommu must be a boolean, got ${describe(virtualIommu)}`);
    const iommus = checkInt(options.iommus ?? 1, 1, 16, "IOMMU count");
    // The host's own interrupts (the IO-APIC's legacy lines) take IRTEs at boot.
    const irteCount = checkInt(options.irteCount ?? IRTE_MAX, 64, IRTE_MAX, "irteCount");
    const name = options.name ?? "host";
    if (typeof name !== "string" || !SYSTEM_NAME.test(name)) throw new ImsimError("EINVAL", `system name must be 1-32 characters of [A-Za-z0-9_.:-], got ${describe(name)}`);
    if (options.onHandlerError !== undefined && typeof options.onHandlerError !== "function") {
      throw new ImsimError("EINVAL", `onHandlerError must be a function, got ${describe(options.onHandlerError)}`);
    }
    const maxVirqs = checkInt(options.maxVirqs ?? 1 << 20, Q35_GSI_TOP + 64, 1 << 26, "maxVirqs");
    this.name = name;
    this.cpus = nrCpus;
    this.interruptRemapping = ir;
    this.#onHandlerError = options.onHandlerError;
    this.arch = { spurious: new Uint32Array(nrCpus) };
    const all = Cpumask.full(nrCpus);
    let delivery: Delivery | undefined;
    const ctx: IrqContext = {
      name,
      nrCpus,
      online: all,
      allCpus: all,
      defaultAffinity: all,
      descs: new IrqDescTable(new IrqSpace(maxVirqs, Q35_GSI_TOP, probeNrIrqs(Q35_GSI_TOP, nrCpus))),
      vector: undefined as unknown as VectorDomain,
      stats: this.stats,
      arch: this.arch,
      faults: this.faults,
      handlerErrors: this.handlerErrors,
      invalidateRoutes: () => delivery?.invalidate(),
      maybeFail: (point) => this.#injected.maybeFail(point),
      moveIrq: (desc) => this.#manager.moveIrq(desc),
      handlerFailed: (desc, action, error) => this.#handlerFailed(desc, action, error),
    };
    this.platform = new X86Platform(
      { nrCpus, get online() { return ctx.online; }, invalidateRoutes: () => ctx.invalidateRoutes(), maybeFail: (p) => this.#injected.maybeFail(p) },
      { invalidateRoutes: () => ctx.invalidateRoutes(), maybeFail: (p) => this.#injected.maybeFail(p), countResolution: () => this.stats.sourceIdResolutions++ },
      { interruptRemapping: ir, iommus, virtualIommu, irteCount },
    );
    (ctx as { vector: VectorDomain }).vector = this.platform.vector;
    this.#ctx = ctx;
    this.#manager = new IrqManager(ctx);
    this.#msi = new MsiIrqs(
      ctx,
      this.#manager,
      (s, i) => this.#journal.clearPending(s, i),
      (op) => this.atomically(op),
      (s, i) => void this.#delivery.raise(s, i),
    );
    this.#registry = new DeviceRegistry(name, this.platform, this.#msi, this.stats);
    this.#delivery = delivery = new Delivery(ctx, (rid) => this.platform.unitOfBus(busOf(rid)));
    for (let cpu = 0; cpu < nrCpus; cpu++) this.platform.vector.cpuOnline(cpu);
    this.platform.boot(ctx, (desc, action) => this.#manager.request(desc, action, () => {}, undefined));
    this.stats.sourceIdResolutions = 0;
    this.bootSnapshot = this.snapshot();
  }

  // ---------------------------------------------------------------- parts

  /** The x86 VECTOR domain (vector matrix, per-CPU vector tables, cleanup timers). */
  get vector(): VectorDomain {
    return this.platform.vector;
  }
  get matrix(): IrqMatrix {
    return this.platform.vector.matrix;
  }
  /** The interrupt-remapping units (empty without remapping). */
  get iommus(): readonly RemapUnit[] {
    return this.platform.units;
  }
  /** The first unit's remapping table, undefined without remapping. */
  get irtes(): RemapUnit["table"] | undefined {
    return this.platform.units[0]?.table;
  }
  /** The virq space (irq numbers, nr_irqs). */
  get irqs(): IrqSpace {
    return this.#ctx.descs.space;
  }
  /** cpu_online_mask. */
  get onlineCpus(): Cpumask {
    return this.#ctx.online;
  }
  /** irq_default_affinity. */
  get defaultAffinity(): Cpumask {
    return this.#ctx.defaultAffinity;
  }
  /** Converts what the API takes as a CPU set into a mask of this system's CPUs (EINVAL when malformed or empty). */
  cpumask(value: CpumaskLike, what = "CPU mask"): Cpumask {
    return toCpumask(value, this.cpus, what);
  }

  // ---------------------------------------------------------------- device tree

  addPciDevice(options: PciDeviceOptions): Device {
    return this.#registry.addPciDevice(options);
  }

  addDevice(options: DeviceOptions): Device {
    return this.#registry.addDevice(options);
  }

  /**
   * The device `name` on `bus` (names are unique per bus, as in Linux); without `bus`, the PCI
   * device of that name if any, else the first device of that name.
   */
  device(name: string, bus?: string): Device | undefined {
    return this.#registry.device(name, bus);
  }
  devices(): Device[] {
    return this.#registry.devices();
  }

  /** Runs `hook` when `device` is removed, before its interrupts are released (devres order). Returns an unregister function. */
  onRemove(device: Device, hook: () => void): () => void {
    return this.#registry.onRemove(device, hook);
  }

  /**
   * Removes `device` and its children (hot-unplug): removal hooks run, then every interrupt they
   * own is released; actions still requested are freed first, as devres frees them.
   */
  removeDevice(device: Device): void {
    this.#registry.remove(device);
  }

  // ---------------------------------------------------------------- per-device MSI domains

  /**
   * msi_create_device_irq_domain: a domain of `device` on its MSI parent (the remapping unit over
   * it, or VECTOR). EEXIST when the id is taken; EOPNOTSUPP when the parent refuses the template
   * (IMS without a physical remapping unit). Nothing changes on error.
   */
  createMsiDomain(device: Device, options: MsiDomainOptions): MsiDomain {
    return this.#registry.createMsiDomain(device, options);
  }

  msiDomain(device: Device, domainId: number): MsiDomain | undefined {
    return this.#registry.msiDomain(device, domainId);
  }

  /** Every live per-device domain, in creation order of their devices. */
  domains(): MsiDomain[] {
    return this.#registry.domains();
  }

  /** Every domain of the host: the fixed ones (VECTOR, INTEL-IR-n, IO-APIC-0, DMAR-MSI, HPET-MSI-0), then the devices'. */
  irqDomains(): IrqDomain[] {
    return [...this.platform.fixedDomains(), ...this.domains().map((d) => d.irqDomain)];
  }

  /** Frees the domain's interrupts and removes it (msi_remove_device_irq_domain). EBUSY while one has actions. */
  removeMsiDomain(device: Device, domainId: number): void {
    this.#registry.removeMsiDomain(device, domainId);
  }

  /** What interrupt remapping verifies for `device`'s interrupts (set_msi_sid); a query, not counted. */
  resolveSourceId(device: Device): SourceId {
    return resolveSourceId(device);
  }

  // ---------------------------------------------------------------- failures and rollback

  /** Makes the Nth (0-based) next operation at `point` fail with EIO; for rollback tests. */
  injectFault(point: FaultPoint, nth = 0): void {
    this.#injected.inject(point, nth);
  }
  clearInjectedFaults(): void {
    this.#injected.clear();
  }

  /**
   * Runs `op`; when it throws, the work counters of `stats` (requester-id resolutions, message
   * writes) and the store pending bits core cleared return to their values before it, so a failed
   * operation did no work. Nested calls compose: each failed scope undoes its own part.
   */
  atomically<T>(op: () => T): T {
    return this.#journal.atomically(op);
  }

  #handlerFailed(desc: IrqDesc, action: IrqAction, error: unknown): void {
    const record = this.handlerErrors.record(desc.virq, action.name, error);
    if (this.#onHandlerError) {
      this.#onHandlerError(record);
    } else if (this.handlerErrors.firstOf(desc.virq, action.name)) {
      const text = `imsim: handler ${action.name} of virq ${desc.virq} in ${this.name} threw: ${error instanceof Error ? error.message : String(error)} (kept in system.handlerErrors; pass onHandlerError to createSystem to handle it)`;
      const proc = (globalThis as { process?: { emitWarning?: (w: string) => void } }).process;
      if (proc?.emitWarning) proc.emitWarning(text);
      else console.warn(text);
    }
  }

  // ---------------------------------------------------------------- the irq API

  irqDesc(virq: number): IrqDesc | undefined {
    return typeof virq === "number" ? this.#ctx.descs.get(virq) : undefined;
  }

  #irq(virq: unknown): IrqDesc {
    checkInt(virq, 0, this.irqs.limit - 1, "virq");
    const irq = this.#ctx.descs.get(virq as number);
    if (!irq) throw new ImsimError("ENOENT", `virq ${virq} is not allocated in ${this.name}`);
    return irq;
  }

  /** Every allocated virq's descriptor, ascending. */
  irqDescs(): IterableIterator<IrqDesc> {
    return this.#ctx.descs.all();
  }

  /** The IRTE index behind `virq`, -1 without remapping. */
  irteOf(virq: number): number {
    return irteOf(this.#irq(virq));
  }

  /** request_irq(): adds an action; the first one activates and starts the interrupt. ENOSPC when no vector is left. */
  requestIrq(virq: number, name: string, handler: IrqHandler, devId: unknown = undefined): void {
    const irq = this.#irq(virq);
    this.atomically(() => this.#manager.request(irq, name, handler, devId));
  }

  /** free_irq(): removes the named action; the last one shuts the interrupt down and deactivates it. */
  freeIrq(virq: number, name: string): void {
    this.#manager.free(this.#irq(virq), name);
  }

  /**
   * Frees every action of `virq`, as devres does for a driver that goes away (devm_request_irq);
   * the interrupt is shut down and deactivated. Returns how many. EBUSY from its own handler.
   */
  freeAllActions(virq: number): number {
    const irq = this.#irq(virq);
    const names = irq.actions.map((a) => a.name);
    for (const name of names) this.#manager.free(irq, name);
    return names.length;
  }

  /** disable_irq_nosync(): nests; lazy as for MSI (masked when an interrupt arrives meanwhile). */
  disableIrq(virq: number): void {
    this.#manager.disable(this.#irq(virq));
  }

  /** enable_irq(): at depth 0 a held interrupt is delivered (the device's pending bit and a resend). EINVAL when unbalanced. */
  enableIrq(virq: number): void {
    const irq = this.#irq(virq);
    this.atomically(() => this.#manager.enable(irq));
  }

  /** irq_set_affinity() as a write of /proc/irq/N/smp_affinity does it: EPERM for managed interrupts. */
  setAffinity(virq: number, mask: CpumaskLike): void {
    const irq = this.#irq(virq);
    const m = toCpumask(mask, this.cpus, `affinity for virq ${virq}`);
    this.atomically(() => this.#manager.setAffinity(irq, m));
  }

  /** Takes a CPU off or on line. Offline moves its interrupts first; EBUSY for the last online CPU. */
  setCpuOnline(cpu: number, online: boolean): void {
    checkInt(cpu, 0, this.cpus - 1, "CPU");
    if (typeof online !== "boolean") throw new ImsimError("EINVAL", `online must be a boolean, got ${describe(online)}`);
    this.atomically(() => (online ? cpuOnline(this.#ctx, cpu) : cpuOffline(this.#ctx, this.#manager, cpu)));
  }

  isCpuOnline(cpu: number): boolean {
    return this.#ctx.online.has(cpu);
  }

  /** Advances time by `jiffies` (default 1): the vector cleanup timers that expire free the vectors old moves kept. Returns how many. */
  tick(jiffies = 1): number {
    checkInt(jiffies, 1, 1_000_000, "jiffies");
    return this.platform.vector.tick(jiffies);
  }

  // ---------------------------------------------------------------- delivery

  /**
   * The device raises entry `index` of `store`: held in the pending bit while masked, else written
   * to the interrupt address with the store's requester id. EINVAL (nothing recorded, nothing
   * delivered) when `store` is not a message store or `index` is not an integer entry of it.
   */
  raise(store: MessageStore, index: number): DeliveryResult {
    return this.#delivery.raise(store, index);
  }

  /**
   * A memory write of `data` to (addressHi:addressLo) carrying `requesterId`, as a peer or a
   * forged write would: decoded, validated by interrupt remapping (the requester id; VT-d checks no
   * PASID), dispatched. `pasid` (-1 none) is checked for range and otherwise unused, as interrupt remapping ignores it.
   */
  msiWrite(addressLo: number, addressHi: number, data: number, requesterId: number, pasid = -1): DeliveryResult {
    return this.#delivery.msiWrite(addressLo, addressHi, data, requesterId, pasid);
  }

  /** An interrupt arriving at `vector` of `cpu` directly (an IPI or a retrigger). */
  deliverVector(cpu: number, vector: number): DeliveryResult {
    checkInt(cpu, 0, this.cpus - 1, "CPU");
    checkInt(vector, 0, 255, "vector");
    return this.#delivery.deliverVector(cpu, vector);
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
    const m = this.matrix;
    let managed = 0;
    for (let c = 0; c < this.cpus; c++) managed += m.counts(c).managed;
    return {
      devices: this.#registry.size,
      domains: this.domains().length,
      virqs: this.irqs.inUse,
      vectorsPerCpu: this.platform.vector.usage(),
      reservedVectors: m.globalReserved,
      managedVectors: managed,
      irtes: this.platform.units.reduce((a, u) => a + u.table.inUse, 0),
      descriptors,
      storeEntries: this.#registry.storeEntriesInUse(),
      actions,
    };
  }
}

/** Creates a system: `createSystem({ cpus: 4, interruptRemapping: true })`. */
export function createSystem(options: IrqSystemOptions = {}): IrqSystem {
  return new IrqSystem(options);
}
