import {
  Entry16Store,
  ImsimError,
  checkInt,
  createMsixTable,
  describe,
  type DeliveryResult,
  type Device,
  type IrqSystem,
} from "@imsim/core";
import { crc32c } from "./crc32c.js";
import { D_COMPLETION, D_DST, D_FLAGS, D_INT_HANDLE, D_OPCODE, D_OP_SPECIFIC, D_PASID, D_RSVD0_MASK, D_RSVD1, D_SRC, D_XFER } from "./descriptor.js";
import type { Memory } from "./memory.js";
import { allOnes, isValidAccess, readLE, toBytesLE, type Mmio, type MmioWidth } from "./mmio.js";
import * as R from "./registers.js";

/**
 * What the device reports in its capability registers. Defaults: the counts a DSA 1.0 on an Emerald
 * Rapids Xeon reports (research/linux.md §4; Sapphire Rapids assumed the same, not verified); the
 * MSI-X table size (misc + one per WQ) is imsim's choice.
 */
export interface IdxdCapabilities {
  /** Work queues (WQCAP.num_wqs); default 8. */
  numWqs: number;
  /** Engines (ENGCAP.num_engines); default 4. */
  numEngines: number;
  /** Groups (GRPCAP.num_groups); default 4. */
  numGroups: number;
  /** Total WQ entries shared by all WQs (WQCAP.total_wq_size); default 128. */
  totalWqSize: number;
  /** IMS entries = GENCAP.max_ims_mult × 256; default 2048 (max_ims_mult 8). 0 = no IMS. */
  imsEntries: number;
  /** MSI-X table size; default numWqs + 1 (vector 0 misc, one per WQ). */
  msixVectors: number;
  /** Read buffers (GRPCAP.total_rdbufs); default 96. */
  readBuffers: number;
  /**
   * GENCAP.cmd_cap with REQUEST/RELEASE_INT_HANDLE in CMDCAP: interrupt handles must be requested.
   * Default true (the IMS path needs handles). The observed Emerald Rapids part reports 0; set
   * false to model it: then a handle is the table index itself.
   */
  intHandles: boolean;
  /** WQCAP shared / dedicated mode support; default both. */
  sharedMode: boolean;
  dedicatedMode: boolean;
  /** GENCAP.max_xfer_shift; default 31. */
  maxXferShift: number;
  /** GENCAP.max_batch_shift; default 10. */
  maxBatchShift: number;
}

export interface IdxdDeviceOptions extends Partial<IdxdCapabilities> {
  /** PCI address; default 0000:6a:01.0. */
  bdf?: string;
  /** Physical memory the device DMAs to when a descriptor carries no PASID. */
  memory: Memory;
}

export const DEFAULT_CAPABILITIES: Readonly<IdxdCapabilities> = Object.freeze({
  numWqs: 8,
  numEngines: 4,
  numGroups: 4,
  totalWqSize: 128,
  imsEntries: 2048,
  msixVectors: 9,
  readBuffers: 96,
  intHandles: true,
  sharedMode: true,
  dedicatedMode: true,
  maxXferShift: 31,
  maxBatchShift: 10,
});

/** ENQCMD result: the descriptor was accepted (MOVDIR64B to a dedicated WQ always reports this: it is posted). */
export const SUBMIT_ACCEPTED = 0;
/** ENQCMD result: the shared WQ did not take it (full, over its threshold on a limited portal, or disabled): retry. */
export const SUBMIT_RETRY = 1;
export type SubmitStatus = typeof SUBMIT_ACCEPTED | typeof SUBMIT_RETRY;

/** Operations this model executes (OPCAP bits). */
const SUPPORTED_OPS = [R.OPCODE_NOOP, R.OPCODE_DRAIN, R.OPCODE_MEMMOVE, R.OPCODE_MEMFILL, R.OPCODE_COMPARE, R.OPCODE_CRCGEN];

export interface IdxdStats {
  /** Descriptors accepted into a WQ. */
  submitted: number;
  /** ENQCMD submissions answered with retry. */
  retried: number;
  /** Posted descriptors the device dropped (disabled or full dedicated WQ, bad portal write). */
  dropped: number;
  /** Descriptors executed (any status). */
  completed: number;
  /** Completion interrupts raised. */
  interrupts: number;
  /** Software errors recorded (including those folded into SWERR.overflow). */
  softwareErrors: number;
  /** MMIO accesses outside the BAR or misaligned (dropped / all-ones). */
  badMmio: number;
}

class WqRuntime {
  ring: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.ring.buffer);
  pasid: Int32Array = new Int32Array(0);
  ims: Uint8Array = new Uint8Array(0);
  limited: Uint8Array = new Uint8Array(0);
  head = 0;
  count = 0;
  size = 0;
  group = -1;
}

const CHUNK = 1 << 16;
/** #execute's return value for an IMS completion interrupt: IRQ_IMS + entry (MSI-X vectors are below it). */
const IRQ_IMS = 0x10000;

/**
 * The PCI identity of the model: a Sapphire Rapids DSA, 8086:0b25 (PCI_DEVICE_ID_INTEL_DSA_SPR0,
 * include/linux/pci_ids.h), class 0x088000 (base system peripheral, other).
 */
export const DSA_PCI_IDS = Object.freeze({ vendor: 0x8086, device: 0x0b25, classCode: 0x088000, subsystemVendor: 0x8086, subsystemDevice: 0x0000, revision: 0x01 });

/**
 * An Intel DSA (IDXD) PCI function at register level. BAR0 is a byte buffer read and written
 * through the typed `Mmio` interface (this object); the IMS table lives inside it as a core
 * `Entry16Store`, the MSI-X table beside it. BAR2 holds the WQ portals: `submit(portal, bytes)`.
 * Descriptors queue in their WQ and execute on `run()`, as the engines would.
 *
 * Nothing a driver or guest can write makes this class throw: bad commands set CMDSTS, bad
 * descriptors get a completion status or a SWERR record, bad MMIO reads all ones. Exceptions
 * (ImsimError) are only for misuse of the simulation's own API (constructor options).
 *
 * Interrupt writes are posted: the device finishes its own work whatever the CPU side does with
 * them. Core keeps a throwing handler's error from `system.raise`; should `raise` throw all the
 * same (an `onHandlerError` hook that throws), the device finishes the descriptor and everything
 * else the call (`run`, `write`, `submit`) had to do, then rethrows the first such error. Handlers
 * may call back into the device (`run`, `submit`, `write`) from inside a completion interrupt.
 */
export class IdxdDevice implements Mmio {
  readonly system: IrqSystem;
  readonly pci: Device;
  readonly caps: Readonly<IdxdCapabilities>;
  /** Physical memory (DMA without PASID). */
  readonly memory: Memory;
  readonly msix: Entry16Store;
  /** The IMS table in BAR0; undefined when the device has none. */
  readonly ims: Entry16Store | undefined;
  readonly size: number;
  readonly grpcfgOffset: number;
  readonly wqcfgOffset: number;
  readonly msixPermOffset: number;
  readonly imsOffset: number;
  readonly stats: IdxdStats = { submitted: 0, retried: 0, dropped: 0, completed: 0, interrupts: 0, softwareErrors: 0, badMmio: 0 };
  /** Result of the last interrupt write the device issued (completion or misc), -1 before any. */
  lastDelivery: DeliveryResult | -1 = -1;

  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #wmask: Uint8Array;
  readonly #w1c: Uint8Array;
  readonly #wqs: WqRuntime[] = [];
  readonly #grantedMsix: Uint8Array;
  readonly #grantedIms: Uint8Array;
  readonly #addressSpaces = new Map<number, Memory>();
  readonly #scratch = new Uint8Array(8);
  readonly #chunkA = new Uint8Array(CHUNK);
  readonly #chunkB = new Uint8Array(CHUNK);
  readonly #record = new Uint8Array(R.COMP_RECORD_SIZE);
  readonly #recordView = new DataView(this.#record.buffer);
  #busMaster = false;
  #rr = 0;
  /** The first error an interrupt write threw during the current public call, rethrown when it is done. */
  #deferredError: unknown = undefined;
  #deferred = false;

