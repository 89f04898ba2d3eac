import type { IrqDesc, IrqSystem, Queue, QueueIrq, StrategyFactory } from "@imsim/core";
import type { ConformanceOptions, Harness, SuiteContext, TestFunction } from "./harness.js";
import { group, withHarness } from "./harness.js";
import { deepEqual, equal, ok, throwsCode } from "./assert.js";

/** `0x…` as /proc/irq/N/smp_affinity prints a mask. */
function hex(mask: number): string {
  return `0x${(mask >>> 0).toString(16)}`;
}

/** The lowest CPU of a non-empty mask. */
function lowestCpu(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** CPUs online now, as a mask. */
function onlineMask(system: IrqSystem): number {
  let m = 0;
  for (let c = 0; c < system.cpus; c++) if (system.isCpuOnline(c)) m |= 1 << c;
  return m >>> 0;
}

/**
 * Up to `count` CPUs outside `exclude`, CPU 0 last: masks that leave CPU 0 out catch a strategy
 * whose interrupts land on CPU 0 by default (the lowest CPU is where a pick among equals goes).
 */
function cpusOutside(cpus: number, exclude: number, count: number): number {
  const order = [1, 3, 2];
  for (let c = 4; c < cpus; c++) order.push(c);
  order.push(0);
  let m = 0;
  let n = 0;
  for (const c of order) {
    if (n === count) break;
    if (c >= cpus || ((exclude >>> c) & 1) === 1) continue;
    m |= 1 << c;
    n++;
  }
  return m >>> 0;
}

/** The masks the group uses, from the pair's CPU count (4 unless `hardwareOptions.cpus` says otherwise). */
interface AffinityMasks {
  /** One CPU, not CPU 0 (CPU 2 with four CPUs). */
  single: number;
  /** Two CPUs outside `single`, not CPU 0 where possible (CPUs 1 and 3 with four CPUs). */
  pair: number;
  /** Every CPU of the system: what an interrupt gets without any mask. */
  all: number;
}

function affinityMasks(cpus: number): AffinityMasks {
  const single = cpus === 1 ? 1 : 1 << Math.min(2, cpus - 1);
  const pair = cpus === 1 ? 1 : cpusOutside(cpus, single, 2);
  return { single: single >>> 0, pair, all: cpus >= 32 ? 0xffffffff : ((1 << cpus) - 1) >>> 0 };
}

/**
 * Checks that `virq` asks for `mask` (unless `checkRequested` is false) and targets a CPU the kernel would pick: one of
 * mask ∩ online, or any online CPU when none of the mask is online (kernel/irq/cpuhotplug.c
 * migrate_one_irq breaks the affinity then).
 */
function checkPlacement(h: Harness, virq: number, mask: number, what: string, checkRequested = true): IrqDesc {
  const desc = h.system.irqDesc(virq);
  ok(desc !== undefined, `${what}: virq ${virq} has no irq descriptor`);
  if (checkRequested) equal(desc.affinity.toHex(), h.system.cpumask(mask).toHex(), `${what}: requested affinity (smp_affinity) of virq ${virq}`);
  const online = onlineMask(h.system);
  const usable = (mask & online) >>> 0;
  const allowed = usable !== 0 ? usable : online;
  const cpu = desc.effectiveCpu;
  ok(
    cpu >= 0 && ((allowed >>> cpu) & 1) === 1,
    `${what}: effective CPU of virq ${virq} is CPU${cpu}, outside ${hex(allowed)} (mask ${hex(mask)}, online ${hex(online)})`,
  );
  return desc;
}

/** Raises (q, index) once through the hardware and checks that it ran once, counted on its effective CPU. */
function raiseOnEffectiveCpu(h: Harness, q: Queue, index: number, what: string): void {
  const virq = h.irq(q, index).virq;
  const desc = h.system.irqDesc(virq)!;
  const cpu = desc.effectiveCpu;
  const before = desc.counts[cpu] ?? 0;
  h.raiseOnce(q, index);
  equal((desc.counts[cpu] ?? 0) - before, 1, `${what}: deliveries of virq ${virq} counted on its effective CPU${cpu}`);
}

/** A copy of the suite context whose strategy factory gets `affinity` as its default (StrategyOptions.affinity). */
function withStrategyDefault(ctx: SuiteContext, affinity: number): SuiteContext {
  const real = ctx.options.strategy;
  const strategy: StrategyFactory = (system, host, store, options) => real(system, host, store, { ...(options ?? {}), affinity });
  return { ...ctx, options: { ...ctx.options, strategy } };
}

/**
 * Affinity: the queue's `affinity`, the per-allocation one and the strategy's default decide where
 * each interrupt may go, and it stays inside that mask (intersected with the online CPUs) through
 * setAffinity and CPU offline, delivering exactly once after every move.
 */
export function affinityTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add, addUnless }) => {
    const S = ctx.sliceSize;
    const { single, pair, all } = affinityMasks(ctx.cpus);
    const oneCpu = ctx.cpus < 2 ? "the system has one CPU" : undefined;
    const underThree = ctx.cpus < 3 ? `the system has ${ctx.cpus} CPUs; moving within a two-CPU mask needs 3` : undefined;

    add(`affinity: a queue's mask is every initial interrupt's requested affinity, and each targets a CPU of it (${hex(single)}, ${hex(pair)})`, () => {
      withHarness(ctx, (h) => {
        const plain = h.queue(2, { nvec: Math.min(2, S) });
        for (const [slot, mask] of [
          [0, single],
          [1, pair],
        ] as const) {
          const q = h.queue(slot, { nvec: S, affinity: mask });
          const irqs = h.strategy.irqs(q);
          equal(irqs.length, S, `interrupts of ${q.name} created with nvec ${S}`);
          for (const irq of irqs) {
            checkPlacement(h, irq.virq, mask, `${q.name}[${irq.index}] of a queue created with affinity ${hex(mask)}`);
            raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}]`);
          }
        }
        // Without a mask anywhere, every CPU may take the interrupt (QueueOptions.affinity: all CPUs when omitted).
        for (const irq of h.strategy.irqs(plain)) checkPlacement(h, irq.virq, all, `${plain.name}[${irq.index}] of a queue created without affinity`);
      });
    });

    add("affinity: a per-allocation mask overrides the queue's for that allocation only (allocIrq, allocIrqs, allocIrqRange)", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { affinity: single });
        const at = h.watch([h.strategy.allocIrq(q, 0, { affinity: pair })]);
        const many = S >= 3 ? h.watch(h.strategy.allocIrqs(q, 2, { affinity: pair })) : [];
        const range = S >= 5 ? h.watch(h.strategy.allocIrqRange(q, 3, 4, { affinity: pair })) : [];
        for (const irq of [...at, ...many, ...range]) {
          checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] allocated with affinity ${hex(pair)} in a queue of ${hex(single)}`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}]`);
        }
        // The override applied to that allocation only: the next one without options takes the queue's.
        if (h.strategy.irqs(q).length < S) {
          const next = h.watch([h.strategy.allocIrq(q)])[0]!;
          checkPlacement(h, next.virq, single, `${q.name}[${next.index}] allocated without options after overrides`);
          raiseOnEffectiveCpu(h, q, next.index, `${q.name}[${next.index}]`);
        }
        // A queue without a mask of its own takes the allocation's.
        const plain = h.queue(1);
        const irq = h.watch([h.strategy.allocIrq(plain, 0, { affinity: single })])[0]!;
        checkPlacement(h, irq.virq, single, `${plain.name}[0] allocated with affinity ${hex(single)} in a queue without one`);
        raiseOnEffectiveCpu(h, plain, 0, `${plain.name}[0]`);
      });
    });

    add("affinity: interrupts allocated after creation keep the queue's mask (allocIrq at an index, any index, allocIrqs, allocIrqRange)", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: 1, affinity: pair });
        const later: QueueIrq[] = [];
        if (S >= 2) later.push(h.strategy.allocIrq(q, S - 1));
        if (S >= 3) later.push(h.strategy.allocIrq(q));
        if (S >= 5) later.push(...h.strategy.allocIrqs(q, 2));
        const free = [...Array(S).keys()].filter((i) => !h.strategy.irqs(q).some((irq) => irq.index === i));
        if (free.length > 0) later.push(...h.strategy.allocIrqRange(q, free[0]!, free[0]!));
        h.watch(later);
        equal(h.strategy.irqs(q).length, 1 + later.length, `interrupts of ${q.name} after the later allocations`);
        for (const irq of h.strategy.irqs(q)) {
          checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] of a queue created with affinity ${hex(pair)}`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}]`);
        }
      });
    });

    add("affinity: the strategy's default (StrategyOptions.affinity) applies to queues created without a mask; the queue's own and the allocation's override it", () => {
      withHarness(withStrategyDefault(ctx, single), (h) => {
        const q = h.queue(0, { nvec: Math.min(2, S) });
        const own = h.queue(1, { nvec: 1, affinity: pair });
        for (const irq of h.strategy.irqs(q)) {
          checkPlacement(h, irq.virq, single, `${q.name}[${irq.index}] of a queue without a mask under a strategy default of ${hex(single)}`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}]`);
        }
        if (S >= 3) {
          const grown = h.watch([h.strategy.allocIrq(q)])[0]!;
          checkPlacement(h, grown.virq, single, `${q.name}[${grown.index}] allocated later under a strategy default of ${hex(single)}`);
          const overridden = h.watch([h.strategy.allocIrq(q, undefined, { affinity: pair })])[0]!;
          checkPlacement(h, overridden.virq, pair, `${q.name}[${overridden.index}] allocated with affinity ${hex(pair)} under a strategy default of ${hex(single)}`);
        }
        const irq = h.irq(own, 0);
        checkPlacement(h, irq.virq, pair, `${own.name}[0] of a queue created with affinity ${hex(pair)} under a strategy default of ${hex(single)}`);
        raiseOnEffectiveCpu(h, own, 0, `${own.name}[0]`);
      });
    });

    addUnless(oneCpu, "affinity: setAffinity moves each interrupt into mask ∩ online, and it delivers once after every move", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: Math.min(3, S), affinity: single });
        for (const irq of h.strategy.irqs(q)) {
          // away from the queue's CPU, then back, then to every CPU
          for (const mask of [pair, single, all]) {
            h.setAffinity(irq.virq, mask);
            checkPlacement(h, irq.virq, mask, `${q.name}[${irq.index}] after setAffinity(${hex(mask)})`);
            raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}] after setAffinity(${hex(mask)})`);
          }
        }
        // A mask with an offline CPU: only its online CPUs may take the interrupt.
        if (ctx.cpus >= 3) {
          const irq = h.irq(q, 0);
          const down = lowestCpu(pair);
          h.setAffinity(irq.virq, single);
          h.system.setCpuOnline(down, false);
          h.setAffinity(irq.virq, pair);
          checkPlacement(h, irq.virq, pair, `${q.name}[0] after setAffinity(${hex(pair)}) with CPU${down} offline`);
          raiseOnEffectiveCpu(h, q, 0, `${q.name}[0] after setAffinity(${hex(pair)}) with CPU${down} offline`);
          h.system.setCpuOnline(down, true);
        }
      });
    });

    addUnless(underThree, "affinity: taking an interrupt's CPU offline moves it to another CPU of its mask, and it delivers once there", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: Math.min(2, S), affinity: pair });
        for (const irq of h.strategy.irqs(q)) {
          const desc = checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] before the offline`);
          const cpu = desc.effectiveCpu;
          h.system.setCpuOnline(cpu, false);
          checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] after CPU${cpu} (its CPU, in mask ${hex(pair)}) went offline`);
          ok(((pair >>> desc.effectiveCpu) & 1) === 1, `${q.name}[${irq.index}] stays in its mask ${hex(pair)} (now CPU${desc.effectiveCpu})`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}] after CPU${cpu} went offline`);
          h.system.setCpuOnline(cpu, true);
          checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] after CPU${cpu} came back`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}] after CPU${cpu} came back`);
        }
      });
    });

    addUnless(oneCpu, "affinity: taking the only CPU of a mask offline moves the interrupt to an online CPU; it delivers once there and once more after the CPU is back", () => {
      withHarness(ctx, (h) => {
        const q = h.queue(0, { nvec: Math.min(2, S), affinity: single });
        const cpu = lowestCpu(single);
        for (const irq of h.strategy.irqs(q)) equal(h.system.irqDesc(irq.virq)!.effectiveCpu, cpu, `effective CPU of ${q.name}[${irq.index}] with mask ${hex(single)}`);
        h.system.setCpuOnline(cpu, false);
        for (const irq of h.strategy.irqs(q)) {
          // Linux breaks the affinity here (migrate_one_irq); only the effective CPU is checked.
          checkPlacement(h, irq.virq, single, `${q.name}[${irq.index}] after the only CPU of its mask (CPU${cpu}) went offline`, false);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}] with CPU${cpu} offline`);
        }
        // Allocated while the mask has no online CPU: a per-allocation mask with one does get used.
        if (S >= 3) {
          const irq = h.watch([h.strategy.allocIrq(q, undefined, { affinity: pair })])[0]!;
          checkPlacement(h, irq.virq, pair, `${q.name}[${irq.index}] allocated with affinity ${hex(pair)} while CPU${cpu} is offline`);
          raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}]`);
        }
        h.system.setCpuOnline(cpu, true);
        for (const irq of h.strategy.irqs(q)) raiseOnEffectiveCpu(h, q, irq.index, `${q.name}[${irq.index}] after CPU${cpu} came back`);
      });
    });

    const everyBitACpu = ctx.cpus >= 32 ? `the system has ${ctx.cpus} CPUs, every mask bit names one` : undefined;
    addUnless(everyBitACpu, "affinity: a mask naming no CPU of the system is refused (EINVAL) at creation with interrupts and per allocation, and changes nothing", () => {
      withHarness(ctx, (h) => {
        const none = (1 << ctx.cpus) >>> 0;
        const before = h.snapshot();
        const queues = h.strategy.queues().length;
        throwsCode(() => h.instance.createQueue({ name: "cq-nocpu", slice: h.slice(0), nvec: 1, affinity: none }), "EINVAL", `createQueue with affinity ${hex(none)} on ${ctx.cpus} CPUs`);
        deepEqual(h.snapshot(), before, `resource snapshot after the refused createQueue`);
        equal(h.strategy.queues().length, queues, "queues after the refused createQueue");
        const q = h.queue(1, { nvec: 1, affinity: pair });
        const mid = h.snapshot();
        const irqs = h.strategy.irqs(q);
        throwsCode(() => h.strategy.allocIrq(q, undefined, { affinity: none }), "EINVAL", `allocIrq with affinity ${hex(none)} on ${ctx.cpus} CPUs`);
        if (S >= 3) throwsCode(() => h.strategy.allocIrqs(q, 2, { affinity: none }), "EINVAL", `allocIrqs with affinity ${hex(none)}`);
        deepEqual(h.snapshot(), mid, `resource snapshot after the refused allocations`);
        deepEqual(h.strategy.irqs(q), irqs, `interrupts of ${q.name} after the refused allocations`);
        raiseOnEffectiveCpu(h, q, 0, `${q.name}[0]`);
      });
    });
  });
}
