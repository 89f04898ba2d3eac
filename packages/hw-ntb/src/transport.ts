import { ImsimError, checkInt, type ImsStrategy, type StrategyFactory, type StrategyOptions } from "@imsim/core";
import { NtbMsi, type NtbMsiDesc } from "./ntb-msi.js";
import { WRITE_DEFERRED, type NtbDevice, type NtbWriteResult } from "./ntb-device.js";
import { NTB_TRANSPORT_ACTION, NtbClient, type NtbClientOptions } from "./client.js";

// Scratchpad layout of ntb_transport (drivers/ntb/ntb_transport.c): VERSION, QP_LINKS, NUM_QPS,
// NUM_MWS, then a high/low size pair per data memory window from MW0_SZ_HIGH; the MSI descriptors
// follow at msi_spad_offset = MW0_SZ_HIGH + 2 * mw_count, two per queue pair: addr_offset, then data.
// mw_count there is the number of DATA windows: ntb_transport_probe takes the last window for MSI
// (mw_count -= 1) before it computes msi_spad_offset. The header registers are written into the
// peer's scratchpads (ntb_peer_spad_write in ntb_transport_link_work), the descriptors into the
// local ones (ntb_spad_write in ntb_transport_setup_qp_msi), read back with ntb_peer_spad_read.
export const SPAD_VERSION = 0;
export const SPAD_QP_LINKS = 1;
export const SPAD_NUM_QPS = 2;
export const SPAD_NUM_MWS = 3;
export const SPAD_MW0_SZ_HIGH = 4;
/** Protocol version this model writes in SPAD_VERSION (its own number, not ntb_transport's). */
export const TRANSPORT_VERSION = 1;
/**
 * addr_offset value meaning "no descriptor in this slot" (this model's marker; a real window is far
 * smaller than 4 GiB). Zeroed scratchpads (after a link cleanup) also read as empty: offset 0 with
 * data 0 is no valid x86 message (compat vector 0 is an exception vector; remappable addresses
 * have the format bits set, so their offset is never 0).
 */
export const DESC_INVALID = 0xffffffff;
/**
 * Doorbell bit that says "my MSI descriptors changed, read them again": ntb_transport_probe takes
 * qp_count = ilog2(ntb_db_valid_mask()), minus one with MSI, and msi_db_mask = 1 << qp_count
 * (drivers/ntb/ntb_transport.c). 16 doorbells (mask 0xffff): bit 14. At least bit 0 here.
 */
export function defaultMsiDoorbellBit(dbValidMask: number): number {
  const ilog2 = 31 - Math.clz32(dbValidMask);
  return Math.max(0, ilog2 - 1);
}

export interface NtbTransportOptions {
  /**
   * Interrupt slots per queue pair: queue pair n owns MSI-X entries [n*v, n*v+v) and their
   * descriptors sit at scratchpads msi_spad_offset + 2*entry. Default 1, which is exactly
   * ntb_transport's layout (spad qp*2 + offset = addr_offset, next = data).
   */
  vectorsPerQp?: number;
  /** Doorbell bit used to announce descriptor changes, default ntb_transport's msi_db_mask bit (defaultMsiDoorbellBit; 14 with 16 doorbells). */
  msiDoorbellBit?: number;
  strategyOptions?: StrategyOptions;
}

export interface NtbTransportStats {
  /** Descriptor publications (scratchpad pairs written). */
  published: number;
  /** Descriptors re-published because the kernel rewrote a message (desc_changed). */
  republished: number;
  /** Descriptors withdrawn (freed interrupts). */
  withdrawn: number;
  /** Messages that fell outside the MSI window and could not be published (Linux: WARN + EFAULT). */
  descErrors: number;
  /** Peer descriptor tables read (doorbell or link up). */
  peerRefreshes: number;
  /** Posted triggers issued after the link came back. */
  flushed: number;
}

