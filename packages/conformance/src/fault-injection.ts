import type { FaultPoint, IrqSystem, Queue } from "@imsim/core";
import type { ConformanceOptions, Harness, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { deepEqual, equal, fail, show } from "./assert.js";
import { isImsimError } from "@imsim/core";
import { checkQueuePasid } from "./pasid.js";

/**
 * The system's work counters (`system.stats` without the delivery outcomes delivered, held, faulted
 * and spurious, which count raises, not the work of operations): requester-id resolutions and
 * message writes today, and any counter core adds later. Core's README: they count the work of
 * operations that succeeded, so a failed operation leaves them as they were.
 */
function workCounters(stats: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) {
    if (k === "delivered" || k === "held" || k === "faulted" || k === "spurious") continue;
    if (typeof v === "number") out[k] = v;
  }
  return out;
}

/** Everything a rollback must restore: resource counts, work counters, the queues' interrupts, the store entries of the slices. */
function fullState(h: Harness, queues: readonly Queue[]): unknown {
  const store = h.strategy.store;
  const entries: number[][] = [];
  for (let slot = 0; slot < h.ctx.slots; slot++) {
    const { base, count } = h.slice(slot);
    for (let i = base; i < base + count; i++) entries.push([i, store.addressLo(i), store.addressHi(i), store.data(i), store.isMasked(i) ? 1 : 0, store.pasid(i)]);
  }
  return {
    resources: h.snapshot(),
    stats: workCounters(h.system.stats),
    queues: h.strategy.queues().map((q) => q.name),
    irqs: queues.map((q) => h.strategy.irqs(q)),
    entries,
  };
}

/** Steps tried before the suite gives up on a call that keeps failing (far more than any allocation here takes). */
export const MAX_FAULT_STEPS = 256;

export interface FailAtEveryStepOptions {
  /** How the call is named in failure messages (default "the call"). */
  what?: string;
  /** The call must take at least this many steps (default 0). */
  atLeast?: number;
  /** Runs after each failed step (e.g. checks that everything still delivers). */
  between?: (nth: number) => void;
  /** Steps tried before giving up on a call that keeps failing (default MAX_FAULT_STEPS). */
  maxSteps?: number;
}

/**
 * Arms `point` to fail at step 0, 1, 2, … of `call` until the call succeeds with the failure armed
 * past its last step: so every step is covered, however many the strategy and the hardware take.
 * Each failed call must throw ImsimError EIO and leave `state()` deep-equal to what it was before;
 * a ConformanceAssertionError says which step broke that. Returns the successful call's result and
 * how many steps failed before it. Hardware packages use it for their own operations.
 */
export function failAtEveryStep<T>(
  system: Pick<IrqSystem, "injectFault" | "clearInjectedFaults">,
  point: FaultPoint,
  state: () => unknown,
  call: () => T,
  options: FailAtEveryStepOptions = {},
): { result: T; failures: number } {
  const what = options.what ?? "the call";
  const atLeast = options.atLeast ?? 0;
  const maxSteps = options.maxSteps ?? MAX_FAULT_STEPS;
  for (let nth = 0; nth < maxSteps; nth++) {
    const before = state();
    system.injectFault(point, nth);
    let threw: unknown;
    let done = false;
    let result: T | undefined;
    try {
      result = call();
      done = true;
    } catch (e) {
      threw = e;
    } finally {
      system.clearInjectedFaults();
    }
    if (done) {
      if (nth < atLeast) fail(`${what} succeeded with a ${point} failure armed at step ${nth}: expected at least ${atLeast} ${point} steps`);
      return { result: result as T, failures: nth };
    }
    if (!isImsimError(threw, "EIO")) fail(`${what} with a ${point} failure at step ${nth}: expected an ImsimError EIO, got ${show(threw)}`);
    deepEqual(state(), before, `state after ${what} failed at ${point} step ${nth} (must equal the state before)`);
    options.between?.(nth);
  }
  return fail(`${what} still fails with a ${point} failure armed at step ${maxSteps}`);
}

/** failAtEveryStep on the suite's harness, the state being the system, the strategy and `queues`. */
function rollsBackAtEveryStep<T>(h: Harness, point: FaultPoint, what: string, queues: readonly Queue[], call: () => T, atLeast: number, between?: (nth: number) => void): T {
  return failAtEveryStep(h.system, point, () => fullState(h, queues), call, { what, atLeast, ...(between ? { between } : {}) }).result;
}

