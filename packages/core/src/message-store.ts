// Interrupt message stores: where a device keeps address/data (and PASID) per entry: the PCI MSI-X
// table (PCIe spec §7.7.2: 16-byte entries, vector control bit 0 = mask) and device-specific IMS
// such as the DSA's IMS table (DSA spec rev 3.0 §9.2.28), which adds a PASID per entry.
import { ImsimError, checkInt, describe } from "./errors.js";

/**
 * A device-specific place where interrupt messages live: the PCI MSI-X table, the IDXD IMS table,
 * any store a device model brings. The kernel's analogue is the table a `irq_chip`'s
 * `irq_write_msi_msg` / `irq_mask` / `irq_unmask` callbacks program (`include/linux/msi.h`).
 *
 * Accessors take and return plain numbers so that the delivery path can read an entry without
 * allocating. A PASID of -1 means "no PASID" (the entry's PASID-enable bit is clear).
 */
export interface MessageStore {
  /** Chip name stem for domains and /proc/interrupts, e.g. "PCI-MSIX", "PCI-IDXD". */
  readonly chipName: string;
  /** Number of entries (the domain's hwsize). */
  readonly size: number;
  /** The PCI requester id (bus << 8 | devfn) that this store's interrupt writes carry. */
  readonly requesterId: number;
  /** Whether entries can carry a PASID. */
  readonly supportsPasid: boolean;
  /**
   * The store is its PCI function's MSI-X table (PCIe §7.7.2): a function whose domains allocate
   * from it has MSI-X enabled (pci_dev::msix_enabled), which its msi_irqs/ files and `irq` show.
   */
  readonly msixTable?: boolean;
  /**
   * A counter that changes whenever any entry's message, mask or PASID may have changed. The
   * delivery path keeps validated routes only while it is unchanged (see IrqSystem.raise).
   */
  readonly version: number;
  writeMessage(index: number, addressLo: number, addressHi: number, data: number): void;
  addressLo(index: number): number;
  addressHi(index: number): number;
  data(index: number): number;
  setMasked(index: number, masked: boolean): void;
  isMasked(index: number): boolean;
  setPending(index: number, pending: boolean): void;
  isPending(index: number): boolean;
  /** Sets the entry's PASID (-1 clears PASID enable). Stores without PASID support accept only -1. */
  setPasid(index: number, pasid: number): void;
  pasid(index: number): number;
}

const STORE_METHODS = ["writeMessage", "addressLo", "addressHi", "data", "setMasked", "isMasked", "setPending", "isPending", "setPasid", "pasid"] as const;

/**
 * Checks that `store` is a MessageStore (every member with the right type, a size of 1-65536
 * entries, a 16-bit requester id); EINVAL naming the first thing missing. `what` says whose store.
 */
export function checkMessageStore(store: unknown, what: string): MessageStore {
  if (typeof store !== "object" || store === null) throw new ImsimError("EINVAL", `${what} must be a MessageStore, got ${describe(store)}`);
  const s = store as Record<string, unknown>;
  for (const m of STORE_METHODS) {
    if (typeof s[m] !== "function") throw new ImsimError("EINVAL", `${what} is not a MessageStore: it has no method ${m}()`);
  }
  if (typeof s.chipName !== "string" || s.chipName.length === 0) throw new ImsimError("EINVAL", `${what} is not a MessageStore: chipName must be a non-empty string, got ${describe(s.chipName)}`);
  checkInt(s.size, 1, 65536, `size of ${what}`);
  checkInt(s.requesterId, 0, 0xffff, `requester id of ${what}`);
  if (typeof s.supportsPasid !== "boolean") throw new ImsimError("EINVAL", `${what} is not a MessageStore: supportsPasid must be a boolean, got ${describe(s.supportsPasid)}`);
  if (typeof s.version !== "number") throw new ImsimError("EINVAL", `${what} is not a MessageStore: version must be a number, got ${describe(s.version)}`);
  return store as MessageStore;
}

/** Largest PASID: PASIDs are 20 bits (PCIe r6.0 §6.20 PASID TLP prefix). */
export const PASID_MAX = (1 << 20) - 1;