  constructor(system: IrqSystem, options: IdxdDeviceOptions) {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `IDXD options must be an object, got ${describe(options)}`);
    if (typeof options.memory !== "object" || options.memory === null || typeof options.memory.readInto !== "function") {
      throw new ImsimError("EINVAL", "IDXD options need a Memory for the device's DMA");
    }
    const numWqs = checkInt(options.numWqs ?? DEFAULT_CAPABILITIES.numWqs, 1, 256, "numWqs");
    const caps: IdxdCapabilities = {
      numWqs,
      numEngines: checkInt(options.numEngines ?? DEFAULT_CAPABILITIES.numEngines, 1, 64, "numEngines"),
      numGroups: checkInt(options.numGroups ?? DEFAULT_CAPABILITIES.numGroups, 1, 255, "numGroups"),
      totalWqSize: checkInt(options.totalWqSize ?? DEFAULT_CAPABILITIES.totalWqSize, 1, 0xffff, "totalWqSize"),
      imsEntries: checkInt(options.imsEntries ?? DEFAULT_CAPABILITIES.imsEntries, 0, 63 * R.IMS_MULT_UNIT, "imsEntries"),
      msixVectors: checkInt(options.msixVectors ?? numWqs + 1, 1, 2048, "msixVectors"),
      readBuffers: checkInt(options.readBuffers ?? DEFAULT_CAPABILITIES.readBuffers, 0, 255, "readBuffers"),
      intHandles: options.intHandles ?? DEFAULT_CAPABILITIES.intHandles,
      sharedMode: options.sharedMode ?? DEFAULT_CAPABILITIES.sharedMode,
      dedicatedMode: options.dedicatedMode ?? DEFAULT_CAPABILITIES.dedicatedMode,
      maxXferShift: checkInt(options.maxXferShift ?? DEFAULT_CAPABILITIES.maxXferShift, 0, 31, "maxXferShift"),
      maxBatchShift: checkInt(options.maxBatchShift ?? DEFAULT_CAPABILITIES.maxBatchShift, 0, 15, "maxBatchShift"),
    };
    if (caps.imsEntries % R.IMS_MULT_UNIT !== 0) {
      throw new ImsimError("EINVAL", `imsEntries must be a multiple of ${R.IMS_MULT_UNIT} (GENCAP.max_ims_mult × 256), got ${caps.imsEntries}`);
    }
    for (const k of ["intHandles", "sharedMode", "dedicatedMode"] as const) {
      if (typeof caps[k] !== "boolean") throw new ImsimError("EINVAL", `${k} must be a boolean, got ${describe(caps[k])}`);
    }
    this.caps = Object.freeze(caps);
    this.system = system;
    this.memory = options.memory;
    this.pci = system.addPciDevice({ bdf: options.bdf ?? "0000:6a:01.0", ids: DSA_PCI_IDS });

    // BAR0 layout (imsim's choice; the driver learns it from TABLEOFF like Linux does).
    const align = (v: number, a: number) => Math.ceil(v / a) * a;
    this.msixPermOffset = R.IDXD_REGS_END;
    this.grpcfgOffset = align(this.msixPermOffset + caps.msixVectors * R.MSIX_PERM_SIZE, R.IDXD_TABLE_MULT);
    this.wqcfgOffset = align(this.grpcfgOffset + caps.numGroups * R.GRPCFG_SIZE, R.IDXD_TABLE_MULT);
    this.imsOffset = align(this.wqcfgOffset + caps.numWqs * R.WQCFG_SIZE, 0x1000);
    let size = 0x1000;
    while (size < this.imsOffset + caps.imsEntries * R.IMS_ENTRY_SIZE) size *= 2;
    this.size = size;
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
    this.#wmask = new Uint8Array(size);
    this.#w1c = new Uint8Array(size);
    this.#grantedMsix = new Uint8Array(caps.msixVectors);
    this.#grantedIms = new Uint8Array(caps.imsEntries);
    for (let i = 0; i < caps.numWqs; i++) this.#wqs.push(new WqRuntime());

