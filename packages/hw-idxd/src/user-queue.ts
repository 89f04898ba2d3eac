import { ImsimError, checkInt, describe, type Queue, type QueueIrq } from "@imsim/core";
import { encodeDescriptor, type DescriptorInit } from "./descriptor.js";
import { SUBMIT_RETRY, type SubmitStatus } from "./device.js";
import type { DriverChild, IdxdDriver } from "./driver.js";
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
 * Next client number per device, so that names (`dsa0-wq1-u0`, `u1`, ...) depend only on that
 * device's history: deterministic for a fresh device, unique on it (across driver rebinds too).
 */
const nextClient = new WeakMap<object, number>();

function takeClientNumber(device: object): number {
  const n = nextClient.get(device) ?? 0;
  nextClient.set(device, n + 1);
  return n;
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
  readonly name: string;
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
    this.name = `${driver.name}-wq${options.wq}-u${takeClientNumber(driver.device)}`;
    this.#counts = new Uint32Array(nvec);
    const strategy = driver.strategy;
    const undo: (() => void)[] = [];
    try {
      this.#releaseWq = driver.acquireWq(options.wq, "user", -1);
      undo.push(this.#releaseWq);
      this.#boundPasid = true;
      driver.device.bindPasid(this.pasid, options.memory);
      undo.push(() => driver.device.unbindPasid(this.pasid));
      this.#slice = driver.allocSlice(nvec);
      undo.push(() => driver.freeSlice(this.#slice.base));
      this.queue = strategy.createQueue({ name: this.name, pasid: this.pasid, slice: this.#slice, nvec });
      undo.push(() => strategy.destroyQueue(this.queue));
      this.#irqs = strategy.irqs(this.queue);
      this.#handles = [];
      for (const irq of this.#irqs) {
        this.#handles.push(driver.imsHandle(irq.storeIndex));
        undo.push(() => driver.releaseImsHandle(irq.storeIndex));
        const index = irq.index;
        driver.system.requestIrq(irq.virq, this.name, () => this.#interrupt(index));
        undo.push(() => driver.system.freeIrq(irq.virq, this.name));
      }
      driver.addChild(this);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
  }

  /** Opens a user queue on `driver` (the char device's open + the PASID bind). */
  static open(driver: IdxdDriver, options: UserQueueOptions): IdxdUserQueue {
    if (typeof options !== "object" || options === null) throw new ImsimError("EINVAL", `user queue options must be an object, got ${describe(options)}`);
    return new IdxdUserQueue(driver, options);
  }

  #interrupt(index: number): void {
    this.#counts[index]!++;
    this.onInterrupt?.(index);
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** Interrupts handled at index `index`. */
  interrupts(index = 0): number {
    return this.#counts[index] ?? 0;
  }
  /** The queue's interrupts as the strategy reports them. */
  irqs(): readonly QueueIrq[] {
    return this.#irqs;
  }
  /** The interrupt handle descriptors use for index `index`. */
  handle(index = 0): number {
    const h = this.#handles[index];
    if (h === undefined) throw new ImsimError("ENOENT", `${this.name} has no interrupt ${describe(index)}`);
    return h;
  }

  /** ENQCMD of a descriptor with a completion interrupt on interrupt `index`; SUBMIT_RETRY when the shared WQ is full. */
  submit(descriptor: UserDescriptor, index = 0): SubmitStatus {
    if (this.#closed) return SUBMIT_RETRY;
    const flags = ((descriptor.flags ?? 0) | R.OP_FLAG_RCI) >>> 0;
    const bytes = encodeDescriptor({ ...descriptor, flags, pasid: this.pasid, intHandle: this.handle(index) });
    return this.driver.device.submit(R.portalOffset(this.wqId, false, true), bytes, this.pasid);
  }

  /** Closes the queue (the process closes the file): interrupts, handles, IMS entries, PASID bind, WQ. */
  close(): void {
    this.release(this.driver.deviceGone);
  }

  /** @internal */
  release(deviceGone: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.driver.removeChild(this);
    const strategy = this.driver.removed && deviceGone ? undefined : this.driver.strategy;
    if (!deviceGone && strategy) {
      for (const irq of this.#irqs) {
        if (this.driver.system.irqDesc(irq.virq)?.actions.some((a) => a.name === this.name)) this.driver.system.freeIrq(irq.virq, this.name);
        this.driver.releaseImsHandle(irq.storeIndex);
      }
      if (strategy.queues().some((q) => q.id === this.queue.id)) strategy.destroyQueue(this.queue);
    }
    this.driver.freeSlice(this.#slice.base);
    if (this.#boundPasid) this.driver.device.unbindPasid(this.pasid);
    this.#releaseWq();
  }
}
