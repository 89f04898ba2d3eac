import { ImsimError, checkInt, describe, type Queue, type QueueIrq } from "@imsim/core";
import { encodeDescriptor, type DescriptorInit } from "./descriptor.js";
import type { SubmitStatus } from "./device.js";
import type { DriverChild, IdxdDriver } from "./driver.js";
import { checkMemory, virqInHandler } from "./checks.js";
import type { Memory } from "./memory.js";
import * as R from "./registers.js";

export interface UserQueueOptions {
  /** A shared WQ configured with type "user". */
  wq: number;
  /** The process's PASID (what ENQCMD carries, from IA32_PASID). */
  pasid: number;
  /** The process's address space, bound to `pasid` in the IOMMU. */
  memory: Memory;
  /** Completion interrupts (IMS entries) to allocate; default 1. */
  nvec?: number;
}

/** A user descriptor: the driver-side fields (PASID, interrupt handle) are the queue's. */
export type UserDescriptor = Omit<DescriptorInit, "pasid" | "intHandle" | "priv">;

/**
 * Next client number per device, so that names (`file0`, `file1`, ...) depend only on that
 * device's history: deterministic for a fresh device, unique on it (across driver rebinds too).
 * Linux numbers the open files of each WQ's char device on their own (ctx->id from the cdev's
 * minor ida, drivers/dma/idxd/cdev.c); one count per device keeps design A's child devices, which
 * all hang under the PCI function, apart.
 */
const nextClient = new WeakMap<object, number>();

/** The number the next client of `device` gets; taken (committed) only once its open succeeded. */
function nextClientNumber(device: object): number {
  return nextClient.get(device) ?? 0;
}

/**
 * A client of the IDXD character device (/dev/dsa/wqX.Y opened by a process): it submits with
 * ENQCMD to a shared WQ under its own PASID, and gets completion interrupts from IMS entries
 * allocated through the strategy, each carrying the PASID. Linux's upstream cdev polls completion
 * records; interrupts for user queues are the IMS use case this models.
 */
export class IdxdUserQueue implements DriverChild {
  readonly driver: IdxdDriver;
  readonly wqId: number;
  readonly pasid: number;
  readonly memory: Memory;
  /** The open file's name, `file<n>`: the queue's (design A: its child device's). */
  readonly name: string;
  /** Its interrupts' action name: the char device's, `dsa/wq<id>.<wq>`. */
  readonly actionName: string;
  readonly queue: Queue;
  /** Called from the interrupt handler with the index of the interrupt (0-based). */
  onInterrupt: ((index: number) => void) | undefined;
  readonly #irqs: QueueIrq[];
  readonly #handles: number[];
  readonly #counts: Uint32Array;
  readonly #slice: { base: number; count: number };
  readonly #releaseWq: () => void;
  readonly #boundPasid: boolean;
  #closed = false;

