// The strategy seam: what a strategy offers (ImsStrategy), what a design supplies
// (StrategyDesign), and the interface version both are built for. createQueueStrategy in
// strategy.ts holds the machinery every design shares.
import type { Device } from "./device.js";
import type { IrqSystem, SysfsProvider } from "./irq-system.js";
import type { MessageStore } from "./message-store.js";
import type { Cpumask, CpumaskLike } from "./cpumask.js";
import type { MsiDomain, MsiAllocOptions } from "./msi-domain.js";
import type { MsiMsg } from "./msi-message.js";
import type { StrategyRecord, StrategyRecords } from "./records.js";

/**
 * Version of the strategy interface below; a strategy reports the one it was built for. 2: a
 * design chooses each interrupt's cookie (`cookieOf`), a per-queue sysfs directory is optional
 * (`supports.queueSysfs`), and `records()` names a design's records instead of estimating bytes.
 */
export const STRATEGY_INTERFACE_VERSION = 2;

/** Marks the queue handles a strategy made (Symbol.for, so the ESM and CJS builds agree). */
export const QUEUE_BRAND = Symbol.for("imsim.queue");

export interface QueueOptions {
  /** Queue name: the subdevice name in design A, the attribute-group name in design B, the driver's name for it in mainline. */
  name: string;
  /** PASID (20 bits) the queue's interrupt messages carry; none when omitted. */
  pasid?: number;
  /** Interrupts to allocate at creation, at the lowest free indices of the slice; default 0. */
  nvec?: number;
  /** Entries [base, base+count) of the host store; the whole store when omitted. */
  slice?: { base: number; count: number };
  /** CPUs for the queue's interrupts (a mask, "0-3", [0, 1], …); the default affinity when omitted. */
  affinity?: CpumaskLike;
}

/** What a strategy offers beyond the methods every strategy has; the conformance suite tests what is there and reports what is not. */
export interface StrategySupports {
  /**
   * A sysfs directory per queue that lists exactly the queue's virqs (`queueSysfsDir`): design A's
   * child device, design B's attribute group. Without it (mainline), `queueSysfsDir` is EOPNOTSUPP.
   */
  readonly queueSysfs: boolean;
}

/** A queue as users hold it: an opaque, branded handle. */
export interface Queue {
  readonly id: number;
  readonly name: string;
  readonly strategy: string;
}

/** One interrupt of a queue. */
export interface QueueIrq {
  readonly virq: number;
  /** Index within the queue (0 = the queue's first slot). */
  readonly index: number;
  /** msi_index in the domain that owns it (design A: the child's; designs B and mainline: the host's). */
  readonly msiIndex: number;
  /** Physical entry of the host store: what the device uses as the interrupt handle. */
  readonly storeIndex: number;
  readonly msg: MsiMsg;
  /** PASID written with the message (-1 none). */
  readonly pasid: number;
}

/**
 * The seam between a partitioned device's driver and the IMS storage design.
 * `@imsim/strategy-subdevice` (design A), `@imsim/strategy-flat` (design B) and
 * `@imsim/strategy-mainline` (Linux v6.2-v6.9) implement it, and their `createStrategy` factories
 * share one signature, so swapping designs is one import.
 */
export interface ImsStrategy {
  readonly name: string;
  readonly interfaceVersion: number;
  readonly system: IrqSystem;
  readonly host: Device;
  readonly store: MessageStore;
  readonly supports: StrategySupports;
  createQueue(options: QueueOptions): Queue;
  destroyQueue(queue: Queue): void;
  /** Allocates at queue index `index`, or at the lowest free one when omitted (MSI_ANY_INDEX). */
  allocIrq(queue: Queue, index?: number, options?: MsiAllocOptions): QueueIrq;
  /** Allocates `count` interrupts at the lowest free indices, all or none. */
  allocIrqs(queue: Queue, count: number, options?: MsiAllocOptions): QueueIrq[];
  /** Allocates every index in [first, last], all or none. */
  allocIrqRange(queue: Queue, first: number, last: number, options?: MsiAllocOptions): QueueIrq[];
  freeIrq(queue: Queue, index: number): void;
  /** Frees the allocated indices in [first, last]; returns how many. */
  freeIrqRange(queue: Queue, first: number, last: number): number;
  freeAllIrqs(queue: Queue): number;
  irqs(queue: Queue): QueueIrq[];
  queues(): Queue[];
  queueOfVirq(virq: number): Queue | undefined;
  /** Sets (or with undefined clears) the queue's PASID; every entry it owns is rewritten. Returns how many. */
  setPasid(queue: Queue, pasid: number | undefined): number;
  pasidOf(queue: Queue): number | undefined;
  /** Requester id the queue's interrupt writes carry (what interrupt remapping verifies). */
  requesterId(queue: Queue): number;
  /** Sysfs directory whose entries are the queue's virqs; EOPNOTSUPP unless `supports.queueSysfs`. */
  queueSysfsDir(queue: Queue): string;
  /** The design's records, named and counted (their bytes are measured from the heap by the bench). */
  records(): StrategyRecords;
  /** Destroys every queue; the strategy is unusable afterwards. */
  dispose(): void;
}

