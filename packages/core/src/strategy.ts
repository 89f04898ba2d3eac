import { ImsimError, checkInt, describe } from "./errors.js";
import type { Device } from "./device.js";
import type { IrqSystem, SysfsProvider } from "./irq-system.js";
import type { MessageStore } from "./message-store.js";
import { PASID_MAX, checkMessageStore } from "./message-store.js";
import { toCpumask, type Cpumask, type CpumaskLike } from "./cpumask.js";
import type { MsiDomain, MsiAllocOptions } from "./msi-domain.js";
import type { MsiMsg } from "./msi-message.js";
import { summarizeFootprint, type Footprint, type FootprintItem } from "./footprint.js";

/** Version of the strategy interface below; a strategy reports the one it was built for. */
export const STRATEGY_INTERFACE_VERSION = 1;

const QUEUE_BRAND = Symbol.for("imsim.queue");

export interface QueueOptions {
  /** Queue name: the subdevice name in design A, the attribute-group name in design B. */
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
  /** msi_index in the domain that owns it (design A: the child's; design B: the host's). */
  readonly msiIndex: number;
  /** Physical entry of the host store: what the device uses as the interrupt handle. */
  readonly storeIndex: number;
  readonly msg: MsiMsg;
  /** PASID written with the message (-1 none). */
  readonly pasid: number;
}

/**
 * The seam between a partitioned device's driver and the IMS storage design. Both
 * `@imsim/strategy-subdevice` (design A) and `@imsim/strategy-flat` (design B) implement it, and
 * their `createStrategy` factories share one signature, so swapping designs is one import.
 */
export interface ImsStrategy {
  readonly name: string;
  readonly interfaceVersion: number;
  readonly system: IrqSystem;
  readonly host: Device;
  readonly store: MessageStore;
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
  /** Sysfs directory whose entries are the queue's virqs. */
  queueSysfsDir(queue: Queue): string;
  footprint(): Footprint;
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

/** The signature both strategy packages export as `createStrategy`. */
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
  /** Records a PASID change where the design looks it up at message-write time. */
  recordPasid(queue: QueueState, pasid: number | undefined): void;
  requesterId(queue: QueueState): number;
  queueSysfsDir(queue: QueueState): string;
  /** The design's additions to the sysfs view. */
  sysfs: SysfsProvider;
  footprintItems(): FootprintItem[];
  /** Releases what the design set up at creation (design B's host domain), after every queue is gone. */
  dispose?(): void;
}

function checkPasid(pasid: unknown, what: string): number | undefined {
  if (pasid === undefined) return undefined;
  return checkInt(pasid, 0, PASID_MAX, `PASID of ${what}`);
}

/** What `createQueueStrategy` takes as the design: the design itself, or a function that makes it once the arguments are checked. */
export type StrategyDesignSource = StrategyDesign | ((system: IrqSystem, host: Device, store: MessageStore) => StrategyDesign);

/**
 * Checks the arguments every strategy factory takes, before a design sees them: `system` an
 * IrqSystem, `host` a present device of it, `store` a MessageStore, `options` an object with a
 * valid affinity. EINVAL or ENODEV, nothing created.
 */
export function checkStrategyArgs(system: unknown, host: unknown, store: unknown, options: unknown): void {
  if (typeof system !== "object" || system === null || typeof (system as IrqSystem).createMsiDomain !== "function" || typeof (system as IrqSystem).device !== "function") {
    throw new ImsimError("EINVAL", `a strategy needs an IrqSystem (createSystem()), got ${describe(system)}`);
  }
  const sys = system as IrqSystem;
  const name = typeof host === "object" && host !== null ? (host as Device).name : undefined;
  if (typeof name !== "string" || sys.device(name) !== host) {
    throw new ImsimError("ENODEV", `the strategy's host must be a present device of system ${sys.name}, got ${typeof name === "string" ? name : describe(host)}`);
  }
  checkMessageStore(store, `the IMS store of ${name}`);
  if (options !== undefined && (typeof options !== "object" || options === null)) throw new ImsimError("EINVAL", `strategy options must be an object, got ${describe(options)}`);
  const affinity = (options as StrategyOptions | undefined)?.affinity;
  if (affinity !== undefined) toCpumask(affinity, sys.cpus, `default affinity of the strategy on ${name}`);
}

