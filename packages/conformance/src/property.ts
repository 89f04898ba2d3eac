import fc from "fast-check";
import { DELIVERED, DEVICE_REFUSED, FAULTED, HELD, type Queue } from "@imsim/core";
import type { ConformanceOptions, SuiteContext, SuiteSnapshot, TestFunction } from "./harness.js";
import { CONFORMANCE_ACTION, Harness, env, group } from "./harness.js";
import { deepEqual, equal, fail, ok, show, throwsCode } from "./assert.js";
import { foreignRequesterId } from "./iommu.js";

/** Default operations per matrix cell; IMSIM_PROPERTY_OPS raises it. */
export const DEFAULT_PROPERTY_OPERATIONS = 20_000;
/** Default seed; IMSIM_SEED replaces it. */
export const DEFAULT_PROPERTY_SEED = 0x1a5;
/** Operations per generated sequence: a few long runs rather than many short ones. */
export const OPERATIONS_PER_SEQUENCE = 2_000;

const OPS = [
  ["create", 6],
  ["destroy", 3],
  ["allocAt", 10],
  ["allocAny", 6],
  ["allocRange", 4],
  ["free", 8],
  ["freeRange", 3],
  ["mask", 8],
  ["unmask", 10],
  ["raise", 26],
  ["affinity", 5],
  ["cpu", 4],
  ["pasid", 4],
  ["forge", 3],
  ["link", 2],
  ["reenter", 8],
] as const;
type OpKind = (typeof OPS)[number][0];
const WEIGHT_TOTAL = OPS.reduce((a, [, w]) => a + w, 0);

/** One generated step: a kind chosen by weight and two numbers the step reads modulo what it needs. */
export type Step = readonly [pick: number, x: number, y: number];

function kindOf(pick: number): OpKind {
  let p = pick % WEIGHT_TOTAL;
  for (const [kind, w] of OPS) {
    if (p < w) return kind;
    p -= w;
  }
  return "raise";
}

interface ModelIrq {
  virq: number;
  /** disable_irq depth. */
  depth: number;
  /** Deliveries owed at the last enable for raises while disabled: 0 or 1 (see Harness.owedAfterDisabled). */
  pending: number;
}

interface ModelQueue {
  handle: Queue;
  slot: number;
  pasid: number | undefined;
  irqs: Map<number, ModelIrq>;
}

