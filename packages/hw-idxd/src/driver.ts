import {
  ImsimError,
  MSI_DEFAULT_DOMAIN,
  acceptTemplate,
  checkInt,
  checkInterfaceVersion,
  describe,
  imsTemplate,
  isImsimError,
  type ImsStrategy,
  type Device,
  type IrqSystem,
  type MsiDomain,
  type Queue,
  type QueueOptions,
  type StrategyFactory,
  type StrategyOptions,
} from "@imsim/core";
import { encodeDescriptor, readCompletionRecord, type CompletionRecord, type DescriptorInit } from "./descriptor.js";
import { SUBMIT_ACCEPTED, SUBMIT_RETRY, type IdxdDevice, type SubmitStatus } from "./device.js";
import * as R from "./registers.js";
import { SliceAllocator } from "./slice-allocator.js";
import { virqInHandler } from "./checks.js";
import { IdxdConfDevices } from "./conf-devices.js";

/** The PCI driver's name (DRV_NAME, drivers/dma/idxd/init.c), also idxd_drv's on the dsa bus. */
export const IDXD_PCI_DRIVER = "idxd";

/** How one WQ is set up at probe. `type` says who uses it: the kernel (MSI-X), user clients or a guest (IMS). */
export interface WqSetup {
  id: number;
  type: "kernel" | "user" | "vdev";
  mode: "dedicated" | "shared";
  size: number;
  group: number;
  /** Shared WQs: occupancy at which the limited portal answers retry (WQCFG.wq_thresh); default size. */
  threshold?: number;
  priority?: number;
}

export interface IdxdDriverOptions {
  /** The IMS storage design: `createStrategy` of @imsim/strategy-subdevice or @imsim/strategy-flat. */
  strategy: StrategyFactory;
  strategyOptions?: StrategyOptions;
  /** Engines of each group (index = group id). Default: engine g in group g. */
  groups?: number[][];
  /** WQs to configure. Default `defaultWqSetup()`. */
  wqs?: WqSetup[];
  /** Device instance number in names (dsa0, wq0.1); default the first free on the host (ida_alloc). */
  instance?: number;
  /**
   * The kernel's PASID on this device (Linux `idxd->pasid`, set when the driver enables PASID):
   * kernel dedicated WQs get it in WQCFG, kernel shared WQs submit with it, it is bound to the
   * device's physical memory (the kernel's DMA address space), and each kernel WQ's MSI-X
   * permission entry carries it. Default: none, as Linux without device PASID: those entries stay 0.
   */
  kernelPasid?: number;
}

/** The WQCFG registers the driver programs for a WQ (idxd_wq_config_write): size, threshold, mode/PASID, max shifts. */
const WQCFG_PROGRAMMED = [R.WQCFG_WQ_SIZE, R.WQCFG_WQ_THRESH, R.WQCFG_MODE_PASID, R.WQCFG_MAX_SHIFTS] as const;

/**
 * A typical split of a Sapphire Rapids DSA (8 WQs, 4 engines, 4 groups, 128 WQ entries): a kernel
 * dedicated WQ, a shared WQ for user clients, two dedicated WQs for guests, one engine per group.
 */
export function defaultWqSetup(): WqSetup[] {
  return [
    { id: 0, type: "kernel", mode: "dedicated", size: 32, group: 0 },
    { id: 1, type: "user", mode: "shared", size: 32, group: 1 },
    { id: 2, type: "vdev", mode: "dedicated", size: 32, group: 2 },
    { id: 3, type: "vdev", mode: "dedicated", size: 32, group: 3 },
  ];
}

/** A descriptor a kernel user submits: everything but the fields the driver fills in. */
export type KernelDescriptor = Omit<DescriptorInit, "intHandle" | "completionAddr" | "pasid">;

/** One descriptor in flight on a kernel WQ. */
export interface KernelSubmission {
  /** SUBMIT_ACCEPTED, or SUBMIT_RETRY when a shared WQ was full. */
  readonly status: SubmitStatus;
  readonly completionAddr: number;
  /** Set by the WQ's interrupt handler once the completion record is written. */
  done: boolean;
  record: CompletionRecord | undefined;
}

/** A kernel WQ: its MSI-X vector (wq id + 1), interrupt handle and completion bookkeeping. */
export interface KernelWq {
  readonly id: number;
  readonly name: string;
  readonly vector: number;
  readonly virq: number;
  readonly handle: number;
  /** Completion interrupts its handler has taken. */
  readonly interrupts: number;
  /** Submissions still waiting for their record. */
  readonly outstanding: number;
}

class KernelWqState implements KernelWq {
  readonly id: number;
  readonly name: string;
  readonly vector: number;
  virq = 0;
  handle = -1;
  interrupts = 0;
  readonly slots: (KernelSubmission & { onComplete?: (r: CompletionRecord) => void })[] = [];
  readonly records: number[] = [];
  readonly free: number[] = [];
  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
    this.vector = id + 1;
  }
  get outstanding(): number {
    return this.records.length - this.free.length;
  }
}

/** An error the misc handler read from SWERR. */
export interface SoftwareErrorRecord {
  error: number;
  wq: number;
  operation: number;
  pasid: number;
  overflow: boolean;
  invalidFlags: number;
  faultAddr: bigint;
}

