import { DELIVERED, HELD } from "@imsim/core";
import type { CpumaskLike, ImsStrategy, IrqSystem, Queue, QueueIrq, QueueOptions, ResourceSnapshot, StrategyFactory, StrategySupports } from "@imsim/core";
import type { Capabilities, HardwareAdapter, HardwareInstance, HardwareOptions } from "./adapter.js";
import { deepEqual, equal, fail, ok, show } from "./assert.js";

/** Any `test(name, fn)`: vitest's `test`/`it`, node:test's `test`, or your own collector. */
export type TestFunction = (name: string, fn: () => void | Promise<void>) => unknown;

export interface ConformanceOptions {
  /** The strategy under test (`createStrategy` of a strategy package). */
  strategy: StrategyFactory;
  /** The hardware model the strategy is driven through. */
  hardware: HardwareAdapter;
  /** Prefix of every test name; default `<strategy name> × <hardware name>`. */
  label?: string;
  /** Operations the property test runs (default 20,000, or IMSIM_PROPERTY_OPS). */
  operations?: number;
  /** Property-test seed (default 0x1a5, or IMSIM_SEED). */
  seed?: number;
  /** Passed to `hardware.create`. */
  hardwareOptions?: HardwareOptions;
}

/** Name of the action the suite requests on every interrupt it checks. */
export const CONFORMANCE_ACTION = "imsim-conformance";

/** What "unchanged" means: the system's resource counts plus the strategy's records. */
export interface SuiteSnapshot {
  system: ResourceSnapshot;
  strategy: { queues: number; interrupts: number; objects: number };
}

export function suiteSnapshot(instance: HardwareInstance): SuiteSnapshot {
  const r = instance.strategy.records();
  return { system: instance.system.snapshot(), strategy: { queues: r.queues, interrupts: r.interrupts, objects: r.objects } };
}

/**
 * What teardown must return to: the system as it booted, before any device (its legacy and DMAR
 * interrupts and their vectors included).
 */
export function emptySnapshot(system: { readonly bootSnapshot: ResourceSnapshot }): ResourceSnapshot {
  return system.bootSnapshot;
}

/**
 * A snapshot with the vectors summed over CPUs: the host's own interrupts (legacy, DMAR) that a
 * CPU going offline moved elsewhere do not move back when it returns, as on x86, so only the total
 * must match what the system booted with.
 */
export function bootNormalized(s: ResourceSnapshot): unknown {
  return { ...s, vectorsPerCpu: s.vectorsPerCpu.reduce((a, b) => a + b, 0) };
}

/** Reads an environment variable where there is a `process` (Node), nothing in a browser. */
export function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name];
}

/** Facts about the pair under test, read once from a probe instance when tests are registered. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  readonly label: string;
  readonly supports: Capabilities;
  /** What the strategy offers beyond every strategy's methods (`strategy.supports`, read from the probe). */
  readonly strategySupports: StrategySupports;
  readonly strategyName: string;
  readonly storeSize: number;
  readonly cpus: number;
  /** The strategy's domain writes messages at allocation (early activation, PCI MSI-X), not only when requested. */
  readonly activatesEarly: boolean;
  /** Entries per queue slice the suite uses, and how many slices there are. */
  readonly sliceSize: number;
  readonly slots: number;
}

const SLOTS = 4;

export type Prepared = { ok: true; ctx: SuiteContext } | { ok: false; label: string; error: unknown };

/** Creates and tears down a probe instance to learn the manifest, the store size and the names. */
export function prepare(options: ConformanceOptions): Prepared {
  const fallback = options.label ?? `? × ${options.hardware?.name ?? "?"}`;
  let probe: HardwareInstance;
  try {
    probe = options.hardware.create(options.strategy, options.hardwareOptions);
  } catch (error) {
    return { ok: false, label: fallback, error };
  }
  try {
    const supports: Capabilities = { ...probe.supports };
    const storeSize = probe.strategy.store.size;
    const sliceSize = Math.max(1, Math.min(8, Math.floor(storeSize / (2 * SLOTS))));
    // Probe: does allocating an interrupt write its entry (early activation), or only requesting it?
    const probeQueue = probe.strategy.createQueue({ name: "probe", nvec: 1, slice: { base: storeSize - 1, count: 1 } });
    const activatesEarly = probe.strategy.irqs(probeQueue).some((i) => i.msg.addressLo !== 0);
    probe.strategy.destroyQueue(probeQueue);
    const ctx: SuiteContext = {
      activatesEarly,
      options,
      label: options.label ?? `${probe.strategy.name} × ${options.hardware.name}`,
      supports,
      strategySupports: { ...probe.strategy.supports },
      strategyName: probe.strategy.name,
      storeSize,
      cpus: probe.system.cpus,
      sliceSize,
      slots: SLOTS,
    };
    return { ok: true, ctx };
  } catch (error) {
    return { ok: false, label: fallback, error };
  } finally {
    try {
      probe.teardown();
    } catch {
      // reported by the tests that tear down
    }
  }
}