/**
 * Builds an ImsStrategy from a design: the machinery every design shares. Pass the design as a
 * function of (system, host, store) so that it is made only after the arguments were checked.
 */
export function createQueueStrategy(system: IrqSystem, host: Device, store: MessageStore, source: StrategyDesignSource, options: StrategyOptions = {}): ImsStrategy {
  checkStrategyArgs(system, host, store, options);
  const design = typeof source === "function" ? source(system, host, store) : source;
  const queues = new Map<number, QueueState>();
  const names = new Set<string>();
  let nextId = 1;
  let disposed = false;
  const unregisterSysfs = system.addSysfsProvider(design.sysfs);

  const stateOf = (queue: unknown): QueueState => {
    if (disposed) throw new ImsimError("ENODEV", `${design.name} strategy on ${host.name} has been disposed`);
    host.assertPresent("host device");
    if (typeof queue !== "object" || queue === null || (queue as Record<symbol, unknown>)[QUEUE_BRAND] !== true) {
      throw new ImsimError("EINVAL", `expected a queue handle, got ${describe(queue)}`);
    }
    const q = queues.get((queue as Queue).id);
    if (!q || q.handle !== queue) throw new ImsimError("ENOENT", `queue ${(queue as Queue).name} (id ${(queue as Queue).id}) does not exist on ${host.name}`);
    return q;
  };

  const checkIndex = (q: QueueState, index: unknown, what: string): number =>
    checkInt(index, 0, q.count - 1, `${what} of queue ${q.name} (slice of ${q.count})`);

  const toIrq = (q: QueueState, index: number): QueueIrq | undefined => {
    const domain = design.domainOf(q);
    const desc = domain.desc(design.msiIndexOf(q, index));
    if (!desc) return undefined;
    return { virq: desc.virq, index, msiIndex: desc.msiIndex, storeIndex: desc.storeIndex, msg: { ...desc.msg }, pasid: desc.pasid };
  };

  const allocOptions = (q: QueueState, o: MsiAllocOptions | undefined): MsiAllocOptions => {
    if (o !== undefined && (typeof o !== "object" || o === null)) throw new ImsimError("EINVAL", `allocation options must be an object, got ${describe(o)}`);
    const affinity = o?.affinity ?? q.affinity;
    const out: MsiAllocOptions = { cookie: q.id };
    if (affinity !== undefined) out.affinity = affinity;
    return out;
  };

  /** Allocates the given queue indices all-or-nothing. */
  const allocIndices = (q: QueueState, indices: number[], o: MsiAllocOptions | undefined): QueueIrq[] => {
    const opts = allocOptions(q, o);
    const domain = design.domainOf(q);
    const done: number[] = [];
    try {
      for (const index of indices) {
        design.claimIndex(q, index);
        try {
          domain.allocAt(design.msiIndexOf(q, index), opts);
        } catch (e) {
          design.releaseIndex(q, index);
          throw e;
        }
        done.push(index);
      }
    } catch (e) {
      for (const index of done.reverse()) freeIndex(q, index);
      throw e;
    }
    return indices.map((i) => toIrq(q, i)!);
  };

  const freeIndex = (q: QueueState, index: number): void => {
    design.domainOf(q).free(design.msiIndexOf(q, index));
    design.releaseIndex(q, index);
  };

  /** Frees every allocated index of q in [first, last]; returns how many. */
  const freeIndices = (q: QueueState, first: number, last: number): number => {
    const targets = design.indicesOf(q).filter((i) => i >= first && i <= last);
    // All or nothing: refuse before the first free if any of them cannot go (EBUSY from its own handler).
    const domain = design.domainOf(q);
    for (const i of targets) domain.assertFreeable(design.msiIndexOf(q, i));
    for (const i of targets) freeIndex(q, i);
    return targets.length;
  };

  const lowestFreeIndices = (q: QueueState, count: number): number[] => {
    const domain = design.domainOf(q);
    const first = design.msiIndexOf(q, 0);
    const out: number[] = [];
    let from = first;
    const last = first + q.count - 1;
    while (out.length < count) {
      const at = from > last ? -1 : domain.lowestFreeIn(from, last);
      if (at < 0) {
        throw new ImsimError("ENOSPC", `queue ${q.name} has ${out.length} free slots, ${count} requested (slice of ${q.count})`);
      }
      out.push(at - first);
      from = at + 1;
    }
    return out;
  };

  const strategy: ImsStrategy = {
    name: design.name,
    interfaceVersion: STRATEGY_INTERFACE_VERSION,
    system,
    host,
    store,

    createQueue(opts) {
      return system.atomically(() => {
        if (disposed) throw new ImsimError("ENODEV", `${design.name} strategy on ${host.name} has been disposed`);
        host.assertPresent("host device");
        if (typeof opts !== "object" || opts === null) throw new ImsimError("EINVAL", `queue options must be an object, got ${describe(opts)}`);
        const name = opts.name;
        if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,32}$/.test(name)) {
          throw new ImsimError("EINVAL", `queue name must be 1-32 characters of [A-Za-z0-9_.-], got ${describe(name)}`);
        }
        if (names.has(name)) throw new ImsimError("EEXIST", `queue ${name} already exists on ${host.name}`);
        const pasid = checkPasid(opts.pasid, `queue ${name}`);
        if (pasid !== undefined && !store.supportsPasid) throw new ImsimError("EINVAL", `${store.chipName} entries of ${host.name} carry no PASID (queue ${name} asked for ${pasid})`);
        let base = 0;
        let count = store.size;
        if (opts.slice !== undefined) {
          if (typeof opts.slice !== "object" || opts.slice === null) throw new ImsimError("EINVAL", `slice of queue ${name} must be { base, count }`);
          base = checkInt(opts.slice.base, 0, store.size - 1, `slice base of queue ${name} (store of ${store.size})`);
          count = checkInt(opts.slice.count, 1, store.size - base, `slice size of queue ${name} at base ${base} (store of ${store.size})`);
        }
        const nvec = checkInt(opts.nvec ?? 0, 0, count, `initial interrupts of queue ${name}`);
        const given = opts.affinity ?? options.affinity;
        const affinity = given === undefined ? undefined : toCpumask(given, system.cpus, `affinity of queue ${name}`);
        const id = nextId++;
        const handle: Queue = Object.freeze({ id, name, strategy: design.name, [QUEUE_BRAND]: true });
        const q: QueueState = { handle, id, name, base, count, pasid, affinity };
        design.attachQueue(q);
        queues.set(id, q);
        names.add(name);
        if (nvec > 0) {
          try {
            allocIndices(q, lowestFreeIndices(q, nvec), undefined);
          } catch (e) {
            queues.delete(id);
            names.delete(name);
            design.detachQueue(q);
            throw e;
          }
        }
        return handle;
      });
    },

    destroyQueue(queue) {
      const q = stateOf(queue);
      freeIndices(q, 0, q.count - 1);
      design.detachQueue(q);
      queues.delete(q.id);
      names.delete(q.name);
    },

    allocIrq(queue, index, o) {
      return system.atomically(() => {
        const q = stateOf(queue);
        const at = index === undefined ? lowestFreeIndices(q, 1)[0]! : checkIndex(q, index, "index");
        return allocIndices(q, [at], o)[0]!;
      });
    },

    allocIrqs(queue, count, o) {
      return system.atomically(() => {
        const q = stateOf(queue);
        checkInt(count, 1, q.count, `interrupt count for queue ${q.name}`);
        return allocIndices(q, lowestFreeIndices(q, count), o);
      });
    },

    allocIrqRange(queue, first, last, o) {
      return system.atomically(() => {
        const q = stateOf(queue);
        checkIndex(q, first, "first index");
        checkIndex(q, last, "last index");
        if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of queue ${q.name} is empty`);
        return allocIndices(q, Array.from({ length: last - first + 1 }, (_, i) => first + i), o);
      });
    },

    freeIrq(queue, index) {
      const q = stateOf(queue);
      const at = checkIndex(q, index, "index");
      if (!design.owns(q, at)) throw new ImsimError("ENOENT", `index ${at} of queue ${q.name} has no interrupt`);
      freeIndex(q, at);
    },

    freeIrqRange(queue, first, last) {
      const q = stateOf(queue);
      checkIndex(q, first, "first index");
      checkIndex(q, last, "last index");
      if (first > last) throw new ImsimError("EINVAL", `range [${first}, ${last}] of queue ${q.name} is empty`);
      // Nothing freed is nothing changed: ENOENT leaves the queue as it was.
      const n = freeIndices(q, first, last);
      if (n === 0) throw new ImsimError("ENOENT", `queue ${q.name} has no interrupt in [${first}, ${last}]`);
      return n;
    },

    freeAllIrqs(queue) {
      return freeIndices(stateOf(queue), 0, stateOf(queue).count - 1);
    },

    irqs(queue) {
      const q = stateOf(queue);
      return design.indicesOf(q).map((i) => toIrq(q, i)!);
    },

    queues() {
      return [...queues.values()].map((q) => q.handle);
    },

    queueOfVirq(virq) {
      checkInt(virq, 1, system.irqs.limit - 1, "virq");
      return design.queueOfVirq(virq)?.handle;
    },

    setPasid(queue, pasid) {
      return system.atomically(() => {
        const q = stateOf(queue);
        const p = checkPasid(pasid, `queue ${q.name}`);
        if (p !== undefined && !store.supportsPasid) throw new ImsimError("EINVAL", `${store.chipName} entries of ${host.name} carry no PASID (queue ${q.name})`);
        const old = q.pasid;
        q.pasid = p;
        design.recordPasid(q, p);
        const domain = design.domainOf(q);
        const rewritten: number[] = [];
        try {
          for (const irq of strategy.irqs(queue)) {
            domain.rewrite(irq.msiIndex);
            rewritten.push(irq.msiIndex);
          }
        } catch (e) {
          q.pasid = old;
          design.recordPasid(q, old);
          for (const m of rewritten) domain.rewrite(m);
          throw e;
        }
        return rewritten.length;
      });
    },

    pasidOf(queue) {
      return stateOf(queue).pasid;
    },

    requesterId(queue) {
      return design.requesterId(stateOf(queue));
    },

    queueSysfsDir(queue) {
      return design.queueSysfsDir(stateOf(queue));
    },

    footprint() {
      let interrupts = 0;
      for (const q of queues.values()) interrupts += design.indicesOf(q).length;
      return summarizeFootprint(design.name, queues.size, interrupts, design.footprintItems());
    },

    dispose() {
      if (disposed) return;
      if (!host.removed) {
        // Unbinding: like devres, the handlers still requested on the queues' interrupts go first.
        for (const q of [...queues.values()]) {
          for (const irq of strategy.irqs(q.handle)) system.freeAllActions(irq.virq);
          strategy.destroyQueue(q.handle);
        }
        design.dispose?.();
      }
      queues.clear();
      names.clear();
      unregisterSysfs();
      unregisterRemoval();
      disposed = true;
    },
  };
  const unregisterRemoval = system.onRemove(host, () => {
    // devres order: queues go with their host; their handlers, then their interrupts, are freed.
    for (const q of [...queues.values()]) {
      for (const irq of strategy.irqs(q.handle)) system.freeAllActions(irq.virq);
      strategy.destroyQueue(q.handle);
    }
    unregisterSysfs();
    disposed = true;
  });
  return strategy;
}
