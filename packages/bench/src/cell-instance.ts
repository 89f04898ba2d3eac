import type { HardwareAdapter, HardwareInstance, HardwareOptions, ImsStrategy, IrqSystem, Queue, QueueOptions, StrategyFactory, SysfsProvider } from "@imsim/core";

/** A hardware instance under one strategy, with what the bench needs to look behind it. */
export interface CellInstance {
  readonly hw: HardwareInstance;
  readonly system: IrqSystem;
  readonly strategy: ImsStrategy;
  /** Sysfs providers the strategy registered (captured around the factory call). */
  readonly strategyProviders: readonly SysfsProvider[];
  /** Slices handed out from the top of the store down, as the conformance suite does. */
  takeSlice(count: number): { base: number; count: number };
  /** Forgets every slice taken (after the queues using them were destroyed). */
  resetSlices(): void;
  /** A queue name unique on this instance's host (design A names a child device after it). */
  queueName(prefix: string): string;
  /** Queue created by the hardware with a slice from the top. */
  hwQueue(prefix: string, count: number, options?: Omit<QueueOptions, "name" | "slice">): Queue;
  /** Queue created on the strategy directly (measurements that need more queues than a device has). */
  strategyQueue(prefix: string, count: number, options?: Omit<QueueOptions, "name" | "slice">): Queue;
  /** free_irq of every action on a strategy queue's interrupts, then the strategy's destroyQueue. */
  dropQueue(queue: Queue): void;
  close(): void;
}

/**
 * Creates `adapter`'s instance on `factory`, capturing the sysfs providers the strategy adds: on a
 * new host of `cpus` CPUs, or on `placement.system` (on `placement.bus`).
 */
export function openCell(adapter: HardwareAdapter, factory: StrategyFactory, cpus: number, placement?: Pick<HardwareOptions, "system" | "bus">): CellInstance {
  const providers: SysfsProvider[] = [];
  const capturing: StrategyFactory = (system, host, store, options) => {
    const before = new Set(system.sysfsProviders());
    const strategy = factory(system, host, store, options);
    for (const p of system.sysfsProviders()) if (!before.has(p)) providers.push(p);
    return strategy;
  };
  const hw = adapter.create(capturing, placement ? { cpus, ...placement } : { cpus });
  const size = hw.strategy.store.size;
  let top = size;
  let serial = 0;
  let closed = false;
  const cell: CellInstance = {
    hw,
    system: hw.system,
    strategy: hw.strategy,
    strategyProviders: providers,
    takeSlice(count) {
      if (count > top) throw new Error(`the ${size}-entry store of ${hw.strategy.host.name} has ${top} entries left below the bench's slices, ${count} asked`);
      top -= count;
      return { base: top, count };
    },
    resetSlices() {
      top = size;
    },
    queueName(prefix) {
      return `${prefix}${serial++}${placement?.bus === undefined ? "" : `b${placement.bus.toString(16)}`}`;
    },
    hwQueue(prefix, count, options = {}) {
      return hw.createQueue({ ...options, name: cell.queueName(prefix), slice: cell.takeSlice(count) });
    },
    strategyQueue(prefix, count, options = {}) {
      return hw.strategy.createQueue({ ...options, name: cell.queueName(prefix), slice: cell.takeSlice(count) });
    },
    dropQueue(queue) {
      for (const irq of hw.strategy.irqs(queue)) hw.system.freeAllActions(irq.virq);
      hw.strategy.destroyQueue(queue);
    },
    close() {
      if (closed) return;
      closed = true;
      hw.teardown();
    },
  };
  return cell;
}

/** Counts handler calls per virq without allocating: the action every measured interrupt gets. */
export class HitCounter {
  readonly hits: Uint32Array;
  readonly handler: (virq: number) => void;
  constructor(limit: number) {
    const hits = new Uint32Array(limit);
    this.hits = hits;
    this.handler = (virq: number) => {
      hits[virq]!++;
    };
  }
  total(): number {
    let n = 0;
    for (let i = 0; i < this.hits.length; i++) n += this.hits[i]!;
    return n;
  }
}

export const BENCH_ACTION = "imsim-bench";

/** Requests the counting action on every interrupt of `queue` that lacks it. */
export function attachCounter(cell: CellInstance, queue: Queue, counter: HitCounter): void {
  for (const irq of cell.strategy.irqs(queue)) {
    const desc = cell.system.irqDesc(irq.virq);
    if (desc && !desc.actions.some((a) => a.name === BENCH_ACTION)) cell.system.requestIrq(irq.virq, BENCH_ACTION, counter.handler);
  }
}
