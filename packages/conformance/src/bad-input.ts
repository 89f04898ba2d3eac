import type { ImsimErrorCode, Queue } from "@imsim/core";
import type { ConformanceOptions, SuiteContext, TestFunction } from "./harness.js";
import { CONFORMANCE_ACTION, Harness, group } from "./harness.js";
import { deepEqual, throwsCode } from "./assert.js";

/** What every bad-input case can reach: two live queues, a destroyed one, a free virq. */
export interface BadInputFixture {
  h: Harness;
  /** Queue in slice 0 with min(3, slice) interrupts; `b` in slice 1 with one. */
  a: Queue;
  b: Queue;
  /** A queue handle whose queue was destroyed. */
  dead: Queue;
  /** Entries per queue slice. */
  S: number;
  /** Virq of a[0]; a virq number nothing holds. */
  virq: number;
  freeVirq: number;
  /** A queue of another instance of the same pair (created on demand, torn down after the case). */
  foreign(): Queue;
}

export interface BadInputCase {
  name: string;
  code: ImsimErrorCode;
  /** Runs before the "before" snapshot (e.g. the first free of a double free). */
  setup?(f: BadInputFixture): unknown;
  call(f: BadInputFixture): unknown;
}

// Deliberately ill-typed arguments, as JavaScript callers can pass them.
const any = (v: unknown) => v as never;
const noop = () => {};