/**
 * The per-host transport context (Linux: `struct ntb_transport_ctx`, drivers/ntb/ntb_transport.c)
 * running the ntb_msi protocol over one NtbDevice:
 * - interrupts of its clients' queue pairs are allocated through the chosen IMS strategy on the NTB
 *   function's MSI-X table (the strategy's host is the PCI function, ntb->pdev);
 * - each interrupt's {addr_offset, data} is published in this side's scratchpads, and the peer is
 *   told by a doorbell (ntb_transport_msi_desc_changed rings msi_db_mask);
 * - the peer reads them into its mirror (ntb_transport_setup_qp_peer_msi) and triggers by writing
 *   data at addr_offset of its outbound window (ntb_msi_peer_trigger);
 * - a message rewrite (affinity change, CPU offline; without interrupt remapping the address/data
 *   change) reaches the MSI-X table's write hook, the model's write_msi_msg callback, and the
 *   descriptor is re-published at once, as ntb_msi_write_msg -> desc_changed does;
 * - link down zeroes the scratchpads (ntb_transport_link_cleanup) and forgets the peer's
 *   descriptors; it also clears the MSI window (ntb_msi_clear_mws), which is this model's choice:
 *   ntb_transport leaves that translation in place and only redoes ntb_msi_setup_mws on the next
 *   link up (ntb_msi_clear_mws is called by ntb_msi_test on remove). Link up sets the window up
 *   again and re-publishes everything.
 */
export class NtbTransport {
  readonly ntb: NtbDevice;
  readonly strategy: ImsStrategy;
  readonly msi: NtbMsi;
  readonly vectorsPerQp: number;
  /** Scratchpad of slot 0's addr_offset. */
  readonly spadOffset: number;
  /** Descriptor slots the scratchpads hold (per side): slot = MSI-X entry. */
  readonly slots: number;
  readonly msiDbBit: number;
  readonly stats: NtbTransportStats = { published: 0, republished: 0, withdrawn: 0, descErrors: 0, peerRefreshes: 0, flushed: 0 };
  readonly #registered: Uint8Array;
  readonly #peerOffset: Uint32Array;
  readonly #peerData: Uint32Array;
  readonly #peerValid: Uint8Array;
  /** The peer rang "descriptors changed" since the last read of its scratchpads. */
  #peerStale = false;
  readonly #pending: Uint8Array;
  readonly #qpOwner: (NtbClient | undefined)[];
  readonly #clients = new Map<string, NtbClient>();
  readonly #scratch: NtbMsiDesc = { addrOffset: 0, data: 0 };
  readonly #unsubscribe: (() => void)[] = [];
  #dead = false;
  #disposed = false;

