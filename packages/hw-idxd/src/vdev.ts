import { ImsimError, checkInt, describe, type Queue } from "@imsim/core";
import { encodeDescriptor, type DescriptorInit } from "./descriptor.js";
import type { SubmitStatus } from "./device.js";
import type { DriverChild, IdxdDriver } from "./driver.js";
import { checkMemory, virqInHandler } from "./checks.js";
import type { Memory } from "./memory.js";
import * as R from "./registers.js";

export interface VdevOptions {
  /** Name of the virtual device (the mdev/vfio device), e.g. "vdsa0". */
  name: string;
  /** A dedicated WQ configured with type "vdev": the guest's WQ. */
  wq: number;
  /** The guest's PASID: written into WQCFG and on every IMS entry backing the guest's vectors. */
  pasid: number;
  /** Guest memory (its IOVA space), bound to `pasid`. */
  memory: Memory;
  /** Size of the guest's virtual MSI-X table: vector 0 (emulated misc) + IMS-backed vectors; default 2. */
  vectors?: number;
}

/** A guest's handler: receives the guest's own vector number. */
export type GuestHandler = (vector: number) => void;

/** A guest descriptor: the WQ's PASID applies (dedicated WQ), the handle is the guest's to choose. */
export type GuestDescriptor = Omit<DescriptorInit, "pasid" | "priv">;

interface VectorState {
  handler: GuestHandler | undefined;
  masked: boolean;
  virq: number;
  storeIndex: number;
  handle: number;
  count: number;
}

/**
 * A VFIO-style virtual DSA given to a guest (the mdev design of 2020-2023): the guest owns one
 * dedicated WQ (its portal, its PASID) and sees a virtual MSI-X table. Vector 0 is emulated by the
 * host (misc events); vectors 1..n-1 are backed by IMS entries allocated on demand as the guest
 * enables them — the "allocate one, add more later" pattern of VFIO dynamic MSI-X — each entry
 * carrying the guest's PASID. Backing interrupts are cached until MSI-X is disabled, as vfio-pci
 * does since v6.5 (drivers/vfio/pci/vfio_pci_intrs.c).
 */
export class IdxdVdev implements DriverChild {
  readonly driver: IdxdDriver;
  readonly name: string;
  readonly wqId: number;
  readonly pasid: number;
  readonly memory: Memory;
  readonly queue: Queue;
  /** The guest-facing side: what the guest's driver can do. */
  readonly guest: GuestDsa;
  readonly #vectors: VectorState[];
  readonly #slice: { base: number; count: number };
  readonly #releaseWq: () => void;
  #closed = false;