  private constructor(driver: IdxdDriver, options: UserQueueOptions) {
    this.driver = driver;
    this.wqId = options.wq;
    this.pasid = checkInt(options.pasid, 0, 0xfffff, "user queue PASID");
    this.memory = options.memory;
    const nvec = checkInt(options.nvec ?? 1, 1, 64, "user queue interrupts");
    checkMemory(options.memory, "user queue memory");
    const number = nextClientNumber(driver.device);
    // The open file's device is "file%d" (idxd_cdev_open); the char device it opened is
    // "<name prefix>/wq<id>.<wq>", /dev/dsa/wq0.1 (idxd_wq_add_cdev): the interrupts' action name.
    this.name = `file${number}`;
    this.actionName = `dsa/wq${driver.instance}.${options.wq}`;
    this.#counts = new Uint32Array(nvec);
    // What can be refused (WQ, PASID bound, no IMS room, an allocation failing) comes before the
    // first device command (ENABLE_WQ, REQUEST_INT_HANDLE): a failed open leaves the registers as they were.
    driver.checkWq(options.wq, "user");
    const strategy = driver.strategy;
    const undo: (() => void)[] = [];
    try {
      driver.device.bindPasid(this.pasid, options.memory);
      this.#boundPasid = true;
      undo.push(() => driver.device.unbindPasid(this.pasid));
      this.#slice = driver.allocSlice(nvec);
      undo.push(() => driver.freeSlice(this.#slice.base));
      this.queue = strategy.createQueue({ name: this.name, pasid: this.pasid, slice: this.#slice, nvec });
      undo.push(() => strategy.destroyQueue(this.queue));
      this.#irqs = strategy.irqs(this.queue);
      // request_irq, which writes the IMS entries (activation), before any device command: a
      // failure there leaves ENABLE_WQ and REQUEST_INT_HANDLE unissued. (The kernel enables a WQ,
      // then requests its irq, then its handle: drv_enable_wq, idxd_wq_request_irq in
      // drivers/dma/idxd/device.c; the handle still follows its request_irq here.)
      for (const irq of this.#irqs) {
        const index = irq.index;
        driver.system.requestIrq(irq.virq, this.actionName, () => this.#interrupt(index));
        undo.push(() => driver.system.freeIrq(irq.virq, this.actionName));
      }
      this.#releaseWq = driver.acquireWq(options.wq, "user", -1);
      undo.push(this.#releaseWq);
      this.#handles = [];
      for (const irq of this.#irqs) {
        this.#handles.push(driver.imsHandle(irq.storeIndex));
        undo.push(() => driver.releaseImsHandle(irq.storeIndex));
      }
      driver.addChild(this);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
    nextClient.set(driver.device, number + 1);
  }

  /**
   * Opens a user queue on `driver` (the char device's open + the PASID bind). All or nothing: a
   * failure leaves the device's registers, the driver (and the next client's name) and the
   * system's work counters as they were.
   */
  static open(driver: IdxdDriver, options: UserQueueOptions): IdxdUserQueue {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `user queue options must be an object, got ${describe(options)}`);
    return driver.system.atomically(() => new IdxdUserQueue(driver, options));
  }

  #interrupt(index: number): void {
    this.#counts[index]!++;
    this.onInterrupt?.(index);
  }

  get closed(): boolean {
    return this.#closed;
  }
  #live(): void {
    if (this.#closed) throw new ImsimError("ENODEV", `user queue ${this.name} is closed`);
  }
  /** Interrupts handled at index `index`. ENODEV once closed, as every method but close(). */
  interrupts(index = 0): number {
    this.#live();
    return this.#counts[index] ?? 0;
  }
  /** The queue's interrupts as the strategy reports them. */
  irqs(): readonly QueueIrq[] {
    this.#live();
    return this.#irqs;
  }
  /** The interrupt handle descriptors use for index `index`. */
  handle(index = 0): number {
    this.#live();
    const h = this.#handles[index];
    if (h === undefined) throw new ImsimError("ENOENT", `${this.name} has no interrupt ${describe(index)}`);
    return h;
  }

  /** ENQCMD of a descriptor with a completion interrupt on interrupt `index`; SUBMIT_RETRY when the shared WQ is full, ENODEV once closed. */
  submit(descriptor: UserDescriptor, index = 0): SubmitStatus {
    this.#live();
    const flags = ((descriptor.flags ?? 0) | R.OP_FLAG_RCI) >>> 0;
    const bytes = encodeDescriptor({ ...descriptor, flags, pasid: this.pasid, intHandle: this.handle(index) });
    return this.driver.device.submit(R.portalOffset(this.wqId, false, true), bytes, this.pasid);
  }

  /**
   * Closes the queue (the process closes the file): interrupts, handles, IMS entries, PASID bind,
   * WQ. Idempotent. EBUSY, changing nothing, from the handler of one of its own interrupts.
   */
  close(): void {
    this.driver.guardCommands(() => this.release(this.driver.deviceGone));
  }

  /** @internal Whether the handler of one of its interrupts is running now. */
  inHandler(): boolean {
    return this.#irqs.some((irq) => virqInHandler(this.driver.system, irq.virq));
  }

  /** @internal */
  release(deviceGone: boolean): void {
    if (this.#closed) return;
    if (!deviceGone && this.inHandler()) throw new ImsimError("EBUSY", `user queue ${this.name} cannot be closed from the handler of one of its interrupts`);
    this.#closed = true;
    this.driver.removeChild(this);
    const strategy = this.driver.removed && deviceGone ? undefined : this.driver.strategy;
    if (!deviceGone && strategy) {
      for (const irq of this.#irqs) {
        if (this.driver.system.irqDesc(irq.virq)?.actions.some((a) => a.name === this.actionName)) this.driver.system.freeIrq(irq.virq, this.actionName);
        this.driver.releaseImsHandle(irq.storeIndex);
      }
      if (strategy.queues().some((q) => q.id === this.queue.id)) strategy.destroyQueue(this.queue);
    }
    this.driver.freeSlice(this.#slice.base);
    if (this.#boundPasid) this.driver.device.unbindPasid(this.pasid);
    this.#releaseWq();
  }
}
