// createQueueStrategy: the machinery every design shares (queue handles, argument checks,
// allocation at an index, any index or a range with rollback, PASID updates, teardown). A design
// supplies only where descriptors live (strategy-types.ts StrategyDesign).
import { ImsimError, checkInt, describe } from "./errors.js";
import type { Device } from "./device.js";
import type { IrqSystem } from "./irq-system.js";
import type { MessageStore } from "./message-store.js";
import { PASID_MAX, checkMessageStore } from "./message-store.js";
import { toCpumask } from "./cpumask.js";
import type { MsiAllocOptions } from "./msi-domain.js";
import { summarizeRecords } from "./records.js";
import {
  QUEUE_BRAND,
  STRATEGY_INTERFACE_VERSION,
  type ImsStrategy,
  type Queue,
  type QueueIrq,
  type QueueState,
  type StrategyDesignSource,
  type StrategyOptions,
} from "./strategy-types.js";

export * from "./strategy-types.js";

function checkPasid(pasid: unknown, what: string): number | undefined {
  if (pasid === undefined) return undefined;
  return checkInt(pasid, 0, PASID_MAX, `PASID of ${what}`);
}

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
    const out: MsiAllocOptions = {};
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
          // The design chooses the cookie each interrupt carries (msi_domain_alloc_irq_at's icookie);
          // opts is this call's own object, so it is reused rather than copied per index.
          opts.cookie = design.cookieOf(q, index);
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
    supports: Object.freeze({ queueSysfs: typeof design.queueSysfsDir === "function" }),

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
      const q = stateOf(queue);
      if (!design.queueSysfsDir) throw new ImsimError("EOPNOTSUPP", `the ${design.name} design keeps no sysfs directory per queue (queue ${q.name}): supports.queueSysfs is false`);
      return design.queueSysfsDir(q);
    },

    records() {
      let interrupts = 0;
      for (const q of queues.values()) interrupts += design.indicesOf(q).length;
      return summarizeRecords(design.name, queues.size, interrupts, design.records());
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