/** The table: every call must fail with its code and leave the resource snapshot unchanged. */
export const BAD_INPUT_CASES: readonly BadInputCase[] = [
  // createQueue
  { name: "createQueue(null)", code: "EINVAL", call: ({ h }) => h.instance.createQueue(any(null)) },
  { name: "createQueue with an empty name", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "" }) },
  { name: "createQueue with a numeric name", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: any(42) }) },
  { name: "createQueue with a name containing a space", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "a b" }) },
  { name: "createQueue with a name of 33 characters", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "q".repeat(33) }) },
  { name: "createQueue with a name already taken", code: "EEXIST", call: ({ h, a }) => h.strategy.createQueue({ name: a.name, slice: h.slice(3) }) },
  { name: "createQueue with PASID -1", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "badp", pasid: -1, slice: h.slice(3) }) },
  { name: "createQueue with PASID 2^20 (invalid PASID)", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "badp", pasid: 1 << 20, slice: h.slice(3) }) },
  { name: "createQueue with PASID 1.5", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "badp", pasid: 1.5, slice: h.slice(3) }) },
  { name: "createQueue with a slice base past the store", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "bads", slice: { base: h.strategy.store.size, count: 1 } }) },
  { name: "createQueue with an empty slice", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "bads", slice: { base: 0, count: 0 } }) },
  { name: "createQueue with a slice running past the store", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "bads", slice: { base: h.strategy.store.size - 1, count: 2 } }) },
  { name: "createQueue with more initial interrupts than its slice (oversize)", code: "EINVAL", call: ({ h, S }) => h.strategy.createQueue({ name: "badn", slice: h.slice(3), nvec: S + 1 }) },
  { name: "createQueue with affinity 0", code: "EINVAL", call: ({ h }) => h.strategy.createQueue({ name: "bada", slice: h.slice(3), affinity: 0 }) },
  // queue handles
  { name: "allocIrq on a string instead of a queue", code: "EINVAL", call: ({ h }) => h.strategy.allocIrq(any("queue")) },
  { name: "allocIrq on a forged queue-shaped object", code: "EINVAL", call: ({ h, a }) => h.strategy.allocIrq({ id: a.id, name: a.name, strategy: a.strategy }) },
  { name: "allocIrq on a destroyed queue", code: "ENOENT", call: ({ h, dead }) => h.strategy.allocIrq(dead) },
  { name: "allocIrq on another instance's queue (foreign handle)", code: "ENOENT", setup: (f) => f.foreign(), call: (f) => f.h.strategy.allocIrq(f.foreign()) },
  { name: "destroyQueue of a destroyed queue", code: "ENOENT", call: ({ h, dead }) => h.strategy.destroyQueue(dead) },
  { name: "destroyQueue(null)", code: "EINVAL", call: ({ h }) => h.strategy.destroyQueue(any(null)) },
  { name: "irqs() of a destroyed queue", code: "ENOENT", call: ({ h, dead }) => h.strategy.irqs(dead) },
  { name: "requesterId() of a destroyed queue", code: "ENOENT", call: ({ h, dead }) => h.strategy.requesterId(dead) },
  { name: "queueSysfsDir() of a number", code: "EINVAL", call: ({ h }) => h.strategy.queueSysfsDir(any(7)) },
  { name: "setPasid on a destroyed queue", code: "ENOENT", call: ({ h, dead }) => h.strategy.setPasid(dead, 5) },
  // indices and counts
  { name: "allocIrq at index -1", code: "EINVAL", call: ({ h, a }) => h.strategy.allocIrq(a, -1) },
  { name: "allocIrq at the index just past the slice", code: "EINVAL", call: ({ h, a, S }) => h.strategy.allocIrq(a, S) },
  { name: "allocIrq at index 1.5", code: "EINVAL", call: ({ h, a }) => h.strategy.allocIrq(a, 1.5) },
  { name: "allocIrq at index \"0\" (a string)", code: "EINVAL", call: ({ h, a }) => h.strategy.allocIrq(a, any("0")) },
  { name: "allocIrq at NaN", code: "EINVAL", call: ({ h, a }) => h.strategy.allocIrq(a, Number.NaN) },
  { name: "allocIrq at an index already allocated", code: "EBUSY", call: ({ h, a }) => h.strategy.allocIrq(a, 0) },
  { name: "allocIrq with affinity 0", code: "EINVAL", call: ({ h, b }) => h.strategy.allocIrq(b, undefined, { affinity: 0 }) },
  { name: "allocIrq with options that are not an object", code: "EINVAL", call: ({ h, b }) => h.strategy.allocIrq(b, undefined, any("fast")) },
  { name: "allocIrqs(0)", code: "EINVAL", call: ({ h, b }) => h.strategy.allocIrqs(b, 0) },
  { name: "allocIrqs of more than the slice holds", code: "EINVAL", call: ({ h, b, S }) => h.strategy.allocIrqs(b, S + 1) },
  { name: "allocIrqs of one more than the free slots (oversize expansion)", code: "ENOSPC", call: ({ h, b, S }) => h.strategy.allocIrqs(b, S) },
  { name: "allocIrqRange with first > last", code: "EINVAL", call: ({ h, b, S }) => h.strategy.allocIrqRange(b, S - 1, 0) },
  { name: "allocIrqRange overlapping an allocated index", code: "EBUSY", call: ({ h, b, S }) => h.strategy.allocIrqRange(b, 0, S - 1) },
  { name: "allocIrqRange running past the slice", code: "EINVAL", call: ({ h, b, S }) => h.strategy.allocIrqRange(b, 0, S) },
  { name: "freeIrq of an index never allocated", code: "ENOENT", call: ({ h, b, S }) => h.strategy.freeIrq(b, S - 1) },
  { name: "freeIrq twice (double free)", code: "ENOENT", setup: ({ h, b }) => h.free(b, 0), call: ({ h, b }) => h.strategy.freeIrq(b, 0) },
  { name: "freeIrq at index -1", code: "EINVAL", call: ({ h, a }) => h.strategy.freeIrq(a, -1) },
  { name: "freeIrq at the index past the slice", code: "EINVAL", call: ({ h, a, S }) => h.strategy.freeIrq(a, S) },
  { name: "freeIrqRange over indices none of which is allocated", code: "ENOENT", setup: ({ h, b }) => h.free(b, 0), call: ({ h, b, S }) => h.strategy.freeIrqRange(b, 0, S - 1) },
  { name: "freeIrqRange with first > last", code: "EINVAL", call: ({ h, a, S }) => h.strategy.freeIrqRange(a, S - 1, 0) },
  // PASID
  { name: "setPasid(2^20) (invalid PASID)", code: "EINVAL", call: ({ h, a }) => h.strategy.setPasid(a, 1 << 20) },
  { name: "setPasid(-2)", code: "EINVAL", call: ({ h, a }) => h.strategy.setPasid(a, -2) },
  { name: "setPasid(\"7\") (a string)", code: "EINVAL", call: ({ h, a }) => h.strategy.setPasid(a, any("7")) },
  // virqs
  { name: "queueOfVirq(0)", code: "EINVAL", call: ({ h }) => h.strategy.queueOfVirq(0) },
  { name: "queueOfVirq(-5)", code: "EINVAL", call: ({ h }) => h.strategy.queueOfVirq(-5) },
  { name: "queueOfVirq(2.5)", code: "EINVAL", call: ({ h }) => h.strategy.queueOfVirq(2.5) },
  { name: "requestIrq on a virq nothing holds (foreign virq)", code: "ENOENT", call: ({ h, freeVirq }) => h.system.requestIrq(freeVirq, "x", noop) },
  { name: "requestIrq with an empty action name", code: "EINVAL", call: ({ h, virq }) => h.system.requestIrq(virq, "", noop) },
  { name: "requestIrq with a name the virq already has", code: "EBUSY", call: ({ h, virq }) => h.system.requestIrq(virq, CONFORMANCE_ACTION, noop) },
  { name: "requestIrq with a handler that is not a function", code: "EINVAL", call: ({ h, virq }) => h.system.requestIrq(virq, "x", any("handler")) },
  { name: "freeIrq (free_irq) of an action the virq does not have", code: "ENOENT", call: ({ h, virq }) => h.system.freeIrq(virq, "nobody") },
  { name: "enableIrq without a matching disable", code: "EINVAL", call: ({ h, virq }) => h.system.enableIrq(virq) },
  { name: "disableIrq on a foreign virq", code: "ENOENT", call: ({ h, freeVirq }) => h.system.disableIrq(freeVirq) },
  { name: "setAffinity with an empty mask", code: "EINVAL", call: ({ h, virq }) => h.system.setAffinity(virq, 0) },
  { name: "setAffinity naming only CPUs that do not exist", code: "EINVAL", call: ({ h, virq }) => h.system.setAffinity(virq, h.system.cpus >= 32 ? -1 : 2 ** h.system.cpus) },
  { name: "setAffinity on a foreign virq", code: "ENOENT", call: ({ h, freeVirq }) => h.system.setAffinity(freeVirq, 1) },
  { name: "setCpuOnline for a CPU that does not exist", code: "EINVAL", call: ({ h }) => h.system.setCpuOnline(h.system.cpus, false) },
  { name: "setCpuOnline with a non-boolean state", code: "EINVAL", call: ({ h }) => h.system.setCpuOnline(0, any("off")) },
  {
    name: "setCpuOnline taking the last online CPU offline",
    code: "EBUSY",
    setup: ({ h }) => {
      for (let c = 1; c < h.system.cpus; c++) h.system.setCpuOnline(c, false);
    },
    call: ({ h }) => h.system.setCpuOnline(0, false),
  },
];