const warned = new Set<string>();

/**
 * Checks the interface version a strategy reports against this core's. A mismatch is warned about
 * once per strategy name (the strategy may still work) and reported as false.
 */
export function checkInterfaceVersion(strategy: Pick<ImsStrategy, "name" | "interfaceVersion">): boolean {
  if (strategy.interfaceVersion === STRATEGY_INTERFACE_VERSION) return true;
  if (!warned.has(strategy.name)) {
    warned.add(strategy.name);
    const text = `imsim: strategy "${strategy.name}" was built for interface version ${String(strategy.interfaceVersion)}, this @imsim/core implements ${STRATEGY_INTERFACE_VERSION}`;
    const proc = (globalThis as { process?: { emitWarning?: (w: string) => void } }).process;
    if (proc?.emitWarning) proc.emitWarning(text);
    else console.warn(text);
  }
  return false;
}

export interface StrategyOptions {
  /** Affinity default for queues created without one. */
  affinity?: CpumaskLike;
}

/** The signature every strategy package exports as `createStrategy`. */
export type StrategyFactory = (system: IrqSystem, host: Device, store: MessageStore, options?: StrategyOptions) => ImsStrategy;

/** Core-side state of a queue; a design keeps its own records beside it. */
export interface QueueState {
  readonly handle: Queue;
  readonly id: number;
  readonly name: string;
  /** First physical store entry of the queue's slice, and its size. */
  readonly base: number;
  readonly count: number;
  pasid: number | undefined;
  readonly affinity: Cpumask | undefined;
}

/**
 * What differs between the designs. The shared machinery (validation, index translation checks,
 * all-or-nothing allocation, PASID rewrites, teardown) lives in `createQueueStrategy`.
 */
export interface StrategyDesign {
  readonly name: string;
  /** Sets up the design's records for a new queue (A: child device + domain; B: table row). */
  attachQueue(queue: QueueState): void;
  /** Undoes attachQueue after the queue's interrupts were freed. */
  detachQueue(queue: QueueState): void;
  domainOf(queue: QueueState): MsiDomain;
  /** msi_index in domainOf(queue) of queue index `index`. */
  msiIndexOf(queue: QueueState, index: number): number;
  /** Queue owning `virq`, through the design's own bookkeeping. */
  queueOfVirq(virq: number): QueueState | undefined;
  /** Whether queue index `index` holds an interrupt of this queue (slices of queues may overlap). */
  owns(queue: QueueState, index: number): boolean;
  /** The queue indices holding the queue's interrupts, ascending (without scanning its whole slice). */
  indicesOf(queue: QueueState): number[];
  /** Called before queue index `index` is allocated (design B records ownership in its table here). */
  claimIndex(queue: QueueState, index: number): void;
  /** Called after queue index `index` was freed, or when its allocation failed. */
  releaseIndex(queue: QueueState, index: number): void;
  /**
   * The instance cookie (msi_instance_cookie, include/linux/msi_api.h) of the interrupt allocated at
   * queue index `index`: what the domain's `pasidOf` may read back from the descriptor. Designs A
   * and B pass the queue id; mainline passes the PASID, as pci_ims_alloc_irq() callers did.
   */
  cookieOf(queue: QueueState, index: number): number;
  /** Records a PASID change where the design looks it up at message-write time. */
  recordPasid(queue: QueueState, pasid: number | undefined): void;
  requesterId(queue: QueueState): number;
  /** The queue's own sysfs directory; a design without one leaves it out (`supports.queueSysfs` false). */
  queueSysfsDir?(queue: QueueState): string;
  /** The design's additions to the sysfs view. */
  sysfs: SysfsProvider;
  /** The design's own records, named and counted from its live structures. */
  records(): StrategyRecord[];
  /** Releases what the design set up at creation (design B's host domain), after every queue is gone. */
  dispose?(): void;
}

/** What `createQueueStrategy` takes as the design: the design itself, or a function that makes it once the arguments are checked. */
export type StrategyDesignSource = StrategyDesign | ((system: IrqSystem, host: Device, store: MessageStore) => StrategyDesign);