    this.msix = createMsixTable(caps.msixVectors, this.pci.requesterId);
    this.ims =
      caps.imsEntries > 0
        ? new Entry16Store({ chipName: R.IMS_CHIP_NAME, size: caps.imsEntries, requesterId: this.pci.requesterId, pasid: true, view: this.#view, offset: this.imsOffset })
        : undefined;
    this.#initRegisters();
  }

  // ------------------------------------------------------------------ register file

  #set32(offset: number, value: number): void {
    this.#view.setUint32(offset, value >>> 0, true);
  }
  #get32(offset: number): number {
    return this.#view.getUint32(offset, true);
  }
  #set64(offset: number, value: bigint): void {
    this.#view.setBigUint64(offset, value, true);
  }
  #mask32(table: Uint8Array, offset: number, mask: number): void {
    for (let i = 0; i < 4; i++) table[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  #initRegisters(): void {
    const c = this.caps;
    this.#set32(R.IDXD_VERSION, 0x100);
    let gencap = R.GENCAP_OBSERVED & ~(0x3fn << R.GENCAP_MAX_IMS_MULT_SHIFT) & ~(0x1fn << R.GENCAP_MAX_XFER_SHIFT) & ~(0xfn << R.GENCAP_MAX_BATCH_SHIFT);
    gencap |= BigInt(c.imsEntries / R.IMS_MULT_UNIT) << R.GENCAP_MAX_IMS_MULT_SHIFT;
    gencap |= BigInt(c.maxXferShift) << R.GENCAP_MAX_XFER_SHIFT;
    gencap |= BigInt(c.maxBatchShift) << R.GENCAP_MAX_BATCH_SHIFT;
    if (c.intHandles) gencap |= R.GENCAP_CMD_CAP;
    this.#set64(R.IDXD_GENCAP, gencap);
    let wqcap = (BigInt(c.totalWqSize) << R.WQCAP_TOTAL_SIZE_SHIFT) | (BigInt(c.numWqs & 0xff) << R.WQCAP_NUM_WQS_SHIFT) | R.WQCAP_PRIORITY;
    if (c.sharedMode) wqcap |= R.WQCAP_SHARED_MODE;
    if (c.dedicatedMode) wqcap |= R.WQCAP_DEDICATED_MODE;
    this.#set64(R.IDXD_WQCAP, wqcap);
    this.#set64(R.IDXD_GRPCAP, (BigInt(c.numGroups) << R.GRPCAP_NUM_GROUPS_SHIFT) | (BigInt(c.readBuffers) << R.GRPCAP_TOTAL_RDBUFS_SHIFT));
    this.#set64(R.IDXD_ENGCAP, BigInt(c.numEngines) << R.ENGCAP_NUM_ENGINES_SHIFT);
    for (const op of SUPPORTED_OPS) this.#bytes[R.IDXD_OPCAP + (op >> 3)]! |= 1 << (op & 7);
    const t = (off: number) => BigInt(off / R.IDXD_TABLE_MULT);
    this.#set64(
      R.IDXD_TABLEOFF,
      (t(this.grpcfgOffset) << BigInt(R.TABLEOFF_GRPCFG_SHIFT)) |
        (t(this.wqcfgOffset) << BigInt(R.TABLEOFF_WQCFG_SHIFT)) |
        (t(this.msixPermOffset) << BigInt(R.TABLEOFF_MSIX_PERM_SHIFT)) |
        (t(this.imsOffset) << BigInt(R.TABLEOFF_IMS_SHIFT)),
    );
    if (c.intHandles) {
      let cmdcap = 0;
      for (let cmd = R.CMD_ENABLE_DEVICE; cmd <= R.CMD_RELEASE_INT_HANDLE; cmd++) cmdcap |= 1 << cmd;
      this.#set32(R.IDXD_CMDCAP, cmdcap);
    }

    this.#mask32(this.#wmask, R.IDXD_GENCFG, R.GENCFG_WRITABLE);
    this.#mask32(this.#wmask, R.IDXD_GENCTRL, R.GENCTRL_WRITABLE);
    this.#mask32(this.#w1c, R.IDXD_INTCAUSE, R.INTCAUSE_W1C);
    this.#mask32(this.#wmask, R.IDXD_CMD, R.CMD_INT_REQ | (R.CMD_CODE_MASK << R.CMD_CODE_SHIFT) | R.CMD_OPERAND_MASK);
    this.#w1c[R.IDXD_SWERR] = R.SWERR_ACK;
    for (let v = 0; v < c.msixVectors; v++) this.#mask32(this.#wmask, this.msixPermOffset + v * R.MSIX_PERM_SIZE, R.MSIX_PERM_WRITABLE);
    for (let g = 0; g < c.numGroups; g++) {
      const base = this.grpcfgOffset + g * R.GRPCFG_SIZE;
      for (let w = 0; w < c.numWqs; w++) this.#wmask[base + R.GRPCFG_WQS + (w >> 3)]! |= 1 << (w & 7);
      for (let e = 0; e < c.numEngines; e++) this.#wmask[base + R.GRPCFG_ENGINES + (e >> 3)]! |= 1 << (e & 7);
      this.#mask32(this.#wmask, base + R.GRPCFG_FLAGS, R.GRPCFG_FLAGS_WRITABLE);
    }
    for (let w = 0; w < c.numWqs; w++) {
      const base = this.wqcfgOffset + w * R.WQCFG_SIZE;
      this.#mask32(this.#wmask, base + R.WQCFG_WQ_SIZE, 0xffff);
      this.#mask32(this.#wmask, base + R.WQCFG_WQ_THRESH, 0xffff);
      this.#mask32(this.#wmask, base + R.WQCFG_MODE_PASID, R.WQCFG_MODE_PASID_WRITABLE);
      this.#mask32(this.#wmask, base + R.WQCFG_MAX_SHIFTS, 0x1ff);
      this.#mask32(this.#wmask, base + R.WQCFG_OCC_INTH, 0x1ffff);
      this.#mask32(this.#wmask, base + R.WQCFG_OCC_LIMIT, 0x1ffff);
    }
    for (let i = 0; i < c.imsEntries; i++) {
      const base = this.imsOffset + i * R.IMS_ENTRY_SIZE;
      this.#mask32(this.#wmask, base, 0xffffffff);
      this.#mask32(this.#wmask, base + 4, 0xffffffff);
      this.#mask32(this.#wmask, base + 8, 0xffffffff);
      this.#mask32(this.#wmask, base + 12, R.IMS_CTRL_WRITABLE);
    }
  }

  get state(): number {
    return this.#get32(R.IDXD_GENSTATS) & 3;
  }
  get enabled(): boolean {
    return this.state === R.DEVICE_STATE_ENABLED;
  }
  /** The PCI command register's bus-master bit (pci_set_master): ENABLE_DEVICE fails without it. */
  get busMaster(): boolean {
    return this.#busMaster;
  }
  setBusMaster(on: boolean): void {
    this.#busMaster = on === true;
  }
  /** Whether WQ `wq` is enabled (WQCFG.wq_state). */
  wqEnabled(wq: number): boolean {
    if (!Number.isInteger(wq) || wq < 0 || wq >= this.caps.numWqs) return false;
    return this.#get32(this.wqcfgOffset + wq * R.WQCFG_SIZE + R.WQCFG_OCC_STATE) >>> R.WQCFG_STATE_SHIFT === R.WQ_STATE_ENABLED;
  }
  /** Descriptors waiting in WQ `wq`. */
  occupancy(wq: number): number {
    return this.#wqs[wq]?.count ?? 0;
  }

  #locked(offset: number): boolean {
    if (offset >= R.IDXD_GENCFG && offset < R.IDXD_GENCFG + 8) return this.enabled;
    if (offset >= this.grpcfgOffset && offset < this.grpcfgOffset + this.caps.numGroups * R.GRPCFG_SIZE) return this.enabled;
    if (offset >= this.wqcfgOffset && offset < this.wqcfgOffset + this.caps.numWqs * R.WQCFG_SIZE) {
      return this.wqEnabled(Math.floor((offset - this.wqcfgOffset) / R.WQCFG_SIZE));
    }
    return false;
  }

  // ------------------------------------------------------------------ Mmio

  read(offset: number, width: 1 | 2 | 4): number;
  read(offset: number, width: 8): bigint;
  read(offset: number, width: MmioWidth): number | bigint;
  read(offset: number, width: MmioWidth): number | bigint {
    if (this.pci.removed || !isValidAccess(offset, width, this.size)) {
      this.stats.badMmio++;
      return allOnes(width === 8 ? 8 : width === 2 ? 2 : width === 1 ? 1 : 4);
    }
    return readLE(this.#bytes, offset, width);
  }

  write(offset: number, width: 1 | 2 | 4, value: number): void;
  write(offset: number, width: 8, value: bigint): void;
  write(offset: number, width: MmioWidth, value: number | bigint): void;
  write(offset: number, width: MmioWidth, value: number | bigint): void {
    if (this.pci.removed || !isValidAccess(offset, width, this.size)) {
      this.stats.badMmio++;
      return;
    }
    const outerError = this.#deferredError;
    const outer = this.#deferred;
    this.#deferred = false;
    try {
      this.#write(offset, width, value);
    } finally {
      this.#leave(outer, outerError);
    }
  }

  #write(offset: number, width: MmioWidth, value: number | bigint): void {
    const v = this.#scratch;
    toBytesLE(value, width, v);
    for (let i = 0; i < width; i++) {
      const o = offset + i;
      if (this.#locked(o)) continue;
      const wm = this.#wmask[o]!;
      const c = this.#w1c[o]!;
      if ((wm | c) === 0) continue;
      this.#bytes[o] = ((this.#bytes[o]! & ~wm) | (v[i]! & wm)) & ~(v[i]! & c);
    }
    const end = offset + width;
    if (offset <= R.IDXD_CMD + 3 && end > R.IDXD_CMD + 3) this.#command(this.#get32(R.IDXD_CMD));
    if (this.ims && end > this.imsOffset && offset < this.imsOffset + this.caps.imsEntries * R.IMS_ENTRY_SIZE) {
      const i = Math.floor((offset - this.imsOffset) / R.IMS_ENTRY_SIZE);
      // The bytes changed behind the store's methods: core's validated routes must not outlive them.
      this.ims.touch();
      // Unmasking an entry with its pending bit set sends the held message (as MSI-X's PBA does).
      if (!this.ims.isMasked(i) && this.ims.isPending(i)) {
        this.ims.setPending(i, false);
        this.#deliver(this.ims, i);
      }
    }
  }

  // ------------------------------------------------------------------ commands

  #command(value: number): void {
    const code = (value >>> R.CMD_CODE_SHIFT) & R.CMD_CODE_MASK;
    const operand = value & R.CMD_OPERAND_MASK;
    let err: number = R.CMDSTS_SUCCESS;
    let result = 0;
    const cmdcap = this.#get32(R.IDXD_CMDCAP);
    const cmdCapOn = this.caps.intHandles;
    const handleCmd = code === R.CMD_REQUEST_INT_HANDLE || code === R.CMD_RELEASE_INT_HANDLE;
    if (code === 0 || code > R.CMD_RELEASE_INT_HANDLE || (cmdCapOn ? (cmdcap & (1 << code)) === 0 : handleCmd)) {
      err = R.CMDSTS_INVAL_CMD;
    } else {
      switch (code) {
        case R.CMD_ENABLE_DEVICE:
          err = this.#enableDevice();
          break;
        case R.CMD_DISABLE_DEVICE:
          if (!this.enabled) err = R.CMDSTS_ERR_DIS_DEV_EN;
          else {
            for (let w = 0; w < this.caps.numWqs; w++) this.#disableWq(w, true);
            this.#setState(R.DEVICE_STATE_DISABLED);
          }
          break;
        case R.CMD_DRAIN_ALL:
          if (!this.enabled) err = R.CMDSTS_ERR_DEV_NOT_EN;
          else this.#run(Number.POSITIVE_INFINITY);
          break;
        case R.CMD_ABORT_ALL:
          if (!this.enabled) err = R.CMDSTS_ERR_DEV_NOT_EN;
          else for (const wq of this.#wqs) this.#abort(wq, -2);
          break;
        case R.CMD_RESET_DEVICE:
          this.#reset();
          break;
        case R.CMD_ENABLE_WQ:
          err = this.#enableWq(operand);
          break;
        case R.CMD_DISABLE_WQ:
        case R.CMD_DRAIN_WQ:
        case R.CMD_ABORT_WQ:
        case R.CMD_RESET_WQ:
          err = this.#wqMaskCommand(code, operand);
          break;
        case R.CMD_DRAIN_PASID:
        case R.CMD_ABORT_PASID:
          if (!this.enabled) err = R.CMDSTS_ERR_DEV_NOT_EN;
          else if (code === R.CMD_DRAIN_PASID) this.#run(Number.POSITIVE_INFINITY);
          else for (const wq of this.#wqs) this.#abort(wq, operand);
          break;
        case R.CMD_REQUEST_INT_HANDLE:
        case R.CMD_RELEASE_INT_HANDLE: {
          const ims = (operand & R.CMD_INT_HANDLE_IMS) !== 0;
          const index = operand & 0xffff;
          const granted = ims ? this.#grantedIms : this.#grantedMsix;
          if (index >= granted.length) err = R.CMDSTS_ERR_INVAL_INT_IDX;
          else if (code === R.CMD_REQUEST_INT_HANDLE) {
            granted[index] = 1;
            result = index; // imsim: the handle is the table index (the value is the device's choice)
          } else if (granted[index] === 0) err = R.CMDSTS_ERR_INVAL_INT_IDX;
          else granted[index] = 0;
          break;
        }
        default:
          err = R.CMDSTS_INVAL_CMD;
      }
    }
    this.#set32(R.IDXD_CMDSTS, err | (result << R.CMDSTS_RES_SHIFT));
    if ((value & R.CMD_INT_REQ) !== 0) {
      this.#set32(R.IDXD_INTCAUSE, this.#get32(R.IDXD_INTCAUSE) | R.INTC_CMD);
      this.#deliver(this.msix, 0);
    }
  }

  #setState(state: number): void {
    this.#set32(R.IDXD_GENSTATS, (this.#get32(R.IDXD_GENSTATS) & ~3) | state);
  }

  #wqSize(w: number): number {
    return this.#get32(this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_WQ_SIZE) & 0xffff;
  }
  #wqMode(w: number): number {
    return this.#get32(this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_MODE_PASID);
  }

  /**
   * ENABLE_DEVICE checks (imsim's reading of the enable-device error codes): WQ sizes within
   * total_wq_size (WQ_SIZE_ERANGE); a group with WQs but no engine (GRP_CONFIG); a WQ or engine in
   * two groups (GRP_CONFIG2); a sized WQ in no group (GRP_CONFIG3).
   */
  #enableDevice(): number {
    if (this.enabled) return R.CMDSTS_ERR_DEV_ENABLED;
    if (!this.#busMaster) return R.CMDSTS_ERR_BUSMASTER_EN;
    const c = this.caps;
    let total = 0;
    for (let w = 0; w < c.numWqs; w++) total += this.#wqSize(w);
    if (total > c.totalWqSize) return R.CMDSTS_ERR_WQ_SIZE_ERANGE;
    const wqGroup = new Int16Array(c.numWqs).fill(-1);
    const engGroup = new Int16Array(c.numEngines).fill(-1);
    for (let g = 0; g < c.numGroups; g++) {
      const base = this.grpcfgOffset + g * R.GRPCFG_SIZE;
      let wqs = 0;
      let engines = 0;
      for (let w = 0; w < c.numWqs; w++) {
        if ((this.#bytes[base + R.GRPCFG_WQS + (w >> 3)]! >> (w & 7)) & 1) {
          if (wqGroup[w] !== -1) return R.CMDSTS_ERR_GRP_CONFIG2;
          wqGroup[w] = g;
          wqs++;
        }
      }
      for (let e = 0; e < c.numEngines; e++) {
        if ((this.#bytes[base + R.GRPCFG_ENGINES + (e >> 3)]! >> (e & 7)) & 1) {
          if (engGroup[e] !== -1) return R.CMDSTS_ERR_GRP_CONFIG2;
          engGroup[e] = g;
          engines++;
        }
      }
      if (wqs > 0 && engines === 0) return R.CMDSTS_ERR_GRP_CONFIG;
    }
    for (let w = 0; w < c.numWqs; w++) {
      if (this.#wqSize(w) > 0 && wqGroup[w] === -1) return R.CMDSTS_ERR_GRP_CONFIG3;
      this.#wqs[w]!.group = wqGroup[w]!;
    }
    this.#setState(R.DEVICE_STATE_ENABLED);
    return R.CMDSTS_SUCCESS;
  }

  #enableWq(w: number): number {
    const c = this.caps;
    if (w >= c.numWqs) return R.CMDSTS_INVAL_WQIDX;
    if (!this.enabled) return R.CMDSTS_ERR_DEV_NOTEN;
    if (this.wqEnabled(w)) return R.CMDSTS_ERR_WQ_ENABLED;
    const size = this.#wqSize(w);
    if (size === 0) return R.CMDSTS_ERR_WQ_SIZE;
    let total = size;
    for (let o = 0; o < c.numWqs; o++) if (o !== w && this.wqEnabled(o)) total += this.#wqSize(o);
    if (total > c.totalWqSize) return R.CMDSTS_ERR_WQ_SIZE;
    if (this.#wqs[w]!.group < 0) return R.CMDSTS_ERR_WQ_SIZE; // imsim: no group, no engine to run it
    const mode = this.#wqMode(w);
    const dedicated = (mode & R.WQCFG_MODE_DEDICATED) !== 0;
    if ((dedicated && !c.dedicatedMode) || (!dedicated && !c.sharedMode)) return R.CMDSTS_ERR_WQ_MODE;
    const shifts = this.#get32(this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_MAX_SHIFTS);
    if ((shifts & 0x1f) > c.maxXferShift) return R.CMDSTS_ERR_MAX_XFER_SIZE;
    if (((shifts >>> 5) & 0xf) > c.maxBatchShift) return R.CMDSTS_ERR_MAX_BATCH_SIZE;
    const rt = this.#wqs[w]!;
    rt.size = size;
    rt.ring = new Uint8Array(size * R.DESC_SIZE);
    rt.view = new DataView(rt.ring.buffer);
    rt.pasid = new Int32Array(size);
    rt.ims = new Uint8Array(size);
    rt.limited = new Uint8Array(size);
    rt.head = 0;
    rt.count = 0;
    this.#setWqState(w, R.WQ_STATE_ENABLED);
    return R.CMDSTS_SUCCESS;
  }

  #setWqState(w: number, state: number): void {
    const at = this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_OCC_STATE;
    const occ = this.#wqs[w]!.count & 0xffff;
    this.#set32(at, ((this.#get32(at) & 0x3fff0000 & ~0xffff) | occ | (state << R.WQCFG_STATE_SHIFT)) >>> 0);
  }
  #setOccupancy(w: number): void {
    const at = this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_OCC_STATE;
    this.#set32(at, ((this.#get32(at) & ~0xffff) | (this.#wqs[w]!.count & 0xffff)) >>> 0);
  }

  /** DISABLE/DRAIN/ABORT/RESET_WQ: operand bits 15:0 a WQ mask, bits 19:16 which 16 WQs it covers. */
  #wqMaskCommand(code: number, operand: number): number {
    if (!this.enabled) return R.CMDSTS_ERR_DEV_NOT_EN;
    const first = ((operand >>> 16) & 0xf) * 16;
    const mask = operand & 0xffff;
    for (let b = 0; b < 16; b++) if ((mask >> b) & 1 && first + b >= this.caps.numWqs) return R.CMDSTS_INVAL_WQIDX;
    for (let b = 0; b < 16; b++) {
      if (((mask >> b) & 1) === 0) continue;
      const w = first + b;
      if (code === R.CMD_DISABLE_WQ) this.#disableWq(w, true);
      else if (code === R.CMD_DRAIN_WQ) this.#drainWq(w);
      else if (code === R.CMD_ABORT_WQ) this.#abort(this.#wqs[w]!, -2);
      else {
        this.#disableWq(w, false);
        this.#bytes.fill(0, this.wqcfgOffset + w * R.WQCFG_SIZE, this.wqcfgOffset + (w + 1) * R.WQCFG_SIZE);
      }
    }
    return R.CMDSTS_SUCCESS;
  }

  #drainWq(w: number): void {
    const rt = this.#wqs[w]!;
    while (rt.count > 0) this.#executeHead(w, rt);
  }

  /** Disables WQ `w`; with `drain` its queued descriptors complete first (DISABLE_WQ), else they are dropped. */
  #disableWq(w: number, drain: boolean): void {
    if (!this.wqEnabled(w)) return;
    if (drain) this.#drainWq(w);
    const rt = this.#wqs[w]!;
    rt.count = 0;
    rt.head = 0;
    rt.ring = new Uint8Array(0);
    this.#setWqState(w, R.WQ_STATE_DISABLED);
  }

  /** Drops queued descriptors: all of them (pasid -2) or those of one PASID. */
  #abort(rt: WqRuntime, pasid: number): void {
    if (rt.count === 0) return;
    if (pasid === -2) {
      rt.count = 0;
      rt.head = 0;
    } else {
      // Compact the ring, keeping other PASIDs' descriptors in order.
      let kept = 0;
      for (let i = 0; i < rt.count; i++) {
        const s = (rt.head + i) % rt.size;
        if (rt.pasid[s] === pasid) continue;
        const d = (rt.head + kept) % rt.size;
        if (d !== s) {
          rt.ring.copyWithin(d * R.DESC_SIZE, s * R.DESC_SIZE, (s + 1) * R.DESC_SIZE);
          rt.pasid[d] = rt.pasid[s]!;
          rt.ims[d] = rt.ims[s]!;
          rt.limited[d] = rt.limited[s]!;
        }
        kept++;
      }
      rt.count = kept;
    }
    const w = this.#wqs.indexOf(rt);
    this.#setOccupancy(w);
  }

  #reset(): void {
    for (let w = 0; w < this.caps.numWqs; w++) this.#disableWq(w, false);
    for (const rt of this.#wqs) rt.group = -1;
    this.#setState(R.DEVICE_STATE_DISABLED);
    this.#bytes.fill(0, R.IDXD_GENCFG, R.IDXD_GENCFG + 16);
    this.#bytes.fill(0, R.IDXD_SWERR, R.IDXD_SWERR + R.IDXD_SWERR_SIZE);
    this.#bytes.fill(0, this.msixPermOffset, this.msixPermOffset + this.caps.msixVectors * R.MSIX_PERM_SIZE);
    this.#bytes.fill(0, this.grpcfgOffset, this.grpcfgOffset + this.caps.numGroups * R.GRPCFG_SIZE);
    this.#bytes.fill(0, this.wqcfgOffset, this.wqcfgOffset + this.caps.numWqs * R.WQCFG_SIZE);
    this.#grantedMsix.fill(0);
    this.#grantedIms.fill(0);
    if (this.ims) {
      for (let i = 0; i < this.caps.imsEntries; i++) {
        this.ims.writeMessage(i, 0, 0, 0);
        this.ims.setPasid(i, -1);
        this.ims.setMasked(i, true);
        this.ims.setPending(i, false);
      }
    }
  }

  // ------------------------------------------------------------------ IOMMU (PASID → address space)

  /** Binds `pasid` to an address space (what iommu_sva_bind_device / a guest's PASID table entry does). */
  bindPasid(pasid: number, memory: Memory): void {
    checkInt(pasid, 0, 0xfffff, "PASID");
    if (this.#addressSpaces.has(pasid)) throw new ImsimError("EBUSY", `PASID ${pasid} is already bound on ${this.pci.name}`);
    this.#addressSpaces.set(pasid, memory);
  }
  unbindPasid(pasid: number): void {
    this.#addressSpaces.delete(pasid);
  }
  get boundPasids(): number {
    return this.#addressSpaces.size;
  }

  // ------------------------------------------------------------------ portals and execution

  /**
   * Writes one 64-byte descriptor to a BAR2 portal (`portalOffset(wq, limited, ims)`): MOVDIR64B to
   * a dedicated WQ (posted: always SUBMIT_ACCEPTED; a drop is recorded in SWERR), ENQCMD to a shared
   * WQ with the submitter's `pasid` (-1: ENQCMDS without PASID) — SUBMIT_RETRY when it does not fit.
   */
  submit(portal: number, descriptor: Uint8Array, pasid = -1): SubmitStatus {
    const outerError = this.#deferredError;
    const outer = this.#deferred;
    this.#deferred = false;
    try {
      return this.#submit(portal, descriptor, pasid);
    } finally {
      this.#leave(outer, outerError);
    }
  }

  #submit(portal: number, descriptor: Uint8Array, pasid: number): SubmitStatus {
    const wqIndex = Number.isInteger(portal) && portal >= 0 ? Math.floor(portal / (R.PORTALS_PER_WQ * R.PORTAL_SIZE)) : -1;
    if (this.pci.removed || wqIndex < 0 || wqIndex >= this.caps.numWqs) {
      this.stats.dropped++;
      return SUBMIT_RETRY;
    }
    const w = wqIndex;
    const dedicated = (this.#wqMode(w) & R.WQCFG_MODE_DEDICATED) !== 0;
    if (!(descriptor instanceof Uint8Array) || descriptor.length !== R.DESC_SIZE) {
      this.stats.dropped++;
      this.#softwareError(R.SWERR_IMSIM_BAD_PORTAL_WRITE, w, -1, -1, 0, 0, 0n, false);
      return dedicated ? SUBMIT_ACCEPTED : SUBMIT_RETRY;
    }
    const rt = this.#wqs[w]!;
    const limited = (portal & R.PORTAL_LIMITED) !== 0;
    if (!this.wqEnabled(w) || !this.enabled) {
      if (dedicated) {
        this.stats.dropped++;
        this.#softwareError(R.SWERR_IMSIM_WQ_DISABLED, w, -1, descriptor[D_OPCODE]!, 0, 0, 0n, false);
        return SUBMIT_ACCEPTED;
      }
      this.stats.retried++;
      return SUBMIT_RETRY;
    }
    let full = rt.count >= rt.size;
    if (!dedicated && limited && !full) {
      // A limited portal accepts only below the WQ threshold (WQCFG.wq_thresh), keeping room for the unlimited one.
      const thresh = this.#get32(this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_WQ_THRESH) & 0xffff;
      if (thresh > 0 && rt.count >= thresh) full = true;
    }
    if (full) {
      if (dedicated) {
        this.stats.dropped++;
        this.#softwareError(R.SWERR_IMSIM_DWQ_FULL, w, -1, descriptor[D_OPCODE]!, 0, 0, 0n, false);
        return SUBMIT_ACCEPTED;
      }
      this.stats.retried++;
      return SUBMIT_RETRY;
    }
    const slot = (rt.head + rt.count) % rt.size;
    rt.ring.set(descriptor, slot * R.DESC_SIZE);
    if (dedicated) {
      const mode = this.#wqMode(w);
      rt.pasid[slot] = mode & R.WQCFG_PASID_EN ? (mode >>> R.WQCFG_PASID_SHIFT) & 0xfffff : -1;
    } else {
      rt.pasid[slot] = Number.isInteger(pasid) && pasid >= 0 && pasid <= 0xfffff ? pasid : -1;
    }
    rt.ims[slot] = (portal & R.PORTAL_IMS) !== 0 ? 1 : 0;
    rt.limited[slot] = limited ? 1 : 0;
    rt.count++;
    this.#setOccupancy(w);
    this.stats.submitted++;
    return SUBMIT_ACCEPTED;
  }

  /**
   * Runs up to `limit` queued descriptors, taking WQs round-robin as the engines would. Returns how
   * many ran. Re-entrant: a handler may call `run()` (or submit) from inside a completion interrupt;
   * the inner call runs what is queued then, the outer one goes on with what is left. Each
   * descriptor is taken off its WQ, executed, counted in `stats.completed` and its interrupt
   * raised, in that order, so none is ever half done: if an interrupt write throws (see the class
   * comment), the remaining descriptors still run and the first error is rethrown at the end.
   */
  run(limit = Number.POSITIVE_INFINITY): number {
    const outerError = this.#deferredError;
    const outer = this.#deferred;
    this.#deferred = false;
    try {
      return this.#run(limit);
    } finally {
      this.#leave(outer, outerError);
    }
  }

  /** The engines' loop; also DRAIN_ALL and DRAIN_PASID, which must not throw out of the command. */
  #run(limit: number): number {
    let done = 0;
    const n = this.caps.numWqs;
    while (done < limit && !this.pci.removed) {
      let progressed = false;
      for (let k = 0; k < n && done < limit; k++) {
        const w = (this.#rr + k) % n;
        const rt = this.#wqs[w]!;
        if (rt.count === 0 || !this.wqEnabled(w)) continue;
        this.#executeHead(w, rt);
        done++;
        progressed = true;
      }
      this.#rr = (this.#rr + 1) % n;
      if (!progressed) break;
    }
    return done;
  }

  /**
   * Ends a public call that may have issued interrupt writes: restores the enclosing call's
   * deferred error (calls nest through handlers) and throws this call's, if any.
   */
  #leave(outer: boolean, outerError: unknown): void {
    const failed = this.#deferred;
    const error = this.#deferredError;
    this.#deferred = outer;
    this.#deferredError = outerError;
    if (failed) throw error;
  }

  #defer(error: unknown): void {
    if (this.#deferred) return;
    this.#deferred = true;
    this.#deferredError = error;
  }

  /**
   * Takes the head descriptor of WQ `w` off the ring, executes it and raises its completion
   * interrupt. Dequeued before anything runs, so an interrupt handler that runs the device again
   * never sees it; the ring slot may be reused by then, which is why #execute reads everything it
   * needs from the descriptor before its first interrupt write.
   */
  #executeHead(w: number, rt: WqRuntime): void {
    const slot = rt.head;
    rt.head = (rt.head + 1) % rt.size;
    rt.count--;
    this.#setOccupancy(w);
    let irq = -1;
    try {
      irq = this.#execute(w, rt.view, slot * R.DESC_SIZE, rt.pasid[slot]!, rt.ims[slot] === 1);
    } catch (e) {
      // Only a Memory of the caller's that throws gets here: the descriptor still counts as done.
      this.#defer(e);
    }
    this.stats.completed++;
    if (irq >= 0) {
      this.stats.interrupts++;
      if (irq >= IRQ_IMS) this.#deliver(this.ims!, irq - IRQ_IMS);
      else this.#deliver(this.msix, irq);
    }
  }

  /** Address space for `pasid` (-1: physical); undefined when the PASID is not bound. */
  #space(pasid: number): Memory | undefined {
    return pasid === -1 ? this.memory : this.#addressSpaces.get(pasid);
  }

  #u64(d: DataView, off: number): number {
    const lo = d.getUint32(off, true);
    const hi = d.getUint32(off + 4, true);
    return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x100000000 + lo;
  }

  /**
   * Executes the descriptor at `ring[off]`: checks, operation, completion record or SWERR. Returns
   * the completion interrupt to raise (an MSI-X vector, or IRQ_IMS + an IMS entry), -1 for none.
   */
  #execute(w: number, d: DataView, o: number, pasid: number, ims: boolean): number {
    const dw0 = d.getUint32(o + D_PASID, true);
    const dw1 = d.getUint32(o + D_FLAGS, true);
    const opcode = dw1 >>> 24;
    const flags = dw1 & 0xffffff;
    const crAddr = this.#u64(d, o + D_COMPLETION);
    const mem = this.#space(pasid);
    const rec = this.#record;
    const rv = this.#recordView;
    rec.fill(0);

    let status: number = R.COMP_SUCCESS;
    let faultAddr = 0n;
    let invalid = 0;
    let crOk = false;
    const crav = (flags & R.OP_FLAG_CRAV) !== 0;

    // Completion record address: checked first, since every other error is reported through it.
    let crError = 0;
    if (crav) {
      if (crAddr % R.COMP_RECORD_ALIGN !== 0) crError = R.COMP_CRA_ALIGN;
      else if (mem === undefined || !mem.inRange(crAddr, R.COMP_RECORD_SIZE)) crError = R.COMP_CRA_XLAT;
      else crOk = true;
    }

    if ((dw0 & D_RSVD0_MASK) !== 0 || d.getUint16(o + D_RSVD1, true) !== 0) status = R.COMP_NOZERO_RESERVE;
    else if ((flags & ~R.OP_FLAGS_DEFINED) !== 0 || ((flags & R.OP_FLAG_RCR) !== 0 && !crav)) {
      status = R.COMP_INVALID_FLAGS;
      invalid = (flags & ~R.OP_FLAGS_DEFINED) !== 0 ? flags & ~R.OP_FLAGS_DEFINED : R.OP_FLAG_RCR;
    } else if (crError !== 0) status = crError;
    else if (opcode >= 0x100 || ((this.#bytes[R.IDXD_OPCAP + (opcode >> 3)]! >> (opcode & 7)) & 1) === 0) status = R.COMP_BAD_OPCODE;
    else if (!this.#opSpecificClear(d, o, opcode)) status = R.COMP_NOZERO_RESERVE;
    else if (opcode !== R.OPCODE_NOOP && opcode !== R.OPCODE_DRAIN) {
      const size = d.getUint32(o + D_XFER, true);
      const wqShift = this.#get32(this.wqcfgOffset + w * R.WQCFG_SIZE + R.WQCFG_MAX_SHIFTS) & 0x1f;
      const shift = wqShift === 0 ? this.caps.maxXferShift : Math.min(wqShift, this.caps.maxXferShift);
      if (size === 0 || size > 2 ** shift) status = R.COMP_XFER_ERANGE;
    }
    // RCI: a completion interrupt whatever the status, through a handle that must be valid.
    let handle = -1;
    if ((flags & R.OP_FLAG_RCI) !== 0) {
      handle = d.getUint16(o + D_INT_HANDLE, true);
      if (!this.#handleValid(handle, ims, pasid)) {
        if (status === R.COMP_SUCCESS) status = R.COMP_INT_HANDLE_INVAL;
        handle = -1;
      }
    }

    if (status === R.COMP_SUCCESS) {
      const r = this.#operate(opcode, d, o, mem);
      status = r;
      if (status === R.COMP_PAGE_FAULT_NOBOF || status === (R.COMP_PAGE_FAULT_NOBOF | R.COMP_STATUS_WRITE)) faultAddr = this.#faultAddr;
    }

    // Report: a record when one is requested (RCR) or, with a valid record address, on any error;
    // an error with nowhere to write goes to SWERR.
    const isError = (status & R.COMP_STATUS_MASK) !== R.COMP_SUCCESS && (status & R.COMP_STATUS_MASK) !== R.COMP_SUCCESS_PRED;
    if (crOk && ((flags & R.OP_FLAG_RCR) !== 0 || isError)) {
      rec[R.CR_STATUS] = status;
      if (status === R.COMP_INVALID_FLAGS) rv.setUint32(R.CR_INVALID_FLAGS, invalid, true);
      if (faultAddr !== 0n) rv.setBigUint64(R.CR_FAULT_ADDR, faultAddr, true);
      mem!.writeFrom(crAddr, rec, 0, R.COMP_RECORD_SIZE);
    } else if (isError) {
      this.#softwareError(status & R.COMP_STATUS_MASK, w, pasid, opcode, invalid, (status & R.COMP_STATUS_WRITE) !== 0 ? 1 : 0, faultAddr, (dw0 & 0x80000000) !== 0);
    }
    if (handle < 0) return -1;
    // MSIXPERM.ignore, checked at completion: no interrupt, nothing left pending (DSA spec §3.7, §9.2.22).
    if (!ims && (this.#get32(this.msixPermOffset + handle * R.MSIX_PERM_SIZE) & R.MSIX_PERM_IGNORE) !== 0) return -1;
    return ims ? IRQ_IMS + handle : handle;
  }

  /** Bytes 40-63 must be zero except the fields the operation uses (compare: expected_res; CRC: seed). */
  #opSpecificClear(d: DataView, o: number, opcode: number): boolean {
    const from = opcode === R.OPCODE_COMPARE ? 1 : opcode === R.OPCODE_CRCGEN ? 4 : 0;
    for (let i = D_OP_SPECIFIC + from; i < R.DESC_SIZE; i++) if (d.getUint8(o + i) !== 0) return false;
    return true;
  }

  #handleValid(handle: number, ims: boolean, pasid: number): boolean {
    if (ims) {
      const store = this.ims;
      if (!store || handle >= store.size) return false;
      if (this.caps.intHandles && this.#grantedIms[handle] === 0) return false;
      return this.#imsEntryAllows(store, handle, pasid);
    }
    if (handle >= this.msix.size) return false;
    if (this.caps.intHandles && this.#grantedMsix[handle] !== 1) return false;
    return this.#msixPermAllows(handle, pasid);
  }

  /**
   * The same PASID check on an IMS entry (Intel DSA Architecture Specification rev 3.0): §3.7 says
   * each IMS entry carries the same control fields as an MSI-X permissions entry and that "the PASID
   * Enable and PASID fields of the selected interrupt table entry" are checked before the descriptor
   * executes; §5.4 requires, with RCI set, that the entry's PASID Enable equal the WQ PASID Enable of
   * the WQ the descriptor came through and, when it is 1, that the entry's PASID equal the
   * descriptor's; §9.2.28 (IMS entry, control bits 3 and 31:12) points both fields at §5.4. A
   * mismatch is an invalid interrupt handle (0x19, Table 5-6): no interrupt, nothing pending.
   *
   * So an IMS entry without PASID Enable serves only descriptors without a PASID, and an entry with
   * it only descriptors of its PASID. imsim's reading, as for MSI-X (see #msixPermAllows): "WQ PASID
   * Enable" is "the descriptor carries a PASID" (`pasid` ≥ 0); a dedicated WQ's descriptors carry
   * WQCFG.pasid exactly when WQCFG.pasid_en is 1, and on a shared WQ imsim's ENQCMDS without a PASID
   * counts as PASID disabled (the spec requires PASID enable on a shared WQ and does not cover it).
   * `store.pasid(i)` is -1 when the entry's PASID Enable is 0, the entry's PASID otherwise.
   */
  #imsEntryAllows(store: Entry16Store, entry: number, pasid: number): boolean {
    const entryPasid = store.pasid(entry);
    if (entryPasid === -1) return pasid === -1;
    return pasid !== -1 && entryPasid === pasid;
  }

  /**
   * The MSI-X permissions table check (MSIXPERM, Intel DSA Architecture Specification rev 3.0,
   * §5.4 and §9.2.22; status 0x19 in Table 5-6): with RCI set, the entry's PASID Enable must equal
   * the WQ PASID Enable of the WQ the descriptor came through and, when it is 1, the entry's PASID
   * must equal the descriptor's. An entry the driver left at 0 therefore serves only descriptors
   * without a PASID (the kernel's, when the kernel uses no PASID); a user's or guest's descriptor
   * naming a kernel vector fails with COMP_INT_HANDLE_INVAL and raises nothing.
   *
   * imsim's reading: "WQ PASID Enable" is taken as "the descriptor carries a PASID" (`pasid` ≥ 0).
   * For a dedicated WQ that is the same thing (its descriptors take WQCFG.pasid exactly when
   * WQCFG.pasid_en is 1); for a shared WQ the spec requires PASID enable, and imsim's ENQCMDS without
   * a PASID (`pasid` -1) counts as not enabled. The handle is the entry index (see REQUEST_INT_HANDLE).
   */
  #msixPermAllows(entry: number, pasid: number): boolean {
    const perm = this.#get32(this.msixPermOffset + entry * R.MSIX_PERM_SIZE);
    if ((perm & R.MSIX_PERM_PASID_EN) === 0) return pasid === -1;
    return pasid !== -1 && perm >>> R.MSIX_PERM_PASID_SHIFT === pasid;
  }

  #faultAddr = 0n;

  /**
   * Checks that [a, a+n) is mapped, `a` being the descriptor's address field at `o + field`; records
   * the first faulting address. An address of 2^53 or more (`a` is Infinity, see #u64) is reported
   * exactly, read back from the descriptor (the fault path may allocate; the success path does not).
   */
  #mapped(mem: Memory | undefined, a: number, n: number, d: DataView, o: number, field: number): boolean {
    if (mem !== undefined && mem.inRange(a, n)) return true;
    this.#faultAddr = !Number.isFinite(a) ? d.getBigUint64(o + field, true) : BigInt(mem === undefined || a >= mem.size ? a : mem.size);
    return false;
  }

  /** Runs the operation; returns the status byte (with the write bit on a destination fault). */
  #operate(opcode: number, d: DataView, o: number, mem: Memory | undefined): number {
    const rv = this.#recordView;
    const size = d.getUint32(o + D_XFER, true);
    const src = this.#u64(d, o + D_SRC);
    const dst = this.#u64(d, o + D_DST);
    const fault = R.COMP_PAGE_FAULT_NOBOF;
    switch (opcode) {
      case R.OPCODE_NOOP:
      case R.OPCODE_DRAIN:
        return R.COMP_SUCCESS;
      case R.OPCODE_MEMMOVE: {
        if (!this.#mapped(mem, src, size, d, o, D_SRC)) return fault;
        if (!this.#mapped(mem, dst, size, d, o, D_DST)) return fault | R.COMP_STATUS_WRITE;
        const m = mem!;
        const buf = this.#chunkA;
        if (dst <= src || dst >= src + size) {
          for (let done = 0; done < size; done += CHUNK) {
            const n = Math.min(CHUNK, size - done);
            m.readInto(src + done, buf, 0, n);
            m.writeFrom(dst + done, buf, 0, n);
          }
        } else {
          for (let left = size; left > 0; left -= CHUNK) {
            const n = Math.min(CHUNK, left);
            m.readInto(src + left - n, buf, 0, n);
            m.writeFrom(dst + left - n, buf, 0, n);
          }
        }
        rv.setUint32(R.CR_BYTES_COMPLETED, size, true);
        return R.COMP_SUCCESS;
      }
      case R.OPCODE_MEMFILL: {
        if (!this.#mapped(mem, dst, size, d, o, D_DST)) return fault | R.COMP_STATUS_WRITE;
        const buf = this.#chunkA;
        for (let i = 0; i < CHUNK; i++) buf[i] = d.getUint8(o + D_SRC + (i & 7));
        for (let done = 0; done < size; done += CHUNK) mem!.writeFrom(dst + done, buf, 0, Math.min(CHUNK, size - done));
        rv.setUint32(R.CR_BYTES_COMPLETED, size, true);
        return R.COMP_SUCCESS;
      }
      case R.OPCODE_COMPARE: {
        if (!this.#mapped(mem, src, size, d, o, D_SRC) || !this.#mapped(mem, dst, size, d, o, D_DST)) return fault;
        const a = this.#chunkA;
        const b = this.#chunkB;
        let diff = -1;
        for (let done = 0; done < size && diff < 0; done += CHUNK) {
          const n = Math.min(CHUNK, size - done);
          mem!.readInto(src + done, a, 0, n);
          mem!.readInto(dst + done, b, 0, n);
          for (let i = 0; i < n; i++) {
            if (a[i] !== b[i]) {
              diff = done + i;
              break;
            }
          }
        }
        const result = diff < 0 ? 0 : 1;
        this.#record[R.CR_RESULT] = result;
        rv.setUint32(R.CR_BYTES_COMPLETED, diff < 0 ? size : diff, true);
        // Check Result flag: a result other than expected_res completes with "success, false predicate".
        const flags = d.getUint32(o + D_FLAGS, true) & 0xffffff;
        if ((flags & R.OP_FLAG_CR) !== 0 && result !== d.getUint8(o + D_OP_SPECIFIC)) return R.COMP_SUCCESS_PRED;
        return R.COMP_SUCCESS;
      }
      case R.OPCODE_CRCGEN: {
        if (!this.#mapped(mem, src, size, d, o, D_SRC)) return fault;
        let crc = d.getUint32(o + D_OP_SPECIFIC, true);
        const buf = this.#chunkA;
        for (let done = 0; done < size; done += CHUNK) {
          const n = Math.min(CHUNK, size - done);
          mem!.readInto(src + done, buf, 0, n);
          crc = crc32c(buf, crc, 0, n);
        }
        rv.setUint32(R.CR_CRC_VAL, crc, true);
        rv.setUint32(R.CR_BYTES_COMPLETED, size, true);
        return R.COMP_SUCCESS;
      }
      default:
        return R.COMP_BAD_OPCODE;
    }
  }

  // ------------------------------------------------------------------ errors and interrupts

  /**
   * Records a software error in SWERR (keeping the first one and setting overflow for the next),
   * sets INTCAUSE.ERR and, with GENCTRL.softerr_int_en, raises MSI-X vector 0.
   */
  #softwareError(code: number, wq: number, pasid: number, opcode: number, invalidFlags: number, faultWrite: number, faultAddr: bigint, priv: boolean): void {
    this.stats.softwareErrors++;
    const q0 = this.#get32(R.IDXD_SWERR);
    if ((q0 & R.SWERR_VALID) !== 0) {
      this.#set32(R.IDXD_SWERR, q0 | R.SWERR_OVERFLOW);
    } else {
      this.#bytes.fill(0, R.IDXD_SWERR, R.IDXD_SWERR + R.IDXD_SWERR_SIZE);
      let lo = R.SWERR_VALID | ((code & 0xff) << 8);
      if (opcode >= 0) lo |= R.SWERR_DESC_VALID;
      if (wq >= 0) lo |= R.SWERR_WQ_IDX_VALID | ((wq & 0xff) << 16);
      if (faultWrite) lo |= R.SWERR_FAULT_RW;
      if (priv) lo |= R.SWERR_PRIV;
      this.#set32(R.IDXD_SWERR, lo);
      // operation 39:32 and pasid 59:40 live in the upper dword of qword 0.
      this.#set32(R.IDXD_SWERR + 4, ((opcode >= 0 ? opcode & 0xff : 0) | (pasid >= 0 ? (pasid & 0xfffff) << 8 : 0)) >>> 0);
      this.#set32(R.IDXD_SWERR + R.SWERR_INVALID_FLAGS_OFFSET, invalidFlags);
      this.#set64(R.IDXD_SWERR + R.SWERR_FAULT_ADDR_OFFSET, faultAddr);
    }
    this.#set32(R.IDXD_INTCAUSE, this.#get32(R.IDXD_INTCAUSE) | R.INTC_ERR);
    if ((this.#get32(R.IDXD_GENCTRL) & R.GENCTRL_SOFTERR_INT_EN) !== 0) this.#deliver(this.msix, 0);
  }

  /** An interrupt write. Posted: what it throws (see the class comment) is kept for the end of the public call. */
  #deliver(store: Entry16Store, index: number): void {
    try {
      this.lastDelivery = this.system.raise(store, index);
    } catch (e) {
      this.#defer(e);
    }
  }
}