function numberOption(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Snapshot with vectors summed: CPUs that went offline may leave the hardware's own vectors elsewhere. */
function normalized(s: SuiteSnapshot): unknown {
  return { ...s, system: { ...s.system, vectorsPerCpu: s.system.vectorsPerCpu.reduce((a, b) => a + b, 0) } };
}

/** What one sequence did: operations by outcome (e.g. "raise → 0", "allocAt → EBUSY"), and deliveries. */
export interface SequenceStats {
  operations: number;
  deliveries: number;
  outcomes: Record<string, number>;
}

/**
 * Runs one sequence against a fresh instance and a reference model; throws on the first
 * disagreement with the step, the operation and the last operations before it.
 */
export function runSequence(ctx: SuiteContext, steps: readonly Step[]): SequenceStats {
  const h = new Harness(ctx);
  const { system, strategy, instance } = h;
  const S = ctx.sliceSize;
  const cpus = system.cpus;
  const allCpus = cpus >= 32 ? 0xffffffff : (1 << cpus) - 1;
  const ir = ctx.supports.interruptRemapping;
  const queues = new Map<number, ModelQueue>(); // by slot
  const expected = new Map<number, number>(); // deliveries owed, by virq
  let expectedTotal = 0;
  let online = allCpus;
  let linkUp = true;
  let names = 0;
  const recent: string[] = [];
  const outcomes: Record<string, number> = {};

  /** A raise while disabled: see ModelIrq.pending. */
  const holdRaise = (irq: ModelIrq) => {
    irq.pending = h.owedAfterDisabled(irq.pending + 1);
  };
  const owe = (virq: number) => {
    expected.set(virq, (expected.get(virq) ?? 0) + 1);
    expectedTotal++;
  };
  const checkDeliveries = (virq: number | undefined, what: string) => {
    if (virq !== undefined) equal(h.count(virq), expected.get(virq) ?? 0, `deliveries of virq ${virq} after ${what}`);
    equal(h.total, expectedTotal, `deliveries of all interrupts after ${what}`);
  };
  const liveQueues = () => [...queues.values()];
  const pickQueue = (x: number): ModelQueue | undefined => {
    const l = liveQueues();
    return l.length === 0 ? undefined : l[x % l.length];
  };
  const pickIrq = (x: number, y: number): { q: ModelQueue; index: number; irq: ModelIrq } | undefined => {
    const l = liveQueues().filter((q) => q.irqs.size > 0);
    if (l.length === 0) return undefined;
    const q = l[x % l.length]!;
    const keys = [...q.irqs.keys()];
    const index = keys[y % keys.length]!;
    return { q, index, irq: q.irqs.get(index)! };
  };
  const pickMasked = (y: number): { q: ModelQueue; index: number; irq: ModelIrq } | undefined => {
    const masked: { q: ModelQueue; index: number; irq: ModelIrq }[] = [];
    for (const q of queues.values()) for (const [index, irq] of q.irqs) if (irq.depth > 0) masked.push({ q, index, irq });
    return masked.length === 0 ? undefined : masked[y % masked.length];
  };
  const adopt = (q: ModelQueue, index: number, virq: number) => {
    h.watchVirq(virq);
    q.irqs.set(index, { virq, depth: 0, pending: 0 });
  };
  const lowestFree = (q: ModelQueue, count: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < S && out.length < count; i++) if (!q.irqs.has(i)) out.push(i);
    return out;
  };
  const refused = (what: string, code: Parameters<typeof throwsCode>[1], call: () => unknown) => {
    const before = h.snapshot();
    throwsCode(call, code, what);
    deepEqual(h.snapshot(), before, `resources after the refused ${what}`);
  };
  const dropQueueIrqs = (q: ModelQueue) => {
    for (const irq of q.irqs.values()) equal(system.irqDesc(irq.virq), undefined, `descriptor of virq ${irq.virq} after it was released`);
  };

  const fullCheck = (when: string) => {
    let n = 0;
    for (const q of liveQueues()) {
      const got = strategy.irqs(q.handle);
      deepEqual(
        got.map((i) => [i.index, i.virq, i.pasid]),
        [...q.irqs.entries()].sort((a, b) => a[0] - b[0]).map(([index, m]) => [index, m.virq, q.pasid ?? -1]),
        `interrupts [index, virq, pasid] of ${q.handle.name} ${when}`,
      );
      for (const i of got) {
        equal(strategy.queueOfVirq(i.virq), q.handle, `queueOfVirq(${i.virq}) ${when}`);
        equal(strategy.store.pasid(i.storeIndex), q.pasid ?? -1, `PASID in store entry ${i.storeIndex} ${when}`);
        const d = system.irqDesc(i.virq)!;
        ok(((online >>> d.effectiveCpu) & 1) === 1, `virq ${i.virq} targets online CPU (CPU${d.effectiveCpu}, online 0x${online.toString(16)}) ${when}`);
      }
      n += got.length;
    }
    const s = h.snapshot();
    const b = h.baseline;
    deepEqual(
      { virqs: s.system.virqs, descriptors: s.system.descriptors, storeEntries: s.system.storeEntries, irtes: s.system.irtes, queues: s.strategy.queues, interrupts: s.strategy.interrupts },
      {
        virqs: b.system.virqs + n,
        descriptors: b.system.descriptors + n,
        storeEntries: b.system.storeEntries + n,
        irtes: b.system.irtes + (ir ? n : 0),
        queues: b.strategy.queues + queues.size,
        interrupts: b.strategy.interrupts + n,
      },
      `resource counts with ${queues.size} queues and ${n} interrupts ${when}`,
    );
    equal(strategy.queues().length, b.strategy.queues + queues.size, `queues() length ${when}`);
  };

  /**
   * A re-entrant handler: the next delivery of one interrupt runs, inside its handler, one of
   * raise another entry, raise itself, free another interrupt, allocate, move itself, or try to
   * free itself (EBUSY: it would wait for itself). Then the interrupt is raised through the hardware.
   */
  const reenter = (x: number, y: number): string => {
    if (!linkUp) return apply("raise", x, y);
    const enabled = liveQueues().flatMap((q) => [...q.irqs].filter(([, m]) => m.depth === 0).map(([index, irq]) => ({ q, index, irq })));
    if (enabled.length === 0) return apply("allocAny", x, y);
    const t = enabled[x % enabled.length]!;
    const others = liveQueues().flatMap((q) => [...q.irqs].map(([index, irq]) => ({ q, index, irq }))).filter((o) => o.irq !== t.irq);
    const kinds = ["raise-other", "raise-self", "free-other", "alloc", "affinity", "free-self"] as const;
    let kind: (typeof kinds)[number] = kinds[y % kinds.length]!;
    if ((kind === "raise-other" || kind === "free-other") && others.length === 0) kind = "raise-self";
    const what = `${t.q.handle.name}[${t.index}] (virq ${t.irq.virq})`;
    let note = "";
    h.onNextDelivery(t.irq.virq, () => {
      switch (kind) {
        case "raise-other": {
          const o = others[(y >>> 4) % others.length]!;
          const r = instance.raise(o.q.handle, o.index);
          if (o.irq.depth > 0) {
            equal(r, HELD, `nested raise of masked ${o.q.handle.name}[${o.index}] from ${what}'s handler`);
            holdRaise(o.irq);
          } else {
            equal(r, DELIVERED, `nested raise of ${o.q.handle.name}[${o.index}] from ${what}'s handler`);
            owe(o.irq.virq);
          }
          note = `raise ${o.q.handle.name}[${o.index}] → ${r}`;
          return;
        }
        case "raise-self": {
          const r = instance.raise(t.q.handle, t.index);
          equal(r, HELD, `raise of ${what} from its own handler (1 HELD: marked pending, not nested)`);
          owe(t.irq.virq); // runs once more when the handler returns
          note = "raise self → HELD";
          return;
        }
        case "free-other": {
          const o = others[(y >>> 4) % others.length]!;
          h.free(o.q.handle, o.index);
          equal(system.irqDesc(o.irq.virq), undefined, `descriptor of virq ${o.irq.virq} freed from ${what}'s handler`);
          o.q.irqs.delete(o.index);
          note = `free ${o.q.handle.name}[${o.index}]`;
          return;
        }
        case "alloc": {
          const q = liveQueues()[(y >>> 4) % liveQueues().length]!;
          const want = lowestFree(q, 1);
          if (want.length === 0) {
            note = `alloc ${q.handle.name}: full`;
            return;
          }
          const irq = strategy.allocIrq(q.handle);
          equal(irq.index, want[0], `index allocated from ${what}'s handler`);
          adopt(q, irq.index, irq.virq);
          note = `alloc ${q.handle.name}[${irq.index}] → virq ${irq.virq}`;
          return;
        }
        case "affinity": {
          const mask = ((y >>> 4) % allCpus) + 1;
          if ((mask & online) === 0) {
            refused(`setAffinity(${t.irq.virq}, 0x${mask.toString(16)}) naming only offline CPUs, from its own handler`, "EINVAL", () => system.setAffinity(t.irq.virq, mask));
            note = `affinity 0x${mask.toString(16)} → EINVAL`;
            return;
          }
          system.setAffinity(t.irq.virq, mask);
          // From inside the handler no time passes: with remapping the move happens at once (the
          // raise below ticked first, so no earlier cleanup blocks it); without, at the next interrupt.
          const cpu = system.irqDesc(t.irq.virq)!.effectiveCpu;
          if (ir) ok(((mask & online) >>> cpu) & 1, `virq ${t.irq.virq} on CPU${cpu} after setAffinity(0x${mask.toString(16)}) from its own handler`);
          note = `affinity 0x${mask.toString(16)} → CPU${cpu}`;
          return;
        }
        case "free-self": {
          refused(`free_irq of ${what} from its own handler`, "EBUSY", () => system.freeIrq(t.irq.virq, CONFORMANCE_ACTION));
          refused(`freeIrq of ${what} from its own handler`, "EBUSY", () => strategy.freeIrq(t.q.handle, t.index));
          note = "free self → EBUSY";
          return;
        }
      }
    });
    system.tick(); // time passes between operations: a previous move's cleanup has run
    const r = instance.raise(t.q.handle, t.index);
    equal(h.hookArmed(t.irq.virq), false, `the handler of ${what} ran its nested operation`);
    h.takeHookError();
    equal(r, DELIVERED, `result of raising ${what} with a re-entrant handler`);
    owe(t.irq.virq);
    checkDeliveries(t.irq.virq, `raising ${what} with a re-entrant handler (${note})`);
    equal(system.handlerErrors.total, 0, `errors thrown by handlers`);
    // Right away, before anything else changes: each involved entry reaches its own handler again
    // (a route remembered during the nested delivery must not point elsewhere).
    for (const o of [t, ...others]) {
      if (o.q.irqs.get(o.index) !== o.irq || o.irq.depth > 0) continue;
      equal(instance.raise(o.q.handle, o.index), DELIVERED, `raise of ${o.q.handle.name}[${o.index}] right after ${what}'s re-entrant handler`);
      owe(o.irq.virq);
      checkDeliveries(o.irq.virq, `raising ${o.q.handle.name}[${o.index}] right after ${what}'s re-entrant handler (${note})`);
    }
    return `reenter ${what}: ${note}`;
  };

  const apply = (kind: OpKind, x: number, y: number): string => {
    switch (kind) {
      case "create": {
        const free = [0, 1, 2, 3].filter((s) => s < ctx.slots && !queues.has(s));
        if (free.length === 0) return apply("destroy", x, y);
        const slot = free[x % free.length]!;
        const nvec = y % Math.min(3, S + 1);
        const pasid = ctx.supports.pasid && x % 2 === 1 ? y % (1 << 20) : undefined;
        const name = `p${names++}`;
        const handle = instance.createQueue(pasid === undefined ? { name, slice: h.slice(slot), nvec } : { name, slice: h.slice(slot), nvec, pasid });
        const q: ModelQueue = { handle, slot, pasid, irqs: new Map() };
        queues.set(slot, q);
        const irqs = strategy.irqs(handle);
        deepEqual(irqs.map((i) => i.index), Array.from({ length: nvec }, (_, i) => i), `indices of new queue ${name} (nvec ${nvec})`);
        for (const i of irqs) adopt(q, i.index, i.virq);
        return `create ${name} slot ${slot} nvec ${nvec} pasid ${show(pasid)}`;
      }
      case "destroy": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        h.destroy(q.handle);
        dropQueueIrqs(q);
        queues.delete(q.slot);
        return `destroy ${q.handle.name}`;
      }
      case "allocAt": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const index = y % S;
        if (q.irqs.has(index)) {
          refused(`allocIrq(${q.handle.name}, ${index}) on a taken index`, "EBUSY", () => strategy.allocIrq(q.handle, index));
          return `allocAt ${q.handle.name}[${index}] → EBUSY`;
        }
        const irq = strategy.allocIrq(q.handle, index);
        equal(irq.index, index, `index of allocIrq(${q.handle.name}, ${index})`);
        adopt(q, index, irq.virq);
        return `allocAt ${q.handle.name}[${index}] → virq ${irq.virq}`;
      }
      case "allocAny": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const count = 1 + (y % 3);
        const want = lowestFree(q, count);
        if (want.length < count) {
          refused(`allocIrqs(${q.handle.name}, ${count}) with ${want.length} free`, "ENOSPC", () => strategy.allocIrqs(q.handle, count));
          return `allocAny ${q.handle.name} ×${count} → ENOSPC`;
        }
        const got = strategy.allocIrqs(q.handle, count);
        deepEqual(got.map((i) => i.index), want, `indices of allocIrqs(${q.handle.name}, ${count})`);
        for (const i of got) adopt(q, i.index, i.virq);
        return `allocAny ${q.handle.name} ×${count} → ${show(want)}`;
      }
      case "allocRange": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const first = y % S;
        const last = first + ((x >>> 3) % (S - first));
        let taken = false;
        for (let i = first; i <= last; i++) if (q.irqs.has(i)) taken = true;
        if (taken) {
          refused(`allocIrqRange(${q.handle.name}, ${first}, ${last}) over a taken index`, "EBUSY", () => strategy.allocIrqRange(q.handle, first, last));
          return `allocRange ${q.handle.name} [${first}, ${last}] → EBUSY`;
        }
        const got = strategy.allocIrqRange(q.handle, first, last);
        deepEqual(got.map((i) => i.index), Array.from({ length: last - first + 1 }, (_, i) => first + i), `indices of allocIrqRange(${first}, ${last})`);
        for (const i of got) adopt(q, i.index, i.virq);
        return `allocRange ${q.handle.name} [${first}, ${last}]`;
      }
      case "free": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const index = y % S;
        const m = q.irqs.get(index);
        if (!m) {
          refused(`freeIrq(${q.handle.name}, ${index}) of a free index`, "ENOENT", () => strategy.freeIrq(q.handle, index));
          return `free ${q.handle.name}[${index}] → ENOENT`;
        }
        h.free(q.handle, index);
        equal(system.irqDesc(m.virq), undefined, `descriptor of freed virq ${m.virq}`);
        q.irqs.delete(index);
        return `free ${q.handle.name}[${index}] (virq ${m.virq}${m.pending > 0 ? ", pending dropped" : ""})`;
      }
      case "freeRange": {
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const first = y % S;
        const last = first + ((x >>> 3) % (S - first));
        let n = 0;
        for (let i = first; i <= last; i++) if (q.irqs.has(i)) n++;
        if (n === 0) {
          refused(`freeIrqRange(${q.handle.name}, ${first}, ${last}) over free indices`, "ENOENT", () => strategy.freeIrqRange(q.handle, first, last));
          return `freeRange ${q.handle.name} [${first}, ${last}] → ENOENT`;
        }
        h.release(q.handle, first, last);
        equal(strategy.freeIrqRange(q.handle, first, last), n, `freeIrqRange(${q.handle.name}, ${first}, ${last}) count`);
        for (let i = first; i <= last; i++) q.irqs.delete(i);
        return `freeRange ${q.handle.name} [${first}, ${last}] → ${n}`;
      }
      case "mask": {
        const t = pickIrq(x, y);
        if (!t) return apply("allocAny", x, y);
        if (t.irq.depth >= 3) return apply("unmask", x, y);
        system.disableIrq(t.irq.virq);
        t.irq.depth++;
        return `mask ${t.q.handle.name}[${t.index}] (depth ${t.irq.depth})`;
      }
      case "unmask": {
        const t = (x & 3) !== 0 ? (pickMasked(y) ?? pickIrq(x, y)) : pickIrq(x, y);
        if (!t) return apply("allocAny", x, y);
        if (t.irq.depth === 0) {
          throwsCode(() => system.enableIrq(t.irq.virq), "EINVAL", `unbalanced enableIrq(${t.irq.virq})`);
          return `unmask ${t.q.handle.name}[${t.index}] → EINVAL (not masked)`;
        }
        system.enableIrq(t.irq.virq);
        t.irq.depth--;
        let note = "";
        if (t.irq.depth === 0 && t.irq.pending > 0) {
          for (let k = 0; k < t.irq.pending; k++) owe(t.irq.virq);
          note = `, ${t.irq.pending} held delivered`;
          t.irq.pending = 0;
        }
        checkDeliveries(t.irq.virq, `unmasking virq ${t.irq.virq}`);
        return `unmask ${t.q.handle.name}[${t.index}] (depth ${t.irq.depth}${note})`;
      }
      case "raise": {
        const t = pickIrq(x, y);
        if (!t) return apply("allocAny", x, y);
        const what = `raise ${t.q.handle.name}[${t.index}] (virq ${t.irq.virq}, depth ${t.irq.depth})`;
        if (!linkUp) {
          throwsCode(() => instance.raise(t.q.handle, t.index), "ENOLINK", `${what} while the link is down`);
          checkDeliveries(t.irq.virq, what);
          return `${what} → ENOLINK`;
        }
        const r = instance.raise(t.q.handle, t.index);
        if (t.irq.depth > 0) {
          equal(r, HELD, `result of ${what} (1 HELD expected while masked)`);
          holdRaise(t.irq);
        } else {
          equal(r, DELIVERED, `result of ${what} (0 DELIVERED expected)`);
          owe(t.irq.virq);
        }
        checkDeliveries(t.irq.virq, what);
        return `${what} → ${r}`;
      }
      case "affinity": {
        const t = pickIrq(x, y);
        if (!t) return apply("allocAny", x, y);
        const mask = ((y >>> 2) % allCpus) + 1;
        if ((mask & online) === 0) {
          refused(`setAffinity(${t.irq.virq}, 0x${mask.toString(16)}) naming only offline CPUs`, "EINVAL", () => system.setAffinity(t.irq.virq, mask));
          return `affinity virq ${t.irq.virq} 0x${mask.toString(16)} → EINVAL`;
        }
        h.setAffinity(t.irq.virq, mask);
        // Without remapping the move is applied at the irq's next interrupt (it must be enabled to take it).
        if (!ir && t.irq.depth === 0 && linkUp) {
          equal(instance.raise(t.q.handle, t.index), DELIVERED, `raise of virq ${t.irq.virq} that applies its pending move`);
          owe(t.irq.virq);
        }
        const moved = system.irqDesc(t.irq.virq)!;
        const cpu = moved.effectiveCpu;
        if (!moved.moveP) ok(((mask & online) >>> cpu) & 1, `virq ${t.irq.virq} on CPU${cpu} after setAffinity(0x${mask.toString(16)}) with online 0x${online.toString(16)}`);
        return `affinity virq ${t.irq.virq} 0x${mask.toString(16)} → CPU${cpu}`;
      }
      case "cpu": {
        const cpu = x % cpus;
        const isOnline = ((online >>> cpu) & 1) === 1;
        if (!isOnline) {
          system.setCpuOnline(cpu, true);
          online = (online | (1 << cpu)) >>> 0;
          return `CPU${cpu} online`;
        }
        if ((online & ~(1 << cpu)) >>> 0 === 0) {
          refused(`taking the last online CPU${cpu} offline`, "EBUSY", () => system.setCpuOnline(cpu, false));
          return `CPU${cpu} offline → EBUSY`;
        }
        system.setCpuOnline(cpu, false);
        online = (online & ~(1 << cpu)) >>> 0;
        for (const q of liveQueues()) {
          for (const m of q.irqs.values()) ok(system.irqDesc(m.virq)!.effectiveCpu !== cpu, `virq ${m.virq} moved off CPU${cpu} when it went offline`);
        }
        return `CPU${cpu} offline`;
      }
      case "pasid": {
        if (!ctx.supports.pasid) return apply("raise", x, y);
        const q = pickQueue(x);
        if (!q) return apply("create", x, y);
        const pasid = y % 3 === 0 ? undefined : (x >>> 1) % (1 << 20);
        equal(strategy.setPasid(q.handle, pasid), q.irqs.size, `entries rewritten by setPasid(${q.handle.name}, ${show(pasid)})`);
        q.pasid = pasid;
        for (const i of strategy.irqs(q.handle)) equal(i.pasid, pasid ?? -1, `PASID of ${q.handle.name}[${i.index}] after setPasid`);
        return `setPasid ${q.handle.name} ${show(pasid)}`;
      }
      case "forge": {
        if (!linkUp) return apply("raise", x, y);
        const t = pickIrq(x, y);
        if (!t) return apply("allocAny", x, y);
        if (ctx.supports.pasidCheck && y % 2 === 0) {
          // Work under a PASID the entry does not carry: the device refuses to raise (DSA §5.4).
          const pasid = t.q.pasid ?? -1;
          const stale = pasid === -1 ? (x >>> 4) % (1 << 20) : (pasid + 1) % (1 << 20);
          const faults = system.faults.total;
          equal(instance.raiseAs!(t.q.handle, t.index, { pasid: stale }), DEVICE_REFUSED, `raise of ${t.q.handle.name}[${t.index}] for work under PASID ${stale} (4 DEVICE_REFUSED expected)`);
          equal(system.faults.total, faults, "IOMMU faults after a raise the device refused");
          checkDeliveries(t.irq.virq, "a raise the device refused");
          return `forge ${t.q.handle.name}[${t.index}] pasid ${stale} → refused`;
        }
        if (!ir) return apply("raise", x, y);
        const wire = instance.wireRequesterId(t.q.handle);
        const forged = { requesterId: foreignRequesterId(wire) };
        const r = instance.writeAs(t.q.handle, t.index, forged);
        equal(r, FAULTED, `result of a write to ${t.q.handle.name}[${t.index}] forged with ${show(forged)} (2 FAULTED expected)`);
        checkDeliveries(t.irq.virq, "a forged write");
        return `forge ${t.q.handle.name}[${t.index}] ${show(forged)}`;
      }
      case "reenter":
        return reenter(x, y);
      case "link": {
        if (!ctx.supports.link) return apply("raise", x, y);
        if (linkUp && y % 3 !== 0) return apply("raise", x, y); // keep the link up most of the time
        if (linkUp) instance.linkDown!();
        else instance.linkUp!();
        linkUp = !linkUp;
        return `link ${linkUp ? "up" : "down"}`;
      }
    }
  };

  let step = 0;
  let current = "";
  try {
    for (const [pick, x, y] of steps) {
      current = `${kindOf(pick)} (x ${x}, y ${y})`;
      current = apply(kindOf(pick), x >>> 0, y >>> 0);
      recent.push(`#${step} ${current}`);
      const outcome = `${current.split(" ")[0]}${current.includes(" → ") ? ` → ${current.split(" → ")[1]!.split(" ")[0]}` : ""}`;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (recent.length > 12) recent.shift();
      if ((step & 255) === 255) fullCheck(`at step ${step}`);
      step++;
    }
    current = "final checks";
    fullCheck("at the end");
    if (!linkUp) instance.linkUp!();
    for (let c = 0; c < cpus; c++) system.setCpuOnline(c, true);
    online = allCpus;
    for (const q of liveQueues()) {
      for (const m of q.irqs.values()) {
        while (m.depth > 0) {
          system.enableIrq(m.virq);
          m.depth--;
        }
        if (m.pending > 0) {
          for (let k = 1; k < m.pending; k++) owe(m.virq);
          m.pending = 0;
          owe(m.virq);
        }
      }
    }
    for (const [virq, n] of expected) if (system.irqDesc(virq)) equal(h.count(virq), n, `deliveries of virq ${virq} at the end`);
    checkDeliveries(undefined, "unmasking everything at the end");
    for (const q of liveQueues()) {
      h.destroy(q.handle);
      dropQueueIrqs(q);
    }
    queues.clear();
    deepEqual(normalized(h.snapshot()), normalized(h.baseline), "resources after destroying every queue (vectors summed over CPUs)");
    current = "teardown";
    h.close();
    return { operations: steps.length, deliveries: h.total, outcomes };
  } catch (e) {
    h.abandon();
    const message = e instanceof Error ? e.message : show(e);
    throw new Error(`step ${step} of ${steps.length}: ${current}: ${message}\nlast operations:\n  ${recent.join("\n  ")}`);
  }
}