  constructor(ntb: NtbDevice, factory: StrategyFactory, options: NtbTransportOptions = {}) {
    if (typeof factory !== "function") throw new ImsimError("EINVAL", `NtbTransport needs a strategy factory`);
    ntb.device.assertPresent("NTB device");
    this.ntb = ntb;
    const store = ntb.store;
    this.vectorsPerQp = checkInt(options.vectorsPerQp ?? 1, 1, store.size, "vectors per queue pair");
    this.msiDbBit = checkInt(options.msiDoorbellBit ?? defaultMsiDoorbellBit(ntb.dbValidMask), 0, 30, "MSI doorbell bit");
    if (((ntb.dbValidMask >>> this.msiDbBit) & 1) === 0) throw new ImsimError("EINVAL", `doorbell bit ${this.msiDbBit} does not exist on ${ntb.name}`);
    this.msi = new NtbMsi(ntb);
    // msi_spad_offset over the data windows only: the MSI window (the last one) has no size pair.
    this.spadOffset = SPAD_MW0_SZ_HIGH + 2 * (ntb.mwCount - 1);
    this.slots = Math.floor((ntb.spadCount - this.spadOffset) / 2);
    if (this.slots < store.size) {
      throw new ImsimError("EINVAL", `${ntb.spadCount} scratchpads hold ${Math.max(this.slots, 0)} descriptors; the MSI-X table of ${ntb.pciFunction.name} has ${store.size} entries`);
    }
    this.#registered = new Uint8Array(store.size);
    this.#peerOffset = new Uint32Array(this.slots);
    this.#peerData = new Uint32Array(this.slots);
    this.#peerValid = new Uint8Array(this.slots);
    this.#pending = new Uint8Array(this.slots);
    this.#qpOwner = new Array<NtbClient | undefined>(Math.floor(store.size / this.vectorsPerQp)).fill(undefined);
    this.strategy = factory(ntb.system, ntb.pciFunction, store, options.strategyOptions ?? {});
    store.setWriteHook((i) => this.#entryWritten(i));
    this.#unsubscribe.push(ntb.onLinkEvent((up) => (up ? this.#linkUp() : this.#linkDown())));
    this.#unsubscribe.push(ntb.onDoorbell((bits) => this.#doorbell(bits)));
    this.#unsubscribe.push(
      ntb.system.onRemove(ntb.pciFunction, () => {
        // Hot-unplug: the strategy frees the interrupts with the device; nothing here may touch it.
        this.#dead = true;
        for (const c of this.#clients.values()) c._forget();
        this.#clients.clear();
      }),
    );
    // ntb_transport is an NTB client driver (ntb_register_client: drv.name KBUILD_MODNAME) bound to
    // the ntb bus device while it runs.
    ntb.device.driver = NTB_TRANSPORT_ACTION;
    // ntb_transport_probe: ntb_link_enable; link up arrives as an event.
    ntb.linkEnable();
  }

  get maxQueuePairs(): number {
    return this.#qpOwner.length;
  }
  get disposed(): boolean {
    return this.#disposed || this.#dead;
  }
  #live(): void {
    if (this.#dead) throw new ImsimError("ENODEV", `NTB function ${this.ntb.pciFunction.name} of ${this.ntb.system.name} has been removed`);
    if (this.#disposed) throw new ImsimError("ENODEV", `NTB transport of ${this.ntb.system.name}/${this.ntb.name} has been disposed`);
  }

  // ------------------------------------------------------------ clients and queue pairs

  /**
   * Registers a client with `queuePairs` queue pairs (the lowest free contiguous numbers). Both
   * hosts register the same clients in the same order. All or nothing: the interrupts are
   * allocated and their descriptors checked against the MSI window before any is published (one
   * ring of the peer's doorbell for all), so a failure leaves the scratchpads, the window, the peer,
   * the strategy and the system's work counters as they were.
   */
  createClient(name: string, options: NtbClientOptions): NtbClient {
    return this.ntb.system.atomically(() => this.#createClient(name, options));
  }

  #createClient(name: string, options: NtbClientOptions): NtbClient {
    this.#live();
    if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,20}$/.test(name)) throw new ImsimError("EINVAL", `client name must be 1-20 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
    if (this.#clients.has(name)) throw new ImsimError("EEXIST", `client ${name} already exists on ${this.ntb.system.name}`);
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `client options must be an object`);
    const count = checkInt(options.queuePairs, 1, this.#qpOwner.length, `queue pairs of client ${name}`);
    const vectors = checkInt(options.vectors ?? 1, 0, this.vectorsPerQp, `initial vectors per queue pair of client ${name} (vectorsPerQp ${this.vectorsPerQp})`);
    let first = -1;
    for (let s = 0; s + count <= this.#qpOwner.length && first < 0; s++) {
      let ok = true;
      for (let k = 0; k < count && ok; k++) if (this.#qpOwner[s + k] !== undefined) ok = false;
      if (ok) first = s;
    }
    if (first < 0) throw new ImsimError("ENOSPC", `no ${count} contiguous free queue pairs on ${this.ntb.system.name} (${this.#qpOwner.length} in all)`);
    const client = new NtbClient(this, name, first, count, vectors, options.handler);
    for (let k = 0; k < count; k++) this.#qpOwner[first + k] = client;
    try {
      client._start();
    } catch (e) {
      for (let k = 0; k < count; k++) this.#qpOwner[first + k] = undefined;
      throw e;
    }
    this.#clients.set(name, client);
    return client;
  }

  client(name: string): NtbClient {
    const c = this.#clients.get(name);
    if (!c) throw new ImsimError("ENOENT", `no client ${JSON.stringify(name)} on ${this.ntb.system.name}`);
    return c;
  }
  clients(): NtbClient[] {
    return [...this.#clients.values()];
  }

  /** @internal Called by NtbClient.destroy after its queues are gone. */
  _clientGone(client: NtbClient): void {
    for (let k = 0; k < client.queuePairs; k++) this.#qpOwner[client.firstQp + k] = undefined;
    this.#clients.delete(client.name);
  }

  /** @internal Publishes the descriptors of a client's new interrupts, all or none (see #publish). */
  _publishAll(entries: readonly number[]): void {
    this.#live();
    this.#publish(entries);
  }

  // ------------------------------------------------------------ local descriptors

  /** Whether MSI-X entry `entry` is registered for publication. */
  isPublished(entry: number): boolean {
    return this.#registered[entry] === 1;
  }

  /**
   * Registers MSI-X entry `entry` (an allocated, requested interrupt) for publication and, with the
   * link up, writes its descriptor and rings the peer. EINVAL when its message lies outside the MSI
   * window; ENOENT when the entry holds no message (with an IMS strategy: not requested yet).
   * Idempotent: an entry already registered is re-published.
   */
  publish(entry: number): void {
    this.#live();
    checkInt(entry, 0, this.#registered.length - 1, `MSI-X entry of ${this.ntb.pciFunction.name}`);
    this.#publish([entry]);
  }

  /**
   * Registers and (link up) publishes `entries`, all or none: every descriptor is checked against
   * the MSI window it will have (set up from the first entry's address when it is not yet) before
   * the window or any scratchpad is written; then the peer's doorbell rings once.
   */
  #publish(entries: readonly number[]): void {
    const store = this.ntb.store;
    for (const entry of entries) {
      if (store.addressLo(entry) === 0 && store.addressHi(entry) === 0) {
        // ntb_msi reads the message after request_irq(); an IMS entry is written at activation.
        throw new ImsimError("ENOENT", `MSI-X entry ${entry} of ${this.ntb.pciFunction.name} holds no message: no interrupt there, or it is not requested yet (request_irq writes an IMS entry)`);
      }
    }
    if (entries.length === 0) return;
    if (!this.ntb.linkIsUp) {
      for (const entry of entries) this.#registered[entry] = 1;
      return;
    }
    const setup = !this.msi.ready;
    const window = setup ? this.msi.plan(this.#address(entries[0]!)) : { base: this.msi.base, end: this.msi.end };
    for (const entry of entries) this.msi.descIn(window.base, window.end, store.addressLo(entry), store.addressHi(entry), store.data(entry), this.#scratch);
    if (setup) this.msi.setupMws(this.#address(entries[0]!));
    for (const entry of entries) {
      this.#writeDesc(entry);
      this.#registered[entry] = 1;
      this.stats.published++;
    }
    this.#ringPeer();
  }

  /** Withdraws the descriptor of `entry` (before its interrupt is freed). */
  unpublish(entry: number): void {
    checkInt(entry, 0, this.#registered.length - 1, `MSI-X entry of ${this.ntb.pciFunction.name}`);
    if (this.#registered[entry] !== 1) return;
    this.#registered[entry] = 0;
    this.#withdraw(entry);
  }

  #address(entry: number): number {
    const store = this.ntb.store;
    return store.addressHi(entry) * 2 ** 32 + store.addressLo(entry);
  }

  /** Writes the descriptor of `entry` into this side's scratchpads; throws EINVAL outside the window. */
  #writeDesc(entry: number): void {
    const store = this.ntb.store;
    const d = this.msi.descOf(store.addressLo(entry), store.addressHi(entry), store.data(entry), this.#scratch);
    this.ntb.spadWrite(this.spadOffset + 2 * entry, d.addrOffset);
    this.ntb.spadWrite(this.spadOffset + 2 * entry + 1, d.data);
  }

  #withdraw(entry: number): void {
    this.stats.withdrawn++;
    // While the link is down the scratchpads are zeroed and nobody reads them; link up rewrites every slot.
    if (this.#dead || !this.ntb.linkIsUp) return;
    this.ntb.spadWrite(this.spadOffset + 2 * entry, DESC_INVALID);
    this.ntb.spadWrite(this.spadOffset + 2 * entry + 1, 0);
    this.#ringPeer();
  }

  #ringPeer(): void {
    if (!this.#dead && this.ntb.linkIsUp) this.ntb.peerDbSet(1 << this.msiDbBit);
  }

  /** The MSI-X table's write hook: the model's write_msi_msg callback (ntb_msi_write_msg -> desc_changed). */
  #entryWritten(entry: number): void {
    if (this.#registered[entry] !== 1) return;
    const store = this.ntb.store;
    if (store.addressLo(entry) === 0 && store.addressHi(entry) === 0 && store.data(entry) === 0) {
      // The interrupt was shut down or freed under us (its last action freed: deactivation writes
      // an all-zero message; queue destroyed through the strategy; device removed).
      this.#registered[entry] = 0;
      this.#withdraw(entry);
      return;
    }
    if (this.#dead || !this.ntb.linkIsUp || !this.msi.ready) return; // published again on link up
    try {
      this.#writeDesc(entry);
      this.stats.republished++;
    } catch {
      // Linux: WARN_ON(ntb_msi_set_desc()) and the old descriptor stays; here it is withdrawn so the
      // peer cannot hit an address that no longer belongs to this interrupt.
      this.stats.descErrors++;
      this.ntb.spadWrite(this.spadOffset + 2 * entry, DESC_INVALID);
      this.ntb.spadWrite(this.spadOffset + 2 * entry + 1, 0);
    }
    this.#ringPeer();
  }

  // ------------------------------------------------------------ link and doorbell events

  /**
   * Link up (ntb_transport_link_work). Ringing the peer can run this host's interrupt handlers (the
   * peer issues its posted triggers), and they may take the link down again: #refreshPeer checks.
   */
  #linkUp(): void {
    if (this.#dead || this.#disposed || !this.ntb.linkIsUp) return;
    const ntb = this.ntb;
    // ntb_transport_link_work sends its header to the peer's scratchpads (data windows only).
    ntb.peerSpadWrite(SPAD_NUM_MWS, ntb.mwCount - 1);
    ntb.peerSpadWrite(SPAD_NUM_QPS, this.#qpOwner.length);
    ntb.peerSpadWrite(SPAD_VERSION, TRANSPORT_VERSION);
    for (let s = 0; s < this.slots; s++) ntb.spadWrite(this.spadOffset + 2 * s, DESC_INVALID);
    let first = -1;
    for (let e = 0; e < this.#registered.length && first < 0; e++) if (this.#registered[e] === 1) first = e;
    if (first >= 0) {
      if (!this.msi.ready) this.msi.setupMws(this.#address(first));
      for (let e = first; e < this.#registered.length; e++) {
        if (this.#registered[e] !== 1) continue;
        try {
          this.#writeDesc(e);
          this.stats.published++;
        } catch {
          this.stats.descErrors++;
        }
      }
    }
    this.#ringPeer();
    this.#refreshPeer();
  }

  #linkDown(): void {
    this.#peerValid.fill(0);
    this.#peerStale = false;
    if (this.#dead) return;
    // ntb_transport_link_cleanup zeroes the scratchpads; clearing the MSI window too is the model's
    // choice (ntb_transport does not call ntb_msi_clear_mws), so nothing reaches this host while down.
    this.msi.clearMws();
    this.ntb.spadClear();
  }

  #doorbell(bits: number): void {
    if (((bits >>> this.msiDbBit) & 1) === 0 || this.#dead) return;
    this.ntb.dbClear(1 << this.msiDbBit);
    // ntb_transport re-reads every queue pair's descriptor when this doorbell fires
    // (ntb_transport_msi_peer_desc_changed). Its handler runs after the ring, so rings that come
    // before it runs are served by one re-read: the model reads when it next needs the descriptors,
    // so that a peer publishing N interrupts costs one pass, not N. Posted triggers go out at once.
    if (this.pendingPosts() > 0) this.#refreshPeer();
    else this.#peerStale = true;
  }

  /** Reads the peer's descriptors (ntb_transport_setup_qp_peer_msi for every slot), then issues posted triggers. */
  #refreshPeer(): void {
    if (this.#dead || !this.ntb.linkIsUp) return;
    this.#peerStale = false;
    this.stats.peerRefreshes++;
    for (let s = 0; s < this.slots; s++) {
      const off = this.ntb.peerSpadRead(this.spadOffset + 2 * s);
      const data = this.ntb.peerSpadRead(this.spadOffset + 2 * s + 1);
      const valid = off !== DESC_INVALID && !(off === 0 && data === 0);
      this.#peerOffset[s] = valid ? off : 0;
      this.#peerData[s] = valid ? data : 0;
      this.#peerValid[s] = valid ? 1 : 0;
    }
    for (let s = 0; s < this.slots; s++) {
      if (this.#pending[s] === 1 && this.#peerValid[s] === 1 && this.ntb.linkIsUp) {
        this.#pending[s] = 0;
        this.stats.flushed++;
        this.msi.peerTrigger(this.#peerOffset[s]!, this.#peerData[s]!);
      }
    }
  }

  // ------------------------------------------------------------ triggering the peer

  /** The peer's descriptor in `slot` as last read, undefined when the slot is empty. */
  peerDescriptor(slot: number): NtbMsiDesc | undefined {
    if (this.#peerStale) this.#refreshPeer();
    return this.#peerValid[slot] === 1 ? { addrOffset: this.#peerOffset[slot]!, data: this.#peerData[slot]! } : undefined;
  }

  /**
   * Triggers the peer's interrupt published in `slot` (= the peer's MSI-X entry): writes its data at
   * its offset of the MSI window. ENOLINK while the link is down, ENOENT when the peer has no
   * descriptor there. Hot path: no allocation unless it throws.
   */
  triggerSlot(slot: number): NtbWriteResult {
    if (this.#dead || !this.ntb.linkIsUp) throw this.#noLink(slot);
    if (this.#peerStale) {
      // Reading the peer's descriptors issues posted triggers, whose handlers may take the link down.
      this.#refreshPeer();
      if (!this.ntb.linkIsUp) throw this.#noLink(slot);
    }
    if (this.#peerValid[slot] !== 1) throw this.#noDesc(slot);
    return this.msi.peerTrigger(this.#peerOffset[slot]!, this.#peerData[slot]!);
  }

  /**
   * Like triggerSlot, but while the link is down the trigger is kept (one pending bit per slot, so
   * several posts coalesce into one interrupt as an edge-triggered MSI does) and issued once after
   * the link comes back and the peer re-published the slot.
   */
  postSlot(slot: number): NtbWriteResult {
    if (!this.#dead && !this.ntb.linkIsUp) {
      checkInt(slot, 0, this.slots - 1, "descriptor slot");
      this.#pending[slot] = 1;
      return WRITE_DEFERRED;
    }
    return this.triggerSlot(slot);
  }

  /** Posted triggers waiting for the link. */
  pendingPosts(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) n += this.#pending[s]!;
    return n;
  }

  #noLink(slot: number): ImsimError {
    return new ImsimError("ENOLINK", `NTB link of ${this.ntb.system.name}/${this.ntb.name} is down: cannot trigger peer interrupt slot ${slot}; retry after link up (or post it)`);
  }
  #noDesc(slot: number): ImsimError {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) return new ImsimError("EINVAL", `descriptor slot ${String(slot)} is outside [0, ${this.slots - 1}]`);
    return new ImsimError("ENOENT", `the peer of ${this.ntb.system.name} has published no interrupt descriptor in slot ${slot}`);
  }

  // ------------------------------------------------------------ teardown

  /**
   * Destroys every client, withdraws every descriptor, disposes the strategy, clears the window and
   * the scratchpads and disables the link (the peer sees link down). Idempotent.
   */
  dispose(): void {
    if (this.#disposed) return;
    if (!this.#dead && this.clients().some((c) => c._inHandler())) {
      throw new ImsimError("EBUSY", `NTB transport of ${this.ntb.system.name}/${this.ntb.name} cannot be disposed from the handler of one of its clients' interrupts`);
    }
    if (!this.#dead) {
      for (const c of [...this.#clients.values()]) c.destroy();
      this.strategy.dispose();
      this.ntb.store.setWriteHook(undefined);
      this.msi.clearMws();
      this.ntb.spadClear();
      this.#pending.fill(0);
      this.ntb.linkDisable();
      this.ntb.device.driver = undefined;
    }
    this.#disposed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
  }
}

/** Opens the transport on `ntb` with interrupts from `factory`'s strategy: `openTransport(pair.a, createStrategy)`. */
export function openTransport(ntb: NtbDevice, factory: StrategyFactory, options: NtbTransportOptions = {}): NtbTransport {
  return new NtbTransport(ntb, factory, options);
}