function fixture(ctx: SuiteContext, h: Harness, cleanups: (() => void)[]): BadInputFixture {
  const S = ctx.sliceSize;
  const a = h.queue(0, { nvec: Math.min(3, S) });
  const b = h.queue(1, { nvec: 1 });
  const dead = h.queue(2, { nvec: 1 });
  h.destroy(dead);
  const virq = h.irq(a, 0).virq;
  const freeVirq = h.system.irqs.limit - 1;
  let foreign: Queue | undefined;
  return {
    h,
    a,
    b,
    dead,
    S,
    virq,
    freeVirq,
    foreign() {
      if (!foreign) {
        const other = new Harness(ctx);
        cleanups.push(() => other.close());
        // usually carries the same id as `a` (both are their strategy's first queue): only identity tells them apart
        foreign = other.queue(0, { nvec: 1 });
      }
      return foreign;
    },
  };
}

/** Bad input: each call of the table fails with its error code and leaves the resource snapshot unchanged. */
export function badInputTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    if (ctx.sliceSize < 2) {
      add("bad input: needs a store of at least 16 entries", () => {
        throw new Error(`the store has ${ctx.storeSize} entries; the bad-input table needs slices of at least 2`);
      });
      return;
    }
    for (const c of BAD_INPUT_CASES) {
      add(`bad input: ${c.name} → ${c.code}, resources unchanged`, () => {
        const h = new Harness(ctx);
        const cleanups: (() => void)[] = [];
        try {
          const f = fixture(ctx, h, cleanups);
          c.setup?.(f);
          const state = () => ({ resources: h.snapshot(), a: h.strategy.irqs(f.a), b: h.strategy.irqs(f.b), queues: h.strategy.queues().map((q) => q.name) });
          const before = state();
          throwsCode(() => c.call(f), c.code, c.name);
          deepEqual(state(), before, `state after ${c.name}`);
          for (let cpu = 0; cpu < h.system.cpus; cpu++) h.system.setCpuOnline(cpu, true);
        } catch (e) {
          h.abandon();
          for (const fn of cleanups) {
            try {
              fn();
            } catch {
              // already failing
            }
          }
          throw e;
        }
        h.close();
        for (const fn of cleanups) fn();
      });
    }
  });
}