  private constructor(driver: IdxdDriver, options: VdevOptions) {
    this.driver = driver;
    this.name = options.name;
    this.wqId = options.wq;
    this.pasid = checkInt(options.pasid, 0, 0xfffff, `PASID of ${describe(options.name)}`);
    this.memory = options.memory;
    const n = checkInt(options.vectors ?? 2, 2, 2048, `virtual MSI-X size of ${describe(options.name)}`);
    this.#vectors = Array.from({ length: n }, () => ({ handler: undefined, masked: true, virq: 0, storeIndex: -1, handle: -1, count: 0 }));
    checkMemory(options.memory, `memory of ${describe(options.name)}`);
    // What can be refused (WQ taken, PASID bound, no IMS room, name taken, an allocation failing)
    // comes before the WQ is programmed: a failed create leaves WQCFG, CMD and CMDSTS as they were.
    driver.checkWq(options.wq, "vdev");
    const strategy = driver.strategy;
    const undo: (() => void)[] = [];
    try {
      driver.device.bindPasid(this.pasid, options.memory);
      undo.push(() => driver.device.unbindPasid(this.pasid));
      this.#slice = driver.allocSlice(n - 1);
      undo.push(() => driver.freeSlice(this.#slice.base));
      // No interrupt yet: the guest has not enabled any vector.
      this.queue = strategy.createQueue({ name: options.name, pasid: this.pasid, slice: this.#slice, nvec: 0 });
      undo.push(() => strategy.destroyQueue(this.queue));
      this.#releaseWq = driver.acquireWq(options.wq, "vdev", this.pasid);
      undo.push(this.#releaseWq);
      driver.addChild(this);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
    this.guest = new GuestDsa(this);
  }

  /**
   * Creates the virtual device: binds the guest's PASID, reserves its IMS slice, creates its
   * strategy queue, then programs and enables its dedicated WQ. All or nothing: a failure (WQ
   * taken, PASID already bound, name taken, no IMS room, an injected fault) leaves the device's
   * registers, the driver and the system's work counters as they were.
   */
  static create(driver: IdxdDriver, options: VdevOptions): IdxdVdev {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `vdev options must be an object, got ${describe(options)}`);
    return driver.system.atomically(() => new IdxdVdev(driver, options));
  }

  get closed(): boolean {
    return this.#closed;
  }
  get vectorCount(): number {
    return this.#vectors.length;
  }

  #vector(v: unknown): VectorState {
    if (this.#closed) throw new ImsimError("ENODEV", `virtual device ${this.name} is closed`);
    checkInt(v, 0, this.#vectors.length - 1, `vector of ${this.name} (virtual MSI-X of ${this.#vectors.length})`);
    return this.#vectors[v as number]!;
  }

  /** @internal VFIO_DEVICE_SET_IRQS(trigger, vector v): back it with IMS on first use, attach the guest's handler, unmask. All or nothing. */
  enable(v: number, handler: GuestHandler): void {
    const s = this.#vector(v);
    if (typeof handler !== "function") throw new ImsimError("EINVAL", `handler for vector ${v} of ${this.name} must be a function`);
    if (s.handler) throw new ImsimError("EBUSY", `vector ${v} of ${this.name} is already enabled`);
    if (v === 0) {
      s.handler = handler;
      s.masked = false;
      return;
    }
    this.driver.system.atomically(() => {
      const strategy = this.driver.strategy;
      const system = this.driver.system;
      let backed = false;
      if (s.virq === 0) {
        const irq = strategy.allocIrq(this.queue, v - 1);
        s.virq = irq.virq;
        s.storeIndex = irq.storeIndex;
        backed = true;
      }
      // The handler goes in before request_irq: a raise held on a cached backing replays into it.
      s.handler = handler;
      s.masked = false;
      const undo = (requested: boolean) => {
        if (requested) system.freeIrq(s.virq, this.#actionName(v));
        s.handler = undefined;
        s.masked = true;
        if (backed) this.#unback(v, s);
      };
      // request_irq (which writes the IMS entry), then the interrupt handle, as idxd_wq_request_irq
      // orders them (drivers/dma/idxd/device.c).
      try {
        system.requestIrq(s.virq, this.#actionName(v), () => this.#fire(v));
      } catch (e) {
        undo(false);
        throw e;
      }
      if (backed) {
        try {
          s.handle = this.driver.imsHandle(s.storeIndex);
        } catch (e) {
          undo(true);
          throw e;
        }
      }
    });
  }

  /** Frees the IMS interrupt backing vector `v` and its handle. */
  #unback(v: number, s: VectorState): void {
    this.driver.releaseImsHandle(s.storeIndex);
    this.driver.strategy.freeIrq(this.queue, v - 1);
    s.virq = 0;
    s.storeIndex = -1;
    s.handle = -1;
  }

  /** @internal Whether the handler of one of its backing interrupts is running now. */
  inHandler(): boolean {
    for (let v = 1; v < this.#vectors.length; v++) if (virqInHandler(this.driver.system, this.#vectors[v]!.virq)) return true;
    return false;
  }

  #checkNotInHandler(what: string): void {
    if (this.inHandler()) throw new ImsimError("EBUSY", `${what} of ${this.name} cannot be done from the handler of one of its vectors`);
  }

  #actionName(v: number): string {
    return `vfio-msix[${v}](${this.name})`;
  }

  #fire(v: number): void {
    const s = this.#vectors[v]!;
    s.count++;
    s.handler?.(v);
  }

  /** @internal The guest detaches its handler; the backing IMS entry stays cached. */
  disable(v: number): void {
    const s = this.#vector(v);
    if (!s.handler) throw new ImsimError("ENOENT", `vector ${v} of ${this.name} is not enabled`);
    if (v > 0 && virqInHandler(this.driver.system, s.virq)) throw new ImsimError("EBUSY", `vector ${v} of ${this.name} cannot be disabled from its own handler`);
    if (v > 0) {
      if (s.masked) this.driver.system.enableIrq(s.virq);
      this.driver.system.freeIrq(s.virq, this.#actionName(v));
    }
    s.handler = undefined;
    s.masked = true;
  }

  /** @internal Guest writes the vector-control mask bit; the host masks the backing interrupt. */
  setMasked(v: number, masked: boolean): void {
    const s = this.#vector(v);
    if (!s.handler || s.masked === masked) return;
    s.masked = masked;
    if (v === 0) return;
    if (masked) this.driver.system.disableIrq(s.virq);
    else this.driver.system.enableIrq(s.virq);
  }

  /** @internal Frees every backing interrupt (guest disables MSI-X). */
  disableAll(): void {
    if (this.#closed) throw new ImsimError("ENODEV", `virtual device ${this.name} is closed`);
    this.#checkNotInHandler("disabling MSI-X");
    for (let v = 0; v < this.#vectors.length; v++) if (this.#vectors[v]!.handler) this.disable(v);
    for (let v = 1; v < this.#vectors.length; v++) {
      const s = this.#vectors[v]!;
      if (s.virq !== 0) this.#unback(v, s);
    }
  }

  /** @internal */
  state(v: number): Readonly<VectorState> {
    return this.#vector(v);
  }

  /** Emulated misc event for the guest (vector 0), as the host's vdev code would signal it. */
  notifyMisc(): boolean {
    const s = this.#vector(0);
    if (!s.handler || s.masked) return false;
    this.#fire(0);
    return true;
  }

  /** The guest goes away (VM shutdown / vfio release): everything it held is released. */
  close(): void {
    this.driver.guardCommands(() => this.release(this.driver.deviceGone));
  }

  /** @internal */
  release(deviceGone: boolean): void {
    if (this.#closed) return;
    if (!deviceGone) this.#checkNotInHandler("closing");
    if (!deviceGone) {
      this.disableAll();
      const strategy = this.driver.strategy;
      if (strategy.queues().some((q) => q.id === this.queue.id)) strategy.destroyQueue(this.queue);
    }
    this.#closed = true;
    this.driver.removeChild(this);
    this.driver.freeSlice(this.#slice.base);
    this.driver.device.unbindPasid(this.pasid);
    this.#releaseWq();
  }
}

/**
 * What the guest's IDXD driver sees of its virtual device: a virtual MSI-X table of its own vector
 * numbers, an emulated command register for interrupt handles, and its WQ's portal. Host virqs and
 * IMS entry numbers never appear here except as the opaque handle the guest puts in descriptors.
 */
export class GuestDsa {
  readonly #vdev: IdxdVdev;
  constructor(vdev: IdxdVdev) {
    this.#vdev = vdev;
  }
  /** Entries of the guest's MSI-X table. */
  get msixSize(): number {
    return this.#vdev.vectorCount;
  }
  /** Guest programs and unmasks vector `v` with its handler (IMS backing allocated now if needed). */
  enableVector(v: number, handler: GuestHandler): void {
    this.#vdev.enable(v, handler);
  }
  disableVector(v: number): void {
    this.#vdev.disable(v);
  }
  maskVector(v: number): void {
    this.#vdev.setMasked(v, true);
  }
  unmaskVector(v: number): void {
    this.#vdev.setMasked(v, false);
  }
  /** Guest disables MSI-X: every backing IMS interrupt is freed. */
  disableMsix(): void {
    this.#vdev.disableAll();
  }
  /** The guest's vectors that have a handler, ascending. */
  enabledVectors(): number[] {
    const out: number[] = [];
    for (let v = 0; v < this.#vdev.vectorCount; v++) if (this.#vdev.state(v).handler) out.push(v);
    return out;
  }
  /** Interrupts the guest took on vector `v`. */
  interrupts(v: number): number {
    return this.#vdev.state(v).count;
  }
  /**
   * The emulated REQUEST_INT_HANDLE for guest vector `v` (the guest writes its virtual CMD register):
   * CMDSTS error 0x41 (invalid interrupt index) for vector 0 or a vector not enabled.
   */
  requestIntHandle(v: number): { err: number; handle: number } {
    this.#live();
    if (!Number.isInteger(v) || v <= 0 || v >= this.#vdev.vectorCount) return { err: R.CMDSTS_ERR_INVAL_INT_IDX, handle: 0 };
    const s = this.#vdev.state(v);
    if (s.virq === 0) return { err: R.CMDSTS_ERR_INVAL_INT_IDX, handle: 0 };
    return { err: R.CMDSTS_SUCCESS, handle: s.handle };
  }
  /** MOVDIR64B of a descriptor to the guest WQ's IMS portal (posted). ENODEV once the virtual device is closed. */
  submit(descriptor: GuestDescriptor): SubmitStatus {
    this.#live();
    const bytes = encodeDescriptor(descriptor);
    return this.#vdev.driver.device.submit(R.portalOffset(this.#vdev.wqId, true, true), bytes);
  }
  /** Writes raw bytes to the guest's portal (for malformed-input tests). ENODEV once closed. */
  submitRaw(bytes: Uint8Array): SubmitStatus {
    this.#live();
    return this.#vdev.driver.device.submit(R.portalOffset(this.#vdev.wqId, true, true), bytes);
  }
  #live(): void {
    if (this.#vdev.closed) throw new ImsimError("ENODEV", `virtual device ${this.#vdev.name} is closed`);
  }
  /** The guest's memory. */
  get memory(): Memory {
    return this.#vdev.memory;
  }
}