/** Fault injection: a failing store write, vector allocation or IRTE allocation at every step rolls back exactly. */
export function faultInjectionTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, addUnless }) => {
    const k = Math.min(4, ctx.sliceSize - 1);
    // Store writes happen at allocation only where the domain activates early (PCI MSI-X); an IMS
    // domain writes an entry when its interrupt is requested (msi_domain_activate at request_irq).
    const writesOnAlloc = (point: FaultPoint) => (point === "store-write" ? (ctx.activatesEarly ? k : 0) : k);
    const points: [FaultPoint, string | undefined][] = [
      ["store-write", undefined],
      ["vector-alloc", undefined],
      ["irte-alloc", ctx.supports.interruptRemapping ? undefined : "no interrupt remapping"],
    ];
    const tooSmall = k < 1 ? `slices of ${ctx.sliceSize} entries leave no room for a multi-interrupt allocation` : undefined;

    for (const [point, reason] of points) {
      const skip = reason ?? tooSmall;

      addUnless(skip, `fault injection: a ${point} failure at each step of allocIrqs(${k}) rolls back to the exact prior state`, () => {
        withHarness(ctx, (h) => {
          const q = h.queue(0, { nvec: 1 });
          const other = h.queue(1, { nvec: 1 });
          const got = h.watch(
            rollsBackAtEveryStep(h, point, `allocIrqs(${q.name}, ${k})`, [q, other], () => h.strategy.allocIrqs(q, k), writesOnAlloc(point), () => {
              h.raiseOnce(q, 0);
              h.raiseOnce(other, 0);
            }),
          );
          equal(got.length, k, `interrupts from allocIrqs(${k}) when the failure is armed past its last step`);
          for (const irq of got) h.raiseOnce(q, irq.index);
        });
      });

      addUnless(skip, `fault injection: a ${point} failure at each step of allocIrqRange(1, ${k}) rolls back to the exact prior state`, () => {
        withHarness(ctx, (h) => {
          const q = h.queue(0, { nvec: 1 });
          const got = h.watch(rollsBackAtEveryStep(h, point, `allocIrqRange(${q.name}, 1, ${k})`, [q], () => h.strategy.allocIrqRange(q, 1, k), writesOnAlloc(point), () => h.raiseOnce(q, 0)));
          equal(got.length, k, `interrupts from allocIrqRange(1, ${k}) when the failure is armed past its last step`);
          for (const irq of got) h.raiseOnce(q, irq.index);
        });
      });

      addUnless(skip, `fault injection: a ${point} failure at each step of creating a queue with ${k} interrupts rolls back to the exact prior state`, () => {
        withHarness(ctx, (h) => {
          const live = h.queue(1, { nvec: 1 });
          const q = rollsBackAtEveryStep(h, point, `createQueue(nvec ${k})`, [live], () => h.instance.createQueue({ name: "faulty", slice: h.slice(0), nvec: k }), writesOnAlloc(point), () => h.raiseOnce(live, 0));
          h.watch(h.strategy.irqs(q));
          equal(h.strategy.irqs(q).length, k, `interrupts of a queue created after the failures`);
          for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
        });
      });
    }

    for (const point of ["store-write", "vector-alloc"] as const) {
      addUnless(tooSmall, `fault injection: a ${point} failure when an interrupt is requested (activation) fails request_irq and changes nothing`, () => {
        withHarness(ctx, (h) => {
          const q = h.queue(0, { nvec: 1 });
          const irq = h.strategy.allocIrq(q, 1);
          const before = fullState(h, [q]);
          const stats = { ...h.system.stats };
          h.system.injectFault(point, 0);
          let threw: unknown;
          try {
            h.watchVirq(irq.virq);
          } catch (e) {
            threw = e;
          } finally {
            h.system.clearInjectedFaults();
          }
          // Where allocation already took everything (reservation mode keeps only a vector to assign), activation may still fail.
          if (threw !== undefined) {
            if (!isImsimError(threw, "EIO")) fail(`request_irq with a ${point} failure: expected an ImsimError EIO, got ${show(threw)}`);
            deepEqual(fullState(h, [q]), before, `state after request_irq failed at ${point}`);
            equal(h.system.stats.messageWrites, stats.messageWrites, `message writes after the failed request`);
            equal(h.system.irqDesc(irq.virq)!.actions.length, 0, `actions of virq ${irq.virq} after the failed request`);
            h.watchVirq(irq.virq);
          }
          h.raiseOnce(q, 1);
          h.raiseOnce(q, 0);
        });
      });
    }

    const pasidSkip = ctx.supports.pasid ? tooSmall : "hardware has no PASID support";
    addUnless(pasidSkip, `fault injection: a store-write failure at each step of setPasid over ${k + 1} interrupts leaves every entry as it was and delivering`, () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: k + 1, pasid: 0x55 });
        rollsBackAtEveryStep(h, "store-write", `setPasid(${q.name}, 0x66)`, [q], () => h.strategy.setPasid(q, 0x66), k + 1, () => {
          equal(h.strategy.pasidOf(q), 0x55, `pasidOf(${q.name}) after the failed change`);
          checkQueuePasid(h, q, 0x55);
          for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
        });
        equal(h.strategy.pasidOf(q), 0x66, `pasidOf(${q.name}) once the change succeeds`);
        checkQueuePasid(h, q, 0x66);
        for (const irq of h.strategy.irqs(q)) h.raiseOnce(q, irq.index);
      });
    });
  });
}