/** Something the driver tears down with itself (a user queue, a guest's virtual device, an IMS client). */
export interface DriverChild {
  /** Releases what the child holds. `deviceGone`: the device was removed, only drop references. */
  release(deviceGone: boolean): void;
  /** Whether a handler of one of its interrupts is running now (then it cannot be released: EBUSY). */
  inHandler(): boolean;
}


/**
 * The IDXD driver: probes and configures the device through its registers, takes MSI-X for the
 * control block (vector 0 "idxd-misc") and the kernel WQs ("idxd-portal"), and gives every other
 * queue (user clients, guests) IMS interrupts through the chosen strategy, where the platform
 * offers an IMS domain (a physical interrupt-remapping unit; EOPNOTSUPP for them otherwise). Mirrors the flow of
 * drivers/dma/idxd/init.c and device.c (idxd_probe, idxd_device_config, idxd_wq_enable), written
 * from their description, not their code.
 */
export class IdxdDriver {
  readonly device: IdxdDevice;
  readonly system: IrqSystem;
  readonly name: string;
  readonly instance: number;
  readonly msixDomain: MsiDomain;
  readonly miscVirq: number;
  readonly #strategy: ImsStrategy | undefined;
  /** Why the platform gave no IMS domain (EOPNOTSUPP), when it did not. */
  readonly #imsRefused: ImsimError | undefined;
  readonly #setup = new Map<number, WqSetup>();
  readonly #kernelWqs = new Map<number, KernelWqState>();
  readonly #children = new Set<DriverChild>();
  readonly #wqUsers = new Map<number, number>();
  readonly #slices: SliceAllocator | undefined;
  readonly #imsHandles = new Map<number, number>();
  readonly softwareErrors: SoftwareErrorRecord[] = [];
  readonly #kernelPasid: number;
  #kernelPasidBound = false;
  #msixPermOffset = 0;
  #miscInterrupts = 0;
  #removed = false;
  #deviceGone = false;
  #unhook: () => void;
  #conf: IdxdConfDevices | undefined;