/** Byte offsets inside a 16-byte table entry (PCIe r6.0 §7.7.2 MSI-X table; the IDXD IMS entry uses the same first 12 bytes). */
export const ENTRY_ADDR_LO = 0;
export const ENTRY_ADDR_HI = 4;
export const ENTRY_DATA = 8;
export const ENTRY_CTRL = 12;
export const ENTRY_SIZE = 16;
/** Vector control bit 0: masked (MSI-X spec; IDXD IMS ctrl bit 0 likewise). */
export const CTRL_MASK = 1 << 0;
/** IMS ctrl bit 3: PASID enable; PASID in bits 31:12 (unmerged drivers/irqchip/irq-pci-intel-idxd.c, Nov 2022). */
export const CTRL_PASID_EN = 1 << 3;
export const CTRL_PASID_SHIFT = 12;

export interface Entry16StoreOptions {
  chipName: string;
  size: number;
  requesterId: number;
  /** Whether the control word carries PASID enable + PASID (IDXD IMS) or not (PCI MSI-X). */
  pasid: boolean;
  /** The table is the function's PCI MSI-X table (createMsixTable sets it). */
  msixTable?: boolean;
  /** Memory the table lives in (a BAR's bytes); a fresh buffer when omitted. */
  view?: DataView;
  /** Byte offset of entry 0 in `view`. */
  offset?: number;
}

/**
 * A table of 16-byte entries {address lo, address hi, data, control} in device memory: the PCI MSI-X
 * table layout, and the IDXD IMS layout when `pasid` is on. Entries reset masked, as MSI-X entries do.
 * Pending bits live beside the table (the MSI-X PBA).
 */
export class Entry16Store implements MessageStore {
  readonly chipName: string;
  readonly size: number;
  readonly requesterId: number;
  readonly supportsPasid: boolean;
  readonly msixTable: boolean;
  readonly #view: DataView;
  readonly #base: number;
  readonly #pending: Uint8Array;
  #version = 0;

  constructor(options: Entry16StoreOptions) {
    checkInt(options.size, 1, 65536, "message store size");
    checkInt(options.requesterId, 0, 0xffff, "requester id");
    const offset = options.offset ?? 0;
    const view = options.view ?? new DataView(new ArrayBuffer(options.size * ENTRY_SIZE));
    if (offset < 0 || offset + options.size * ENTRY_SIZE > view.byteLength) {
      throw new ImsimError("EINVAL", `a ${options.size}-entry table at offset ${offset} does not fit in ${view.byteLength} bytes`);
    }
    this.chipName = options.chipName;
    this.size = options.size;
    this.requesterId = options.requesterId;
    this.supportsPasid = options.pasid;
    this.msixTable = options.msixTable ?? false;
    this.#view = view;
    this.#base = offset;
    this.#pending = new Uint8Array(options.size);
    for (let i = 0; i < options.size; i++) view.setUint32(offset + i * ENTRY_SIZE + ENTRY_CTRL, CTRL_MASK, true);
  }