/** The fast-check arbitrary of one sequence. */
export function sequenceArbitrary(length: number): fc.Arbitrary<Step[]> {
  // noBias: uniform picks, so each operation kind runs about as often as its weight says
  return fc.array(fc.tuple(fc.noBias(fc.nat(WEIGHT_TOTAL - 1)), fc.noBias(fc.nat()), fc.noBias(fc.nat())), { minLength: length, maxLength: length });
}

/**
 * Model-based property test: random sequences of queue, interrupt, mask, raise, affinity, CPU,
 * PASID and link operations checked against a reference model. Fixed seed; on failure the error
 * names the seed and path to replay (IMSIM_SEED, IMSIM_PROPERTY_PATH).
 */
export function propertyTests(test: TestFunction, options: ConformanceOptions): void {
  group(test, options, ({ ctx, add }) => {
    // options.operations sets the count (default 20,000); IMSIM_PROPERTY_OPS can only raise it
    const operations = Math.max(options.operations ?? DEFAULT_PROPERTY_OPERATIONS, numberOption("IMSIM_PROPERTY_OPS", 0));
    const seed = numberOption("IMSIM_SEED", options.seed ?? DEFAULT_PROPERTY_SEED);
    const path = env("IMSIM_PROPERTY_PATH");
    const length = Math.min(OPERATIONS_PER_SEQUENCE, operations);
    const runs = Math.max(1, Math.ceil(operations / length));
    add(`property: ${runs * length} random operations agree with the reference model (seed ${seed})`, () => {
      let executed = 0;
      const details = fc.check(
        fc.property(sequenceArbitrary(length), (steps) => {
          runSequence(ctx, steps);
          executed += steps.length;
        }),
        path ? { seed, numRuns: runs, endOnFailure: true, path } : { seed, numRuns: runs, endOnFailure: true },
      );
      if (details.failed) {
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : show(details.errorInstance);
        fail(
          `property failed (seed ${details.seed}, path "${details.counterexamplePath}"): replay with IMSIM_SEED=${details.seed} IMSIM_PROPERTY_PATH=${details.counterexamplePath}\n${cause}`,
        );
      }
      if (!path) equal(executed >= operations, true, `operations executed (${executed}) at least the ${operations} asked for`);
    });
  });
}
