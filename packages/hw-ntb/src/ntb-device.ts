import { DELIVERED, ImsimError, type Device, type IrqSystem } from "@imsim/core";
import { MSI_ADDR_BASE } from "@imsim/core";
import { NtbEventErrorLog } from "./event-errors.js";
import type { MemoryWindow, MwAlign } from "./memory-window.js";
import type { ScratchpadBank } from "./scratchpad.js";
import type { Doorbell, DoorbellEvent } from "./doorbell.js";
import type { NtbMsixTable } from "./msix-table.js";

/** Result of a write through a memory window: core's DeliveryResult (0-3) when it reached the MSI range, else one of these. */
export const WRITE_MEMORY = 4;
/** The offset is outside the peer's translated window (or no translation is set): the write reaches nothing. */
export const WRITE_DROPPED = 5;
/** A posted trigger was kept while the link is down; it is issued once after the link comes back. */
export const WRITE_DEFERRED = 6;
export type NtbWriteResult = 0 | 1 | 2 | 3 | typeof WRITE_MEMORY | typeof WRITE_DROPPED | typeof WRITE_DEFERRED;

/** End of the x86 MSI range: addresses 0xFEE00000-0xFEEFFFFF (arch/x86/include/asm/msi.h). */
export const MSI_ADDR_END = MSI_ADDR_BASE + 0x100000;

/** Called on link up (true) and link down (false): Linux's ntb_ctx_ops.link_event. */
export type LinkEvent = (up: boolean) => void;

/** What an NtbDevice needs from the pair that joins it to its peer. @internal */
export interface NtbLinkPort {
  readonly isLinkUp: boolean;
  setEnabled(device: NtbDevice, enabled: boolean): void;
}

export interface NtbDeviceParts {
  system: IrqSystem;
  pciFunction: Device;
  device: Device;
  store: NtbMsixTable;
  windows: MemoryWindow[];
  apertureBase: number[];
  spads: ScratchpadBank;
  doorbell: Doorbell;
  wireRequesterId: number;
  port: NtbLinkPort;
}

export interface NtbPortStats {
  /** Writes that arrived through an inbound window. */
  inboundWrites: number;
  /** Of those, the ones that landed in the MSI range (handed to interrupt remapping / the APIC). */
  msiWrites: number;
  memoryWrites: number;
  dropped: number;
}

/**
 * One host's side of the bridge as NTB clients see it: Linux's `struct ntb_dev` (include/linux/ntb.h),
 * a device on the `ntb` bus whose parent is the NTB PCI function (`ntb->pdev`). Clients are not PCI
 * drivers: they reach memory windows, scratchpads, doorbells, the link and the function's
 * interrupts through this object, as through the ntb_dev_ops of a hardware driver.
 *
 * What one host does never fails on the other: a write through the window is posted, and the
 * listeners of link and doorbell events run on the host that has them. An error thrown there (a
 * listener's, or an `onHandlerError` hook's during a peer's write) is kept in this host's
 * `eventErrors`; interrupt handlers' own errors are in `system.handlerErrors`, as core keeps them.
 */
export class NtbDevice {
  readonly system: IrqSystem;
  /** The NTB PCI function (ntb->pdev): owner of the MSI-X table and of the requester id. */
  readonly pciFunction: Device;
  /** The client-layer device on the ntb bus (ntb->dev). */
  readonly device: Device;
  readonly store: NtbMsixTable;
  /** Requester id this side's bridge presents on writes coming from the peer (a proxy id). */
  readonly wireRequesterId: number;
  readonly stats: NtbPortStats = { inboundWrites: 0, msiWrites: 0, memoryWrites: 0, dropped: 0 };
  /** Errors thrown on this host while it handled a link change, a doorbell or a write from the peer. */
  readonly eventErrors: NtbEventErrorLog;
  #peer: NtbDevice | undefined;
  readonly #windows: MemoryWindow[];
  readonly #apertureBase: number[];
  readonly #spads: ScratchpadBank;
  readonly #doorbell: Doorbell;
  readonly #port: NtbLinkPort;
  readonly #linkListeners: LinkEvent[] = [];
  /** Link events emitted so far: a listener that changes the link again ends the older event's round. */
  #linkEvents = 0;
  #removed = false;