/**
 * Registers the tests of one group: `add(name, fn)` registers, `skipIf(reason)` turns a test into a
 * visible, trivially passing skip whose name carries the reason.
 */
export interface GroupRegistrar {
  ctx: SuiteContext;
  add(name: string, fn: () => void | Promise<void>): void;
  /** Registers `name`, or when `skipReason` is a string, a passing `name [skipped: reason]`. */
  addUnless(skipReason: string | undefined, name: string, fn: () => void | Promise<void>): void;
}

export function group(test: TestFunction, options: ConformanceOptions, body: (r: GroupRegistrar) => void): void {
  if (typeof test !== "function") throw new TypeError(`the conformance suite needs a test(name, fn) function, got ${show(test)}`);
  const prepared = prepare(options);
  if (!prepared.ok) {
    test(`${prepared.label} › setup: the hardware adapter creates an instance`, () => {
      throw prepared.error;
    });
    return;
  }
  const ctx = prepared.ctx;
  body({
    ctx,
    add: (name, fn) => {
      test(`${ctx.label} › ${name}`, fn);
    },
    addUnless: (reason, name, fn) => {
      if (reason === undefined) test(`${ctx.label} › ${name}`, fn);
      else test(`${ctx.label} › ${name} [skipped: ${reason}]`, () => {});
    },
  });
}