  private constructor(device: IdxdDevice, options: IdxdDriverOptions) {
    this.device = device;
    this.system = device.system;
    this.instance = checkInt(options.instance ?? IdxdConfDevices.firstFreeInstance(device.system), 0, 255, "IDXD instance");
    this.name = `dsa${this.instance}`;
    this.#kernelPasid = options.kernelPasid === undefined ? -1 : checkInt(options.kernelPasid, 1, 0xfffff, `kernel PASID of ${this.name}`);
    const system = this.system;
    const pci = device.pci;
    // pci_set_master, then a clean device (idxd_device_reset).
    device.setBusMaster(true);
    this.#unhook = system.onRemove(pci, () => this.#onDeviceRemoved());
    const { err } = this.#cmd(R.CMD_RESET_DEVICE, 0);
    if (err !== R.CMDSTS_SUCCESS) throw new ImsimError("EIO", `${this.name}: reset failed with CMDSTS 0x${err.toString(16)}`);
    const caps = this.readCapabilities();
    this.#msixPermOffset = caps.msixPermOffset;
    try {
      // idxd_pci_probe: the PCI driver binds; idxd_register_devices: dsa<id> and its WQs on the dsa bus.
      pci.driver = IDXD_PCI_DRIVER;
      this.#conf = new IdxdConfDevices(system, pci, this.instance, caps.numWqs);
      // MSI-X: the PCI device's default domain; vector 0 for errors and command completion.
      this.msixDomain = system.createMsiDomain(pci, { domainId: MSI_DEFAULT_DOMAIN, store: device.msix, kind: "msix" });
      this.miscVirq = this.msixDomain.allocAt(0).virq;
      system.requestIrq(this.miscVirq, "idxd-misc", () => this.#miscInterrupt());
      // IMS only where the platform offers it (pci_create_ims_domain → x86_init_dev_msi_info: a
      // physical remapping unit above the function). Where it does not, the driver goes on
      // without IMS, as a driver whose pci_create_ims_domain() returned false: the kernel WQs keep
      // their MSI-X vectors, IMS clients are refused with EOPNOTSUPP. There is no MSI-X fallback
      // for them: v6.9's idxd gives only kernel WQs an interrupt (drivers/dma/idxd/device.c,
      // idxd_wq_request_irq returns early for other WQ types) and has no IMS path at all.
      this.#imsRefused = device.ims ? imsRefusal(system, device) : undefined;
      this.#strategy = device.ims && !this.#imsRefused ? options.strategy(system, pci, device.ims, options.strategyOptions) : undefined;
      // A strategy built for another core interface version may still work: warn once, go on.
      if (this.#strategy) checkInterfaceVersion(this.#strategy);
      // The kernel's DMA address space under its PASID (iommu_attach_device_pasid of the DMA domain).
      if (this.#kernelPasid >= 0) {
        device.bindPasid(this.#kernelPasid, device.memory);
        this.#kernelPasidBound = true;
      }
      this.#slices = device.ims ? new SliceAllocator(device.ims.size) : undefined;
      device.write(R.IDXD_GENCTRL, 4, R.GENCTRL_SOFTERR_INT_EN | R.GENCTRL_HALT_INT_EN);
      this.#configure(options, caps);
      const en = this.#cmd(R.CMD_ENABLE_DEVICE, 0);
      if (en.err !== R.CMDSTS_SUCCESS) throw new ImsimError("EIO", `${this.name}: ENABLE_DEVICE failed with CMDSTS 0x${en.err.toString(16)}`);
      // idxd_device_drv ("idxd") on the dsa bus: the device is enabled.
      this.#conf.device.driver = IDXD_PCI_DRIVER;
      for (const wq of this.#setup.values()) if (wq.type === "kernel") this.#enableKernelWq(wq);
    } catch (e) {
      this.remove();
      throw e;
    }
  }

  /** Binds the driver to `device`: reset, MSI-X, strategy, configuration, enable, kernel WQs. */
  static probe(device: IdxdDevice, options: IdxdDriverOptions): IdxdDriver {
    if (typeof options !== "object" || options === null || typeof options.strategy !== "function") {
      throw new ImsimError("EINVAL", `IDXD driver options need a strategy factory, got ${describe(options)}`);
    }
    device.pci.assertPresent("IDXD device");
    // A failed probe releases everything it took (see the constructor) and its work counters.
    return device.system.atomically(() => new IdxdDriver(device, options));
  }

  /**
   * The IMS strategy; ENODEV when the device has no IMS table, EOPNOTSUPP when the platform offers
   * no IMS domain (no interrupt remapping, or a virtual IOMMU's).
   */
  get strategy(): ImsStrategy {
    if (this.#imsRefused) throw new ImsimError("EOPNOTSUPP", `${this.name} has no IMS: ${this.#imsRefused.message}`);
    if (!this.#strategy) throw new ImsimError("ENODEV", `${this.device.pci.name} has no IMS table`);
    return this.#strategy;
  }
  /** Whether IMS clients (user queues, guests, `createImsQueue`) can be created: the device has an IMS table and the platform an IMS domain for it. */
  get imsAvailable(): boolean {
    return this.#strategy !== undefined;
  }
  get removed(): boolean {
    return this.#removed;
  }
  get miscInterrupts(): number {
    return this.#miscInterrupts;
  }

  // ------------------------------------------------------------------ registers

  /** Issues a command and returns CMDSTS's error and result fields (idxd_cmd_exec, polled). ENODEV once removed. */
  command(code: number, operand: number): { err: number; result: number } {
    this.#assertLive();
    return this.guardCommands(() => this.#cmd(code, operand));
  }

  #cmd(code: number, operand: number): { err: number; result: number } {
    try {
      this.device.write(R.IDXD_CMD, 4, ((code << R.CMD_CODE_SHIFT) | (operand & R.CMD_OPERAND_MASK)) >>> 0);
    } catch (e) {
      // The command ran to the end; what threw was an interrupt write of the descriptors it drained
      // (see IdxdDevice). Kept so that the driver finishes its bookkeeping first (guardCommands).
      if (!this.#cmdFailed) this.#cmdError = e;
      this.#cmdFailed = true;
    }
    const sts = this.device.read(R.IDXD_CMDSTS, 4);
    return { err: sts & R.CMDSTS_ERR_MASK, result: (sts >>> R.CMDSTS_RES_SHIFT) & 0xffff };
  }

  #cmdFailed = false;
  #cmdError: unknown = undefined;

  /**
   * Runs a driver operation that issues commands; an error an interrupt write threw during one of
   * them (only possible with an `onHandlerError` hook that throws) is rethrown once the operation
   * has finished, so the driver's state never stops halfway. Nests (handlers may call back in).
   * @internal Also used by the clients' close().
   */
  guardCommands<T>(op: () => T): T {
    const outerFailed = this.#cmdFailed;
    const outerError = this.#cmdError;
    this.#cmdFailed = false;
    this.#cmdError = undefined;
    let result: T;
    try {
      result = op();
    } catch (e) {
      this.#cmdFailed = outerFailed;
      this.#cmdError = outerError;
      throw e;
    }
    const failed = this.#cmdFailed;
    const error = this.#cmdError;
    this.#cmdFailed = outerFailed;
    this.#cmdError = outerError;
    if (failed) throw error;
    return result;
  }

  /** The capability registers decoded as the driver sees them (idxd_read_caps). */
  readCapabilities(): { numWqs: number; numEngines: number; numGroups: number; totalWqSize: number; imsEntries: number; cmdCap: boolean; requestIntHandle: boolean; wqcfgOffset: number; grpcfgOffset: number; imsOffset: number; msixPermOffset: number } {
    const d = this.device;
    const gencap = d.read(R.IDXD_GENCAP, 8);
    const wqcap = d.read(R.IDXD_WQCAP, 8);
    const tables = d.read(R.IDXD_TABLEOFF, 8);
    const field = (v: bigint, shift: bigint, bits: bigint) => Number((v >> shift) & ((1n << bits) - 1n));
    const cmdCap = (gencap & R.GENCAP_CMD_CAP) !== 0n;
    return {
      numWqs: field(wqcap, R.WQCAP_NUM_WQS_SHIFT, 8n),
      totalWqSize: field(wqcap, R.WQCAP_TOTAL_SIZE_SHIFT, 16n),
      numGroups: d.read(R.IDXD_GRPCAP, 4) & 0xff,
      numEngines: d.read(R.IDXD_ENGCAP, 4) & 0xff,
      imsEntries: field(gencap, R.GENCAP_MAX_IMS_MULT_SHIFT, 6n) * R.IMS_MULT_UNIT,
      cmdCap,
      requestIntHandle: cmdCap && (d.read(R.IDXD_CMDCAP, 4) & (1 << R.CMD_REQUEST_INT_HANDLE)) !== 0,
      grpcfgOffset: field(tables, BigInt(R.TABLEOFF_GRPCFG_SHIFT), 16n) * R.IDXD_TABLE_MULT,
      wqcfgOffset: field(tables, BigInt(R.TABLEOFF_WQCFG_SHIFT), 16n) * R.IDXD_TABLE_MULT,
      msixPermOffset: field(tables, BigInt(R.TABLEOFF_MSIX_PERM_SHIFT), 16n) * R.IDXD_TABLE_MULT,
      imsOffset: field(tables, BigInt(R.TABLEOFF_IMS_SHIFT), 16n) * R.IDXD_TABLE_MULT,
    };
  }

  #configure(options: IdxdDriverOptions, caps: ReturnType<IdxdDriver["readCapabilities"]>): void {
    const d = this.device;
    const groups = options.groups ?? Array.from({ length: Math.min(caps.numGroups, caps.numEngines) }, (_, g) => [g]);
    if (!Array.isArray(groups) || groups.length > caps.numGroups) throw new ImsimError("EINVAL", `${this.name} has ${caps.numGroups} groups; got ${describe(groups)}`);
    const wqs = options.wqs ?? defaultWqSetup();
    if (!Array.isArray(wqs)) throw new ImsimError("EINVAL", `wqs must be an array, got ${describe(wqs)}`);
    for (const wq of wqs) {
      checkInt(wq.id, 0, caps.numWqs - 1, `WQ id on ${this.name}`);
      checkInt(wq.size, 1, caps.totalWqSize, `size of wq${this.instance}.${wq.id}`);
      checkInt(wq.group, 0, groups.length - 1, `group of wq${this.instance}.${wq.id}`);
      if (!["kernel", "user", "vdev"].includes(wq.type)) throw new ImsimError("EINVAL", `type of wq${this.instance}.${wq.id} must be kernel, user or vdev, got ${describe(wq.type)}`);
      if (wq.mode !== "dedicated" && wq.mode !== "shared") throw new ImsimError("EINVAL", `mode of wq${this.instance}.${wq.id} must be dedicated or shared`);
      if (this.#setup.has(wq.id)) throw new ImsimError("EEXIST", `wq${this.instance}.${wq.id} is configured twice`);
      this.#setup.set(wq.id, { ...wq });
    }
    // GRPCFG: engines and WQs of each group (idxd_groups_config_write).
    groups.forEach((engines, g) => {
      const base = caps.grpcfgOffset + g * R.GRPCFG_SIZE;
      let engMask = 0n;
      for (const e of engines) engMask |= 1n << BigInt(checkInt(e, 0, caps.numEngines - 1, `engine of group ${g}`));
      d.write(base + R.GRPCFG_ENGINES, 8, engMask);
      let wqMask = 0n;
      for (const wq of wqs) if (wq.group === g) wqMask |= 1n << BigInt(wq.id);
      for (let q = 0; q < 4; q++) d.write(base + R.GRPCFG_WQS + q * 8, 8, (wqMask >> BigInt(64 * q)) & 0xffffffffffffffffn);
    });
    // WQCFG (idxd_wq_config_write); a kernel dedicated WQ takes the kernel PASID (drv_enable_wq);
    // user and guest WQs get their PASID when they are opened.
    for (const wq of wqs) this.#writeWqcfg(wq, wq.type === "kernel" && wq.mode === "dedicated" ? this.#kernelPasid : -1);
    d.write(R.IDXD_GENCFG, 4, R.GENCFG_USER_INT_EN);
  }

  #writeWqcfg(wq: WqSetup, pasid: number): void {
    const base = this.device.wqcfgOffset + wq.id * R.WQCFG_SIZE;
    const d = this.device;
    d.write(base + R.WQCFG_WQ_SIZE, 4, wq.size);
    d.write(base + R.WQCFG_WQ_THRESH, 4, wq.mode === "shared" ? (wq.threshold ?? wq.size) : 0);
    let mode = ((wq.priority ?? 1) & 0xf) << R.WQCFG_PRIORITY_SHIFT;
    if (wq.mode === "dedicated") mode |= R.WQCFG_MODE_DEDICATED;
    if (pasid >= 0) mode |= R.WQCFG_PASID_EN | (pasid << R.WQCFG_PASID_SHIFT);
    if (wq.type === "kernel") mode |= R.WQCFG_PRIV;
    d.write(base + R.WQCFG_MODE_PASID, 4, mode >>> 0);
    d.write(base + R.WQCFG_MAX_SHIFTS, 4, this.device.caps.maxXferShift | (this.device.caps.maxBatchShift << 5));
  }

  // ------------------------------------------------------------------ WQ enable / disable

  /** The probe-time setup of WQ `id`. */
  wqSetup(id: number): WqSetup {
    const s = this.#setup.get(id);
    if (!s) throw new ImsimError("ENOENT", `wq${this.instance}.${describe(id)} is not configured on ${this.name}`);
    return s;
  }

  #assertLive(): void {
    if (this.#removed) throw new ImsimError("ENODEV", `${this.name} driver has been removed`);
  }

  #enableWq(id: number): void {
    const { err } = this.#cmd(R.CMD_ENABLE_WQ, id);
    if (err !== R.CMDSTS_SUCCESS) throw new ImsimError("EIO", `ENABLE_WQ wq${this.instance}.${id} failed with CMDSTS 0x${err.toString(16)}`);
    this.#conf?.setWqEnabled(id, this.wqSetup(id).type, true);
  }
  #disableWq(id: number): void {
    if (this.#deviceGone || !this.device.wqEnabled(id)) return;
    this.#cmd(R.CMD_DISABLE_WQ, (1 << (id % 16)) | (Math.floor(id / 16) << 16));
    this.#conf?.setWqEnabled(id, this.wqSetup(id).type, false);
  }

  /** The device's configuration device on the dsa bus (`dsa<id>`) and its WQs' (`wq<id>.<n>`). */
  get confDevice(): Device {
    return this.#conf!.device;
  }
  /** The device of WQ `id` on the dsa bus. */
  wqDevice(id: number): Device | undefined {
    return this.#conf?.wq(id);
  }

  /**
   * Takes a user or guest WQ for a client. A dedicated WQ has one client and gets `pasid` in
   * WQCFG; a shared WQ is enabled by its first client. Returns a release function.
   * @internal Used by user queues and virtual devices.
   */
  acquireWq(id: number, type: "user" | "vdev", pasid: number): () => void {
    const wq = this.checkWq(id, type);
    const users = this.#wqUsers.get(id) ?? 0;
    // A dedicated WQ's configuration before its client's PASID went in: put back when the enable
    // fails and when the client lets the WQ go, so neither leaves that PASID in WQCFG.
    let saved: number[] | undefined;
    if (users === 0) {
      if (wq.mode === "dedicated") {
        saved = this.#readWqcfg(id);
        this.#writeWqcfg(wq, pasid);
      }
      try {
        this.#enableWq(id);
      } catch (e) {
        if (saved) this.#restoreWqcfg(id, saved);
        throw e;
      }
    }
    this.#wqUsers.set(id, users + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#wqUsers.get(id) ?? 1) - 1;
      if (left > 0) this.#wqUsers.set(id, left);
      else {
        this.#wqUsers.delete(id);
        this.#disableWq(id);
        if (saved && !this.#deviceGone && !this.device.wqEnabled(id)) this.#restoreWqcfg(id, saved);
      }
    };
  }

  /**
   * Throws what `acquireWq(id, type, …)` would refuse with, changing nothing: ENODEV once the
   * driver is removed, ENOENT for a WQ not configured, EINVAL for a WQ of another type, EBUSY for a
   * dedicated WQ that has its client. @internal Clients check before they take anything.
   */
  checkWq(id: number, type: "user" | "vdev"): WqSetup {
    this.#assertLive();
    const wq = this.wqSetup(id);
    if (wq.type !== type) throw new ImsimError("EINVAL", `wq${this.instance}.${id} is a ${wq.type} WQ, not ${type}`);
    if (wq.mode === "dedicated" && (this.#wqUsers.get(id) ?? 0) > 0) throw new ImsimError("EBUSY", `dedicated wq${this.instance}.${id} already has a client`);
    return wq;
  }

  /** The WQCFG registers #writeWqcfg programs, as they read now. */
  #readWqcfg(id: number): number[] {
    const base = this.device.wqcfgOffset + id * R.WQCFG_SIZE;
    return WQCFG_PROGRAMMED.map((off) => this.device.read(base + off, 4));
  }
  #restoreWqcfg(id: number, saved: readonly number[]): void {
    const base = this.device.wqcfgOffset + id * R.WQCFG_SIZE;
    WQCFG_PROGRAMMED.forEach((off, i) => this.device.write(base + off, 4, saved[i]!));
  }

  /** Disables WQ `id` with everything using it: its clients (user queues, guest) are released. */
  disableWq(id: number): void {
    this.guardCommands(() => this.#disableWqWithClients(id));
  }

  #disableWqWithClients(id: number): void {
    this.#assertLive();
    const wq = this.wqSetup(id);
    if (wq.type === "kernel") {
      const k = this.#kernelWqs.get(id);
      if (k && virqInHandler(this.system, k.virq)) throw new ImsimError("EBUSY", `${k.name} cannot be disabled from its own interrupt handler`);
      if (k) this.#releaseKernelWq(k);
      return;
    }
    const clients = [...this.#children].filter((c) => (c as { wqId?: number }).wqId === id);
    if (clients.some((c) => c.inHandler())) throw new ImsimError("EBUSY", `wq${this.instance}.${id} cannot be disabled from the interrupt handler of one of its clients`);
    for (const c of clients) c.release(false);
    this.#disableWq(id);
  }

  // ------------------------------------------------------------------ interrupt handles

  /** An interrupt handle for MSI-X vector or IMS entry `index` (REQUEST_INT_HANDLE, or the index without cmd_cap). */
  requestHandle(index: number, ims: boolean): number {
    this.#assertLive();
    if (!this.device.caps.intHandles) return index;
    const { err, result } = this.#cmd(R.CMD_REQUEST_INT_HANDLE, index | (ims ? R.CMD_INT_HANDLE_IMS : 0));
    if (err !== R.CMDSTS_SUCCESS) throw new ImsimError("EIO", `REQUEST_INT_HANDLE ${ims ? "IMS" : "MSI-X"} ${index} failed with CMDSTS 0x${err.toString(16)}`);
    return result;
  }
  releaseHandle(handle: number, ims: boolean): void {
    if (this.#deviceGone || !this.device.caps.intHandles) return;
    this.#cmd(R.CMD_RELEASE_INT_HANDLE, handle | (ims ? R.CMD_INT_HANDLE_IMS : 0));
  }

  /** The handle of IMS entry `storeIndex`, requested once and cached until `releaseImsHandle`. */
  imsHandle(storeIndex: number): number {
    let h = this.#imsHandles.get(storeIndex);
    if (h === undefined) {
      h = this.requestHandle(storeIndex, true);
      this.#imsHandles.set(storeIndex, h);
    }
    return h;
  }
  releaseImsHandle(storeIndex: number): void {
    const h = this.#imsHandles.get(storeIndex);
    if (h === undefined) return;
    this.#imsHandles.delete(storeIndex);
    this.releaseHandle(h, true);
  }

  // ------------------------------------------------------------------ IMS slices and children

  /** Reserves `count` consecutive IMS entries for one queue. @internal */
  allocSlice(count: number): { base: number; count: number } {
    this.#assertLive();
    if (!this.#slices) throw new ImsimError("ENODEV", `${this.device.pci.name} has no IMS table`);
    return { base: this.#slices.alloc(count), count };
  }
  /** @internal */
  freeSlice(base: number): void {
    this.#slices?.free(base);
  }
  /** @internal */
  addChild(child: DriverChild): void {
    this.#assertLive();
    this.#children.add(child);
  }
  /** @internal */
  removeChild(child: DriverChild): void {
    this.#children.delete(child);
  }
  /** Whether the PCI function is gone (hot-unplugged). */
  get deviceGone(): boolean {
    return this.#deviceGone;
  }

  /**
   * An IMS client queue of a shared WQ, created through the strategy with the caller's options:
   * the generic form the conformance adapter drives. Its interrupts are allocated, not requested:
   * the caller requests them (request_irq writes the IMS entries, v6.9's IMS template has no
   * MSI_FLAG_ACTIVATE_EARLY) and frees them before `destroyImsQueue`. EOPNOTSUPP when the platform
   * offers no IMS (see `strategy`).
   */
  createImsQueue(wqId: number, options: QueueOptions): Queue {
    // Everything that can fail comes before the first device command; a failure undoes the rest.
    return this.system.atomically(() => {
      this.#assertLive();
      const strategy = this.strategy;
      this.checkWq(wqId, "user");
      const queue = strategy.createQueue(options);
      let release: () => void;
      try {
        release = this.acquireWq(wqId, "user", -1);
      } catch (e) {
        strategy.destroyQueue(queue);
        throw e;
      }
      const inHandler = () => strategy.irqs(queue).some((irq) => virqInHandler(this.system, irq.virq));
      /**
       * free_irq of the actions still requested when `freeActions` (an owner tearing everything
       * down), the queue's interrupts (EBUSY, changing nothing, while one still has an action:
       * free_irq() comes first), then the interrupt handles and the WQ.
       */
      const destroy = (gone: boolean, freeActions: boolean): void => {
        const irqs = gone ? [] : strategy.irqs(queue);
        if (!gone) {
          if (inHandler()) throw new ImsimError("EBUSY", `IMS queue ${queue.name} cannot be destroyed from the handler of one of its interrupts`);
          if (freeActions) for (const irq of irqs) this.system.freeAllActions(irq.virq);
          strategy.destroyQueue(queue);
        }
        for (const irq of irqs) this.releaseImsHandle(irq.storeIndex);
        this.#children.delete(child);
        this.#imsQueues.delete(queue);
        release();
      };
      const child: DriverChild & { wqId: number; queue: Queue; destroy: typeof destroy } = {
        wqId,
        queue,
        inHandler,
        destroy,
        // Unbinding the driver or disabling the WQ takes the queue down with whatever was requested on it.
        release: (gone) => destroy(gone, true),
      };
      this.#children.add(child);
      this.#imsQueues.set(queue, child);
      return queue;
    });
  }
  readonly #imsQueues = new Map<Queue, DriverChild & { destroy: (gone: boolean, freeActions: boolean) => void }>();

  /**
   * Destroys an IMS queue of `createImsQueue`: its interrupts, their handles, its hold on the WQ.
   * Every action on its interrupts must have been freed first (EBUSY otherwise, nothing changed),
   * unless `freeActions` is set: then they are freed here first (what an adapter's teardown does).
   */
  destroyImsQueue(queue: Queue, options: { freeActions?: boolean } = {}): void {
    this.#assertLive();
    const child = this.#imsQueues.get(queue);
    if (!child) throw new ImsimError("ENOENT", `${describe(queue)} is not an IMS queue of ${this.name}`);
    this.guardCommands(() => child.destroy(false, options?.freeActions === true));
  }

  // ------------------------------------------------------------------ kernel WQs (MSI-X)

  #enableKernelWq(wq: WqSetup): void {
    const k = new KernelWqState(wq.id, `wq${this.instance}.${wq.id}`);
    if (k.vector >= this.device.msix.size) throw new ImsimError("ENOSPC", `${this.name} has no MSI-X vector ${k.vector} for ${k.name}`);
    this.#kernelWqs.set(wq.id, k);
    this.#setPermEntry(k.vector);
    k.virq = this.msixDomain.allocAt(k.vector).virq;
    this.system.requestIrq(k.virq, "idxd-portal", () => this.#kernelInterrupt(k));
    k.handle = this.requestHandle(k.vector, false);
    for (let i = 0; i < wq.size; i++) {
      k.records.push(this.device.memory.alloc(R.COMP_RECORD_SIZE, R.COMP_RECORD_ALIGN));
      k.free.push(i);
    }
    this.#enableWq(wq.id);
  }

  #releaseKernelWq(k: KernelWqState): void {
    this.#kernelWqs.delete(k.id);
    if (this.#deviceGone) return;
    this.#disableWq(k.id);
    if (k.handle >= 0) this.releaseHandle(k.handle, false);
    this.#clearPermEntry(k.vector);
    if (k.virq > 0 && this.msixDomain.desc(k.vector)) {
      this.system.freeIrq(k.virq, "idxd-portal");
      this.msixDomain.free(k.vector);
    }
  }

  /**
   * MSI-X permission entry of a kernel WQ's vector, as Linux programs it (idxd_wq_request_irq →
   * idxd_device_set_perm_entry, drivers/dma/idxd/device.c): with a kernel PASID, PASID enable and
   * that PASID; without one the entry is not written and stays 0 (reset clears the table). Older
   * kernels wrote every entry 1..N-1 at once (idxd_msix_perm_setup); the kernel WQs' entries end
   * up the same.
   */
  #setPermEntry(vector: number): void {
    if (this.#kernelPasid < 0) return;
    const perm = (R.MSIX_PERM_PASID_EN | (this.#kernelPasid << R.MSIX_PERM_PASID_SHIFT)) >>> 0;
    this.device.write(this.#msixPermOffset + vector * R.MSIX_PERM_SIZE, 4, perm);
  }
  /** idxd_device_clear_perm_entry: the entry back to 0 when the kernel WQ lets its vector go. */
  #clearPermEntry(vector: number): void {
    this.device.write(this.#msixPermOffset + vector * R.MSIX_PERM_SIZE, 4, 0);
  }

  /** The kernel PASID (`kernelPasid` option), or undefined when the kernel uses none. */
  get kernelPasid(): number | undefined {
    return this.#kernelPasid < 0 ? undefined : this.#kernelPasid;
  }

  /** The kernel WQ `id` as it stands. */
  kernelWq(id: number): KernelWq {
    this.#assertLive();
    const k = this.#kernelWqs.get(id);
    if (!k) throw new ImsimError("ENOENT", `wq${this.instance}.${describe(id)} is not an enabled kernel WQ of ${this.name}`);
    return k;
  }

  /**
   * Submits a descriptor to kernel WQ `id` with a completion record and a completion interrupt on
   * its MSI-X vector (flags CRAV | RCR | RCI added). `onComplete` runs from the WQ's interrupt handler.
   */
  submit(id: number, descriptor: KernelDescriptor, onComplete?: (record: CompletionRecord) => void): KernelSubmission {
    this.#assertLive();
    const k = this.#kernelWqs.get(id);
    if (!k) throw new ImsimError("ENOENT", `wq${this.instance}.${describe(id)} is not an enabled kernel WQ of ${this.name}`);
    const slot = k.free.pop();
    if (slot === undefined) throw new ImsimError("EBUSY", `${k.name} has ${k.records.length} descriptors in flight`);
    const addr = k.records[slot]!;
    this.device.memory.write(addr, new Uint8Array(R.COMP_RECORD_SIZE));
    const flags = ((descriptor.flags ?? 0) | R.OP_FLAG_CRAV | R.OP_FLAG_RCR | R.OP_FLAG_RCI) >>> 0;
    const dedicated = this.wqSetup(id).mode === "dedicated";
    // A dedicated WQ stamps its WQCFG PASID; on a shared one ENQCMDS carries the kernel PASID, if any.
    const pasid = dedicated ? -1 : this.#kernelPasid;
    const bytes = encodeDescriptor({ ...descriptor, flags, completionAddr: addr, intHandle: k.handle, priv: true, ...(pasid >= 0 ? { pasid } : {}) });
    // The device throws only what an interrupt write threw after it took (or dropped) the
    // descriptor (see IdxdDevice): the slot is booked as for its answer, then the error goes on.
    let status: SubmitStatus = dedicated ? SUBMIT_ACCEPTED : SUBMIT_RETRY;
    let failed = false;
    let error: unknown;
    try {
      status = this.device.submit(R.portalOffset(id, true, false), bytes, pasid);
    } catch (e) {
      failed = true;
      error = e;
    }
    const sub: KernelSubmission & { onComplete?: (r: CompletionRecord) => void } = { status, completionAddr: addr, done: false, record: undefined };
    if (onComplete) sub.onComplete = onComplete;
    if (status !== SUBMIT_ACCEPTED && !dedicated) k.free.push(slot);
    else k.slots[slot] = sub;
    if (failed) throw error;
    return sub;
  }

  /**
   * idxd-portal handler: reaps every written completion record of the WQ. A throwing `onComplete`
   * does not stop the others: every record is reaped, then the first error goes to core, which
   * keeps it in `system.handlerErrors` (or hands it to `onHandlerError`).
   */
  #kernelInterrupt(k: KernelWqState): void {
    k.interrupts++;
    let failed = false;
    let error: unknown;
    for (let slot = 0; slot < k.records.length; slot++) {
      const sub = k.slots[slot];
      if (!sub || sub.done) continue;
      const status = this.device.memory.readU8(k.records[slot]!);
      if (status === 0) continue;
      sub.done = true;
      sub.record = readCompletionRecord(this.device.memory, k.records[slot]!);
      k.slots[slot] = undefined as never;
      k.free.push(slot);
      try {
        sub.onComplete?.(sub.record);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
    if (failed) throw error;
  }

  /** idxd-misc handler: reads and acknowledges INTCAUSE; on ERR, copies SWERR and acknowledges it. */
  #miscInterrupt(): void {
    this.#miscInterrupts++;
    const d = this.device;
    const cause = d.read(R.IDXD_INTCAUSE, 4);
    d.write(R.IDXD_INTCAUSE, 4, cause);
    if ((cause & R.INTC_ERR) !== 0) {
      const q0 = d.read(R.IDXD_SWERR, 8);
      if ((q0 & BigInt(R.SWERR_VALID)) !== 0n) {
        const lo = Number(q0 & 0xffffffffn);
        const hi = Number(q0 >> 32n);
        this.softwareErrors.push({
          error: (lo >>> 8) & 0xff,
          wq: lo & R.SWERR_WQ_IDX_VALID ? (lo >>> 16) & 0xff : -1,
          operation: lo & R.SWERR_DESC_VALID ? hi & 0xff : -1,
          pasid: (hi >>> 8) & 0xfffff,
          overflow: (lo & R.SWERR_OVERFLOW) !== 0,
          invalidFlags: d.read(R.IDXD_SWERR + R.SWERR_INVALID_FLAGS_OFFSET, 4),
          faultAddr: d.read(R.IDXD_SWERR + R.SWERR_FAULT_ADDR_OFFSET, 8),
        });
        d.write(R.IDXD_SWERR, 4, lo & R.SWERR_ACK);
      }
    }
  }

  // ------------------------------------------------------------------ teardown

  /**
   * Unbinds the driver: releases every child (guests, user queues), every kernel WQ, the misc
   * vector, the strategy and the MSI-X domain, then disables and resets the device. Idempotent;
   * after a hot-unplug it only drops references.
   */
  remove(): void {
    this.guardCommands(() => this.#remove());
  }

  #remove(): void {
    if (this.#removed) return;
    if (!this.#deviceGone) this.#checkNotInHandler();
    this.#removed = true;
    for (const c of [...this.#children]) c.release(this.#deviceGone);
    this.#children.clear();
    for (const k of [...this.#kernelWqs.values()]) this.#releaseKernelWq(k);
    this.#imsHandles.clear();
    if (!this.#deviceGone) {
      const pci = this.device.pci;
      if (this.#strategy) this.#strategy.dispose();
      const msix = this.msixDomain as MsiDomain | undefined;
      if (msix !== undefined && this.system.msiDomain(pci, MSI_DEFAULT_DOMAIN) === msix) {
        if (msix.desc(0) && this.system.irqDesc(msix.desc(0)!.virq)?.actions.length) this.system.freeIrq(msix.desc(0)!.virq, "idxd-misc");
        this.system.removeMsiDomain(pci, MSI_DEFAULT_DOMAIN);
      }
      if (this.device.enabled) this.#cmd(R.CMD_DISABLE_DEVICE, 0);
      this.#cmd(R.CMD_RESET_DEVICE, 0);
      this.device.setBusMaster(false);
      this.#unhook();
      this.#conf?.remove();
      pci.driver = undefined;
    }
    // The kernel's PASID binding goes last, once nothing of the kernel's can still be executed.
    if (this.#kernelPasidBound) {
      this.#kernelPasidBound = false;
      this.device.unbindPasid(this.#kernelPasid);
    }
  }

  /** EBUSY when a handler of an interrupt the driver would free is running: it would wait for itself. */
  #checkNotInHandler(): void {
    const busy =
      [...this.#children].some((c) => c.inHandler()) ||
      [...this.#kernelWqs.values()].some((k) => virqInHandler(this.system, k.virq)) ||
      virqInHandler(this.system, this.miscVirq);
    if (busy) throw new ImsimError("EBUSY", `${this.name} cannot be removed from the handler of one of its interrupts`);
  }

  /** Device removal (hot-unplug): the strategy and the system free the interrupts; drop references. */
  #onDeviceRemoved(): void {
    this.#deviceGone = true;
    this.remove();
  }
}

/**
 * The EOPNOTSUPP the platform answers an IMS domain for `device` with, or undefined when it offers
 * one: core's own check (acceptTemplate, x86_init_dev_msi_info) against the MSI parent above the
 * function, asked before any domain exists.
 */
function imsRefusal(system: IrqSystem, device: IdxdDevice): ImsimError | undefined {
  try {
    acceptTemplate(system.platform.msiParentFor(device.pci), imsTemplate(device.ims!.chipName), device.pci.name);
    return undefined;
  } catch (e) {
    if (isImsimError(e, "EOPNOTSUPP")) return e;
    throw e;
  }
}