  #at(index: number, field: number): number {
    return this.#base + index * ENTRY_SIZE + field;
  }
  get version(): number {
    return this.#version;
  }
  /** Records that the table's memory was written behind the store's back (a device model's MMIO write). */
  touch(): void {
    this.#version++;
  }
  writeMessage(index: number, addressLo: number, addressHi: number, data: number): void {
    this.#version++;
    this.#view.setUint32(this.#at(index, ENTRY_ADDR_LO), addressLo >>> 0, true);
    this.#view.setUint32(this.#at(index, ENTRY_ADDR_HI), addressHi >>> 0, true);
    this.#view.setUint32(this.#at(index, ENTRY_DATA), data >>> 0, true);
  }
  addressLo(index: number): number {
    return this.#view.getUint32(this.#at(index, ENTRY_ADDR_LO), true);
  }
  addressHi(index: number): number {
    return this.#view.getUint32(this.#at(index, ENTRY_ADDR_HI), true);
  }
  data(index: number): number {
    return this.#view.getUint32(this.#at(index, ENTRY_DATA), true);
  }
  control(index: number): number {
    return this.#view.getUint32(this.#at(index, ENTRY_CTRL), true);
  }
  setMasked(index: number, masked: boolean): void {
    this.#version++;
    const at = this.#at(index, ENTRY_CTRL);
    const ctrl = this.#view.getUint32(at, true);
    this.#view.setUint32(at, masked ? (ctrl | CTRL_MASK) >>> 0 : (ctrl & ~CTRL_MASK) >>> 0, true);
  }
  isMasked(index: number): boolean {
    return (this.control(index) & CTRL_MASK) !== 0;
  }
  setPending(index: number, pending: boolean): void {
    this.#pending[index] = pending ? 1 : 0;
  }
  isPending(index: number): boolean {
    return this.#pending[index] === 1;
  }
  setPasid(index: number, pasid: number): void {
    if (pasid !== -1) checkInt(pasid, 0, PASID_MAX, `PASID for ${this.chipName} entry ${index}`);
    if (pasid !== -1 && !this.supportsPasid) {
      throw new ImsimError("EINVAL", `${this.chipName} entries carry no PASID (asked for ${pasid})`);
    }
    this.#version++;
    const at = this.#at(index, ENTRY_CTRL);
    const keep = this.#view.getUint32(at, true) & CTRL_MASK;
    const ctrl = pasid === -1 ? keep : keep | CTRL_PASID_EN | (pasid << CTRL_PASID_SHIFT);
    this.#view.setUint32(at, ctrl >>> 0, true);
  }
  pasid(index: number): number {
    const ctrl = this.control(index);
    return (ctrl & CTRL_PASID_EN) === 0 ? -1 : ctrl >>> CTRL_PASID_SHIFT;
  }
}

/** A PCI MSI-X table of `size` entries (PCIe §7.7.2; at most 2048, `include/uapi/linux/pci_regs.h` PCI_MSIX_FLAGS_QSIZE). */
export function createMsixTable(size: number, requesterId: number): Entry16Store {
  checkInt(size, 1, 2048, "MSI-X table size");
  return new Entry16Store({ chipName: "PCI-MSIX", size, requesterId, pasid: false, msixTable: true });
}

/**
 * A window of `count` entries of `store` starting at `base`, seen as a store of its own: what a
 * subdevice's IMS domain covers in design A. Index i of the slice is entry base + i of the store.
 */
export class StoreSlice implements MessageStore {
  readonly chipName: string;
  readonly size: number;
  readonly requesterId: number;
  readonly supportsPasid: boolean;
  readonly msixTable: boolean;
  readonly store: MessageStore;
  readonly base: number;

  constructor(store: MessageStore, base: number, count: number) {
    checkInt(base, 0, store.size - 1, `slice base of ${store.chipName}`);
    checkInt(count, 1, store.size - base, `slice size at base ${base} of ${store.chipName} (size ${store.size})`);
    this.store = store;
    this.base = base;
    this.size = count;
    this.chipName = store.chipName;
    this.requesterId = store.requesterId;
    this.supportsPasid = store.supportsPasid;
    this.msixTable = store.msixTable ?? false;
  }
  get version(): number {
    return this.store.version;
  }
  writeMessage(index: number, addressLo: number, addressHi: number, data: number): void {
    this.store.writeMessage(this.base + index, addressLo, addressHi, data);
  }
  addressLo(index: number): number {
    return this.store.addressLo(this.base + index);
  }
  addressHi(index: number): number {
    return this.store.addressHi(this.base + index);
  }
  data(index: number): number {
    return this.store.data(this.base + index);
  }
  setMasked(index: number, masked: boolean): void {
    this.store.setMasked(this.base + index, masked);
  }
  isMasked(index: number): boolean {
    return this.store.isMasked(this.base + index);
  }
  setPending(index: number, pending: boolean): void {
    this.store.setPending(this.base + index, pending);
  }
  isPending(index: number): boolean {
    return this.store.isPending(this.base + index);
  }
  setPasid(index: number, pasid: number): void {
    this.store.setPasid(this.base + index, pasid);
  }
  pasid(index: number): number {
    return this.store.pasid(this.base + index);
  }
}