/** A test's view of one live instance: queues in fixed slices, a counting handler on every interrupt. */
export class Harness {
  readonly ctx: SuiteContext;
  readonly instance: HardwareInstance;
  readonly system: IrqSystem;
  readonly strategy: ImsStrategy;
  /** Snapshot right after the instance was created. */
  readonly baseline: SuiteSnapshot;
  /** Deliveries to the suite's action, by virq. */
  readonly counts = new Map<number, number>();
  total = 0;
  #names = 0;
  #closed = false;
  /** One-shot hooks: run inside the suite's handler the next time that virq is delivered. */
  readonly #hooks = new Map<number, () => void>();
  /** An error a hook threw (core keeps handler errors from the caller; the suite rethrows it). */
  #hookError: unknown = undefined;
  readonly #handler = (virq: number): void => {
    this.counts.set(virq, (this.counts.get(virq) ?? 0) + 1);
    this.total++;
    const hook = this.#hooks.get(virq);
    if (hook !== undefined) {
      this.#hooks.delete(virq);
      try {
        hook();
      } catch (e) {
        this.#hookError ??= e;
      }
    }
  };

  /**
   * Runs `fn` inside the suite's handler the next time `virq` is delivered (a re-entrant handler:
   * it may raise, free, allocate or move interrupts). Check with `takeHookError()` afterwards.
   */
  onNextDelivery(virq: number, fn: () => void): void {
    this.#hooks.set(virq, fn);
  }

  /** Whether a hook is still waiting for its delivery. */
  hookArmed(virq: number): boolean {
    return this.#hooks.has(virq);
  }

  /** Rethrows the first error a hook threw since the last call, if any. */
  takeHookError(): void {
    const e = this.#hookError;
    this.#hookError = undefined;
    if (e !== undefined) throw e;
  }

  /**
   * Frees the suite's action on the queue's interrupts in [first, last] (all by default), as a
   * driver calls free_irq() before it frees vectors or destroys a queue: freeing an interrupt that
   * still has an action is EBUSY.
   */
  release(q: Queue, first = 0, last = Number.MAX_SAFE_INTEGER): void {
    for (const irq of this.strategy.irqs(q)) if (irq.index >= first && irq.index <= last) this.unwatchVirq(irq.virq);
  }

  /** free_irq() of the suite's action, then the strategy's freeIrq. */
  free(q: Queue, index: number): void {
    const irq = this.strategy.irqs(q).find((i) => i.index === index);
    if (irq) this.unwatchVirq(irq.virq);
    this.strategy.freeIrq(q, index);
  }

  /** free_irq() of the suite's actions on the queue, then the hardware's destroyQueue. */
  destroy(q: Queue): void {
    this.release(q);
    this.instance.destroyQueue(q);
  }

  /** Frees the suite's action on `virq` (free_irq), as a driver does before it frees the vector. */
  unwatchVirq(virq: number): void {
    const desc = this.system.irqDesc(virq);
    if (desc?.actions.some((a) => a.name === CONFORMANCE_ACTION)) this.system.freeIrq(virq, CONFORMANCE_ACTION);
    this.#hooks.delete(virq);
  }

  constructor(ctx: SuiteContext) {
    this.ctx = ctx;
    this.instance = ctx.options.hardware.create(ctx.options.strategy, ctx.options.hardwareOptions);
    this.system = this.instance.system;
    this.strategy = this.instance.strategy;
    this.baseline = suiteSnapshot(this.instance);
  }

  /** Slice `slot` (0..slots-1) of the store, counted from its top end. */
  slice(slot: number): { base: number; count: number } {
    const s = this.ctx.sliceSize;
    return { base: this.ctx.storeSize - (slot + 1) * s, count: s };
  }

  /** Creates a queue the hardware's way in slice `slot`, and requests the suite's action on its interrupts. */
  queue(slot: number, extra: Partial<Omit<QueueOptions, "slice">> = {}): Queue {
    const options: QueueOptions = { name: `cq${slot}-${this.#names++}`, slice: this.slice(slot), ...extra } as QueueOptions;
    const q = this.instance.createQueue(options);
    this.watch(this.strategy.irqs(q));
    return q;
  }

  /** Requests the suite's action on each interrupt (once). */
  watch(irqs: readonly QueueIrq[]): QueueIrq[] {
    for (const irq of irqs) this.watchVirq(irq.virq);
    return [...irqs];
  }

  /** Requests the suite's action on one virq (once). */
  watchVirq(virq: number): void {
    const desc = this.system.irqDesc(virq);
    ok(desc !== undefined, `virq ${virq} has no irq descriptor in the system`);
    if (!desc.actions.some((a) => a.name === CONFORMANCE_ACTION)) this.system.requestIrq(virq, CONFORMANCE_ACTION, this.#handler);
  }

  /**
   * Deliveries `n` raises made while an interrupt was disabled are owed at enable_irq: one. The
   * first raise is held by the flow (IRQS_PENDING; disabling is lazy, so it also masks the entry),
   * later ones by the device's pending bit (a peer's writes bypass the mask and fold into
   * IRQS_PENDING). Enabling unmasks, so the device sends, and resends the pending one: both reach
   * the same vector and are handled once (the first run clears IRQS_PENDING; on hardware the APIC's
   * IRR holds one bit per vector).
   */
  owedAfterDisabled(n: number): number {
    return n === 0 ? 0 : 1;
  }

  /**
   * irq_set_affinity after a jiffy has passed, so that the cleanup of a previous move (a timer one
   * jiffy after it) has run: otherwise the move would wait (EBUSY inside, IRQD_SETAFFINITY_PENDING).
   */
  setAffinity(virq: number, mask: CpumaskLike): void {
    this.system.tick();
    this.system.setAffinity(virq, mask);
  }

  count(virq: number): number {
    return this.counts.get(virq) ?? 0;
  }

  irq(q: Queue, index: number): QueueIrq {
    const irq = this.strategy.irqs(q).find((i) => i.index === index);
    if (!irq) return fail(`queue ${q.name} has no interrupt at index ${index} (has ${show(this.strategy.irqs(q).map((i) => i.index))})`);
    return irq;
  }

  /** Raises (q, index) and checks that exactly that interrupt's handler ran once (or, HELD, none did). */
  raiseOnce(q: Queue, index: number, expected: "delivered" | "held" = "delivered"): void {
    const virq = this.irq(q, index).virq;
    const before = this.count(virq);
    const totalBefore = this.total;
    const r = this.instance.raise(q, index);
    if (expected === "delivered") {
      equal(r, DELIVERED, `raise of ${q.name}[${index}] (virq ${virq}) result (0 DELIVERED, 1 HELD, 2 FAULTED, 3 SPURIOUS)`);
      equal(this.count(virq) - before, 1, `handler runs of virq ${virq} after raising ${q.name}[${index}]`);
      equal(this.total - totalBefore, 1, `handler runs of all interrupts after raising ${q.name}[${index}]`);
    } else {
      equal(r, HELD, `raise of masked ${q.name}[${index}] (virq ${virq}) result (0 DELIVERED, 1 HELD, 2 FAULTED, 3 SPURIOUS)`);
      equal(this.total - totalBefore, 0, `handler runs after raising masked ${q.name}[${index}]`);
    }
  }

  snapshot(): SuiteSnapshot {
    return suiteSnapshot(this.instance);
  }

  /** Tears down and checks that the system holds nothing any more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.system.clearInjectedFaults();
    this.instance.teardown();
    deepEqual(bootNormalized(this.system.snapshot()), bootNormalized(emptySnapshot(this.system)), "system snapshot after teardown (everything released)");
  }

  /** Teardown without checks, after a failure. */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.system.clearInjectedFaults();
      this.instance.teardown();
    } catch {
      // the test already failed
    }
  }
}

/** Runs `fn` on a fresh harness, then tears down and checks the teardown released everything. */
export function withHarness(ctx: SuiteContext, fn: (h: Harness) => void): void {
  const h = new Harness(ctx);
  try {
    fn(h);
  } catch (e) {
    h.abandon();
    throw e;
  }
  h.close();
}