  /** @internal Built by NtbPair. */
  constructor(parts: NtbDeviceParts) {
    this.system = parts.system;
    this.pciFunction = parts.pciFunction;
    this.device = parts.device;
    this.store = parts.store;
    this.wireRequesterId = parts.wireRequesterId;
    this.#windows = parts.windows;
    this.#apertureBase = parts.apertureBase;
    this.#spads = parts.spads;
    this.#doorbell = parts.doorbell;
    this.#port = parts.port;
    this.eventErrors = new NtbEventErrorLog(() => `${this.system.name}/${this.device.name}`);
    this.#doorbell.onListenerError = (e) => this.eventErrors.record("doorbell", e);
  }

  /** @internal */
  connect(peer: NtbDevice): void {
    this.#peer = peer;
  }
  /** @internal The PCI function was removed (hot-unplug). */
  markRemoved(): void {
    this.#removed = true;
    for (const w of this.#windows) w.clearTranslation();
    this.#doorbell.reset();
    this.#spads.clear();
  }
  get removed(): boolean {
    return this.#removed;
  }
  #present(): void {
    if (this.#removed) throw new ImsimError("ENODEV", `NTB device ${this.device.name} of ${this.system.name} has been removed`);
  }
  get peer(): NtbDevice {
    return this.#peer!;
  }
  get name(): string {
    return this.device.name;
  }

  // ------------------------------------------------------------ link (ntb_link_is_up / enable / disable)

  get linkIsUp(): boolean {
    return !this.#removed && this.#port.isLinkUp;
  }
  linkEnable(): void {
    this.#present();
    this.#port.setEnabled(this, true);
  }
  linkDisable(): void {
    this.#present();
    this.#port.setEnabled(this, false);
  }
  /** Adds a link_event listener; returns a function removing it. */
  onLinkEvent(listener: LinkEvent): () => void {
    this.#linkListeners.push(listener);
    return () => {
      const i = this.#linkListeners.indexOf(listener);
      if (i >= 0) this.#linkListeners.splice(i, 1);
    };
  }
  /**
   * @internal Runs every link_event listener; a throwing one is recorded in `eventErrors` and the
   * others still run. A listener that changes the link itself makes a newer event, which every
   * listener has seen by the time it returns: the rest of this one would be stale, and is dropped.
   */
  emitLinkEvent(up: boolean): void {
    const event = ++this.#linkEvents;
    for (const l of [...this.#linkListeners]) {
      if (event !== this.#linkEvents) return;
      try {
        l(up);
      } catch (e) {
        this.eventErrors.record("link", e);
      }
    }
  }

  #linkCheck(what: string): void {
    this.#present();
    if (!this.#port.isLinkUp) throw new ImsimError("ENOLINK", `NTB link of ${this.system.name}/${this.device.name} is down: ${what} cannot reach the peer`);
  }

  // ------------------------------------------------------------ memory windows

  get mwCount(): number {
    return this.#windows.length;
  }
  #mw(widx: number): MemoryWindow {
    const w = this.#windows[widx];
    if (w === undefined) throw new ImsimError("EINVAL", `memory window ${String(widx)} does not exist (${this.#windows.length} windows)`);
    return w;
  }
  /** ntb_mw_get_align(). */
  mwGetAlign(widx: number): MwAlign {
    const w = this.#mw(widx);
    return { addrAlign: w.addrAlign, sizeAlign: w.sizeAlign, sizeMax: w.sizeMax };
  }
  /** ntb_mw_set_trans(): where the peer's writes into window `widx` land on this host. */
  mwSetTrans(widx: number, address: number, size: number): void {
    this.#present();
    this.#mw(widx).setTranslation(address, size);
  }
  mwClearTrans(widx: number): void {
    this.#mw(widx).clearTranslation();
  }
  /** The inbound window `widx` (read-only use: translation state). */
  window(widx: number): MemoryWindow {
    return this.#mw(widx);
  }
  /** ntb_peer_mw_get_addr(): this host's outbound aperture of window `widx` (physical base and size). */
  peerMwGetAddr(widx: number): { base: number; size: number } {
    const base = this.#apertureBase[widx];
    if (base === undefined) throw new ImsimError("EINVAL", `memory window ${String(widx)} does not exist (${this.#windows.length} windows)`);
    return { base, size: this.#peer!.window(widx).sizeMax };
  }

  /**
   * A 32-bit write at `offset` of this host's outbound aperture `widx` (iowrite32 on the mapped peer
   * window, as ntb_msi_peer_trigger does). It crosses the bridge and arrives at the peer carrying
   * the peer bridge's requester id. ENOLINK while the link is down. Hot path: no allocation.
   */
  peerMwWrite32(widx: number, offset: number, value: number): NtbWriteResult {
    if (this.#removed || !this.#port.isLinkUp) this.#linkCheck("a memory-window write");
    const peer = this.#peer!;
    return peer.inboundWrite(widx, offset, value, peer.wireRequesterId, -1);
  }

  /**
   * A write arriving through inbound window `widx` with requester id `requesterId` (what the wire
   * carries) and `pasid` (-1: none; NTB writes carry none). Translated by the window; in the MSI
   * range it is an interrupt write validated by this host's interrupt remapping. @internal Also the
   * path tests use to forge the requester id.
   */
  inboundWrite(widx: number, offset: number, value: number, requesterId: number, pasid: number): NtbWriteResult {
    // Integer checks only (hot path). A bad argument is the caller's EINVAL, before anything is counted.
    if (!Number.isInteger(offset) || requesterId >>> 0 !== requesterId || requesterId > 0xffff || (pasid !== -1 && (pasid >>> 0 !== pasid || pasid > 0xfffff))) {
      throw this.#badWrite(offset, requesterId, pasid);
    }
    this.stats.inboundWrites++;
    const w = this.#windows[widx];
    const address = w === undefined ? -1 : w.translate(offset);
    if (address < 0) {
      this.stats.dropped++;
      return WRITE_DROPPED;
    }
    if (address >= MSI_ADDR_BASE && address < MSI_ADDR_END) {
      this.stats.msiWrites++;
      try {
        return this.system.msiWrite(address, 0, value >>> 0, requesterId, pasid);
      } catch (e) {
        // Handler errors stay in core; only a throwing onHandlerError hook gets here, once the
        // interrupt was delivered. The write is posted: its sender never sees this.
        this.eventErrors.record("msi-write", e);
        return DELIVERED;
      }
    }
    this.stats.memoryWrites++;
    return WRITE_MEMORY;
  }

  #badWrite(offset: number, requesterId: number, pasid: number): ImsimError {
    return new ImsimError(
      "EINVAL",
      `a write through a memory window of ${this.system.name}/${this.device.name} needs an integer offset, a 16-bit requester id and a PASID of -1 or 20 bits, got ${String(offset)}, ${String(requesterId)}, ${String(pasid)}`,
    );
  }

  // ------------------------------------------------------------ scratchpads

  get spadCount(): number {
    return this.#spads.count;
  }
  spadRead(index: number): number {
    this.#present();
    return this.#spads.read(index);
  }
  spadWrite(index: number, value: number): void {
    this.#present();
    this.#spads.write(index, value);
  }
  /** Zeroes this side's scratchpads. */
  spadClear(): void {
    this.#spads.clear();
  }
  /** ntb_peer_spad_read(): ENOLINK while the link is down. */
  peerSpadRead(index: number): number {
    this.#linkCheck(`reading peer scratchpad ${index}`);
    return this.#peer!.#spads.read(index);
  }
  /** ntb_peer_spad_write(): ENOLINK while the link is down. */
  peerSpadWrite(index: number, value: number): void {
    this.#linkCheck(`writing peer scratchpad ${index}`);
    this.#peer!.#spads.write(index, value);
  }

  // ------------------------------------------------------------ doorbells

  get dbValidMask(): number {
    return this.#doorbell.validMask;
  }
  dbRead(): number {
    return this.#doorbell.read();
  }
  dbClear(bits: number): void {
    this.#doorbell.clear(bits);
  }
  dbReadMask(): number {
    return this.#doorbell.readMask();
  }
  dbSetMask(bits: number): void {
    this.#doorbell.setMask(bits);
  }
  dbClearMask(bits: number): void {
    this.#doorbell.clearMask(bits);
  }
  /** Adds a db_event listener; returns a function removing it. */
  onDoorbell(listener: DoorbellEvent): () => void {
    return this.#doorbell.onEvent(listener);
  }
  /** ntb_peer_db_set(): rings the peer's doorbell bits; ENOLINK while the link is down. */
  peerDbSet(bits: number): void {
    this.#linkCheck(`ringing peer doorbell 0x${bits.toString(16)}`);
    this.#peer!.#doorbell.set(bits);
  }
}
