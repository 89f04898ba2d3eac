import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DELIVERED,
  HELD,
  MANAGED_IRQ_SHUTDOWN_VECTOR,
  MSI_ANY_INDEX,
  Q35_GSI_TOP,
  apicDataOf,
  composeRemappable,
  createMsixTable,
  createSystem,
  decodeCompat,
  isImsimError,
  type Entry16Store,
  type ImsimErrorCode,
  type IrqSystem,
  type MsiDomain,
  type ResourceSnapshot,
} from "../src/index.js";

// Model-based property test of the core: random operation sequences against a reference model.
// Fixed seed; IMSIM_PROPERTY_RUNS scales the number of sequences (default 100 x >= 100 operations).
// On failure fast-check prints the seed, the path and the shrunk counterexample (config + operations).
const SEED = 0x1badb002;
const DEFAULT_RUNS = 100;
const RUNS = Math.max(1, Number(process.env.IMSIM_PROPERTY_RUNS ?? DEFAULT_RUNS) || DEFAULT_RUNS);
const MIN_OPS = 100;
const MAX_OPS = 160;

interface Config {
  cpus: number;
  ir: boolean;
  sizes: number[]; // one MSI-X table per PCI device
  proxyAliases: boolean;
}

type Op =
  | { k: "alloc"; d: number; i: number; aff: number }
  | { k: "allocAny"; d: number; aff: number }
  | { k: "allocRange"; d: number; i: number; n: number }
  | { k: "free"; d: number; i: number }
  | { k: "request"; d: number; i: number }
  | { k: "freeIrq"; d: number; i: number }
  | { k: "disable"; d: number; i: number }
  | { k: "enable"; d: number; i: number }
  | { k: "raise"; d: number; i: number; times: number }
  | { k: "cpu"; cpu: number; online: boolean }
  | { k: "affinity"; d: number; i: number; mask: number };

const configArb: fc.Arbitrary<Config> = fc.record({
  cpus: fc.integer({ min: 1, max: 4 }),
  ir: fc.boolean(),
  sizes: fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 1, maxLength: 2 }),
  proxyAliases: fc.boolean(),
});

const d = fc.nat(1);
const i = fc.nat(9); // beyond the largest table: exercises EINVAL
const mask = fc.nat(15); // 0 = no affinity option / empty mask
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("alloc" as const), d, i, aff: mask }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("allocAny" as const), d, aff: mask }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("allocRange" as const), d, i, n: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("free" as const), d, i }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("request" as const), d, i }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("freeIrq" as const), d, i }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("disable" as const), d, i }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("enable" as const), d, i }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("raise" as const), d, i, times: fc.integer({ min: 1, max: 3 }) }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant("cpu" as const), cpu: fc.nat(3), online: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("affinity" as const), d, i, mask }), weight: 2 },
);

/** What the model knows of one allocated interrupt. */
interface MIrq {
  serial: number;
  virq: number;
  requested: boolean;
  /** free_irq of its last action deactivated it since it was allocated. */
  deactivated: boolean;
  depth: number;
  /** Raised while not enabled and not yet delivered (the pending bit: coalesces). */
  pending: boolean;
  /** Deliveries the model expects so far. */
  expected: number;
}

interface Dev {
  store: Entry16Store;
  domain: MsiDomain;
  irqs: (MIrq | undefined)[];
}

let totalOps = 0;

function runSequence(cfg: Config, ops: Op[]): void {
  const sys: IrqSystem = createSystem({ cpus: cfg.cpus, interruptRemapping: cfg.ir });
  const initial = sys.snapshot();
  const devs: Dev[] = cfg.sizes.map((size, n) => {
    const bus = n + 1;
    const rid = bus << 8;
    const dev = sys.addPciDevice(
      cfg.proxyAliases && n === 1 ? { bdf: `0000:0${bus}:00.0`, dmaAliases: [rid | 1, rid | 2] } : { bdf: `0000:0${bus}:00.0` },
    );
    const store = createMsixTable(size, rid);
    const domain = sys.createMsiDomain(dev, { domainId: 0, store, kind: "msix" });
    return { store, domain, irqs: new Array<MIrq | undefined>(size).fill(undefined) };
  });
  const online = Array.from({ length: cfg.cpus }, () => true);
  const usedVirqs = new Set<number>();
  const actual = new Map<number, number>(); // serial -> deliveries seen by that interrupt's own handler
  const violations: string[] = [];
  let serial = 0;

  const onlineMask = () => online.reduce((m, on, c) => (on ? m | (1 << c) : m), 0);
  const cpuMask = (m: number) => m & ((1 << cfg.cpus) - 1);
  // The host's own interrupts (legacy lines, DMAR) are there from boot; dynamic ones start at gsi_top.
  for (const desc of sys.irqDescs()) usedVirqs.add(desc.virq);
  const lowestFreeVirq = () => {
    let v = Q35_GSI_TOP;
    while (usedVirqs.has(v)) v++;
    return v;
  };
  const enabled = (m: MIrq) => m.requested && m.depth === 0;

  /** Runs `fn`; on an expected error code checks the code and that nothing changed. */
  const expectFailure = (code: ImsimErrorCode, fn: () => unknown, what: string) => {
    const before = sys.snapshot();
    let caught: unknown = undefined;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(isImsimError(caught, code), `${what}: expected ${code}, got ${String(caught)}`).toBe(true);
    expect(sys.snapshot(), `${what} failed with ${code} but changed resources`).toEqual(before);
  };

  const recordAlloc = (dev: Dev, index: number, virq: number) => {
    expect(virq, `virq of a new interrupt is the lowest free`).toBe(lowestFreeVirq());
    usedVirqs.add(virq);
    dev.irqs[index] = { serial: serial++, virq, requested: false, deactivated: false, depth: 0, pending: false, expected: 0 };
  };

  /** The interrupt went from not-enabled to enabled: a held raise is delivered once. */
  const becameEnabled = (m: MIrq) => {
    if (m.pending) {
      m.pending = false;
      m.expected++;
    }
  };

  /** Cheap assertion for the per-operation invariants (vitest's expect is too slow to call ~50 times per op). */
  const ok = (cond: boolean, msg: () => string) => {
    if (!cond) throw new Error(msg());
  };

  const check = (where: string) => {
    let count = 0;
    let requested = 0;
    for (const dev of devs) {
      for (let index = 0; index < dev.irqs.length; index++) {
        const m = dev.irqs[index];
        if (!m) {
          ok(dev.domain.desc(index) === undefined, () => `${where}: index ${index} should be free`);
          continue;
        }
        count++;
        if (m.requested) requested++;
        const irq = sys.irqDesc(m.virq);
        if (!irq) throw new Error(`${where}: virq ${m.virq} missing`);
        ok(dev.domain.getVirq(index) === m.virq, () => `${where}: index ${index} maps to virq ${dev.domain.getVirq(index)}, model ${m.virq}`);
        // A requested interrupt holds a real vector on an online CPU (reservation mode: only then).
        ok(irq.activated === m.requested, () => `${where}: virq ${m.virq} activated=${irq.activated}, model requested=${m.requested}`);
        const target = m.requested ? { cpu: irq.effectiveCpu, vector: irq.vector } : { cpu: apicDataOf(irq)!.hwCpu, vector: MANAGED_IRQ_SHUTDOWN_VECTOR };
        if (m.requested) {
          ok(online[irq.effectiveCpu] === true, () => `${where}: virq ${m.virq} targets offline CPU${irq.effectiveCpu}`);
          ok(sys.vector.lookup(irq.effectiveCpu, irq.vector) === m.virq, () => `${where}: vector table of CPU${irq.effectiveCpu} does not lead to virq ${m.virq}`);
        } else {
          ok(irq.vector === 0 && apicDataOf(irq)!.hasReserved, () => `${where}: unrequested virq ${m.virq} holds vector ${irq.vector} instead of a reservation`);
        }
        if (m.deactivated && !m.requested) {
          // free_irq deactivated it: msi_domain_deactivate wrote an all-zero message, the IRTE is cleared.
          ok(dev.store.addressLo(index) === 0 && dev.store.data(index) === 0, () => `${where}: entry ${index} of a deactivated interrupt holds a message`);
          if (cfg.ir) ok(sys.irtes!.present[irq.irte] === 0, () => `${where}: IRTE ${irq.irte} of deactivated virq ${m.virq} still present`);
        } else if (cfg.ir) {
          const t = sys.irtes!;
          ok(t.present[irq.irte] === 1 && t.destination[irq.irte] === target.cpu && t.vector[irq.irte] === target.vector, () => `${where}: IRTE ${irq.irte} of virq ${m.virq} is stale`);
          ok(dev.store.addressLo(index) === composeRemappable(irq.irte).addressLo, () => `${where}: entry ${index} does not carry IRTE handle ${irq.irte}`);
        } else if (!irq.moveP) {
          const f = decodeCompat({ addressLo: dev.store.addressLo(index), addressHi: dev.store.addressHi(index), data: dev.store.data(index) });
          ok(f.apicId === target.cpu && f.vector === target.vector, () => `${where}: message of virq ${m.virq} targets CPU${f.apicId}/0x${f.vector.toString(16)}, expected CPU${target.cpu}/0x${target.vector.toString(16)}`);
        }
        // Lazy disable: a disabled interrupt's entry is masked once an interrupt arrived meanwhile.
        const masked = !m.requested || (m.depth > 0 && m.pending);
        ok(dev.store.isMasked(index) === masked, () => `${where}: entry ${index} masked=${dev.store.isMasked(index)}, model ${masked}`);
        ok((dev.store.isPending(index) || irq.pending) === m.pending, () => `${where}: virq ${m.virq} pending differs from the model (${m.pending})`);
        ok((actual.get(m.serial) ?? 0) === m.expected, () => `${where}: virq ${m.virq} delivered ${actual.get(m.serial) ?? 0} times, model expects ${m.expected}`);
        ok(irq.total === m.expected, () => `${where}: virq ${m.virq} counts ${irq.total}, model expects ${m.expected}`);
        // An interrupt that is not started keeps the disable depth of 1 it was created or shut down with.
        const depth = m.requested ? m.depth : m.depth + 1;
        ok(irq.depth === depth, () => `${where}: virq ${m.virq} depth ${irq.depth}, model ${depth}`);
      }
    }
    const snap = sys.snapshot();
    const vectors = snap.vectorsPerCpu.reduce((a, b) => a + b, 0);
    const boot = initial;
    const bootVectors = boot.vectorsPerCpu.reduce((a, b) => a + b, 0);
    ok(
      snap.virqs === boot.virqs + count &&
        snap.descriptors === count &&
        snap.storeEntries === count &&
        // plus the old vectors that moves keep until their cleanup (move_in_progress, cleanup_pending)
        vectors === bootVectors + requested + sys.vector.pendingCleanups &&
        snap.reservedVectors === boot.reservedVectors + count - requested &&
        snap.irtes === boot.irtes + (cfg.ir ? count : 0) &&
        snap.actions === boot.actions + requested,
      () => `${where}: snapshot ${JSON.stringify(snap)} does not match ${count} interrupts / ${requested} requested over the boot ${JSON.stringify(boot)}`,
    );
    snap.vectorsPerCpu.forEach((n, c) => ok(online[c] === true || n === 0, () => `${where}: offline CPU${c} still has ${n} vectors`));
    ok(violations.length === 0, () => violations.join("; "));
    ok(sys.stats.faulted === 0 && sys.stats.spurious === 0, () => `${where}: ${sys.stats.faulted} faults, ${sys.stats.spurious} spurious`);
  };

  for (const op of ops) {
    totalOps++;
    const where = JSON.stringify(op);
    if (op.k === "cpu") {
      if (op.cpu >= cfg.cpus) continue;
      if (!op.online && online[op.cpu] && onlineMask() === 1 << op.cpu) {
        expectFailure("EBUSY", () => sys.setCpuOnline(op.cpu, false), where);
      } else {
        sys.setCpuOnline(op.cpu, op.online);
        online[op.cpu] = op.online;
      }
      check(where);
      continue;
    }
    const dev = devs[op.d % devs.length]!;
    const size = dev.irqs.length;
    const m = "i" in op && op.i < size ? dev.irqs[op.i] : undefined;
    switch (op.k) {
      case "alloc": {
        const aff = cpuMask(op.aff);
        const options = aff === 0 ? undefined : { affinity: aff };
        const call = () => dev.domain.allocAt(op.i, options);
        if (op.i >= size) expectFailure("EINVAL", call, where);
        else if (m) expectFailure("EBUSY", call, where);
        else {
          // A mask of offline CPUs is accepted: activation falls back to an online CPU.
          const got = call();
          expect(got.index).toBe(op.i);
          recordAlloc(dev, op.i, got.virq);
          if (options) expect(sys.irqDesc(got.virq)!.affinity.toList()).toBe(sys.cpumask(aff).toList());
        }
        break;
      }
      case "allocAny": {
        const aff = cpuMask(op.aff);
        const options = aff === 0 ? undefined : { affinity: aff };
        const free = dev.irqs.findIndex((x) => x === undefined);
        const call = () => dev.domain.allocAt(MSI_ANY_INDEX, options);
        if (free < 0) expectFailure("ENOSPC", call, where);
        else {
          const got = call();
          expect(got.index, "MSI_ANY_INDEX takes the lowest free index").toBe(free);
          recordAlloc(dev, free, got.virq);
        }
        break;
      }
      case "allocRange": {
        const first = op.i;
        const last = op.i + op.n - 1;
        const call = () => dev.domain.allocRange(first, last);
        if (last >= size) expectFailure("EINVAL", call, where);
        else if (dev.irqs.slice(first, last + 1).some((x) => x !== undefined)) expectFailure("EBUSY", call, where);
        else {
          const got = call();
          expect(got.map((g) => g.index)).toEqual(Array.from({ length: op.n }, (_, n) => first + n));
          for (const g of got) recordAlloc(dev, g.index, g.virq);
        }
        break;
      }
      case "free": {
        const call = () => dev.domain.free(op.i);
        if (op.i >= size) expectFailure("EINVAL", call, where);
        else if (!m) expectFailure("ENOENT", call, where);
        else if (m.requested) expectFailure("EBUSY", call, where); // free_irq() first
        else {
          call();
          expect(actual.get(m.serial) ?? 0).toBe(m.expected);
          actual.delete(m.serial);
          usedVirqs.delete(m.virq);
          dev.irqs[op.i] = undefined;
          expect(dev.store.isPending(op.i)).toBe(false);
        }
        break;
      }
      case "request": {
        if (!m) break;
        const mine = m;
        const handler = (virq: number) => {
          if (virq !== mine.virq) violations.push(`handler of virq ${mine.virq} saw virq ${virq}`);
          actual.set(mine.serial, (actual.get(mine.serial) ?? 0) + 1);
        };
        if (m.requested) {
          expectFailure("EBUSY", () => sys.requestIrq(m.virq, "h", handler), where);
        } else {
          sys.requestIrq(m.virq, "h", handler);
          m.requested = true;
          if (m.depth === 0) becameEnabled(m);
        }
        break;
      }
      case "freeIrq": {
        // Only while enabled: what free_irq does to a disabled interrupt's depth is tested by example.
        if (!m) break;
        if (!m.requested) expectFailure("ENOENT", () => sys.freeIrq(m.virq, "h"), where);
        else if (m.depth === 0) {
          sys.freeIrq(m.virq, "h");
          m.requested = false;
          m.deactivated = true;
        }
        break;
      }
      case "disable": {
        if (!m || !m.requested) break;
        sys.disableIrq(m.virq);
        m.depth++;
        break;
      }
      case "enable": {
        if (!m || !m.requested) break;
        if (m.depth === 0) expectFailure("EINVAL", () => sys.enableIrq(m.virq), where);
        else {
          sys.enableIrq(m.virq);
          m.depth--;
          if (m.depth === 0) becameEnabled(m);
        }
        break;
      }
      case "raise": {
        if (!m) break;
        for (let t = 0; t < op.times; t++) {
          const r = sys.raise(dev.store, op.i);
          if (enabled(m)) {
            expect(r, `${where}: raise on an enabled interrupt`).toBe(DELIVERED);
            m.expected++;
          } else {
            expect(r, `${where}: raise on a masked interrupt`).toBe(HELD);
            m.pending = true;
          }
        }
        break;
      }
      case "affinity": {
        if (!m) break;
        const aff = cpuMask(op.mask);
        if (aff === 0 || (aff & onlineMask()) === 0) expectFailure("EINVAL", () => sys.setAffinity(m.virq, op.mask), where);
        else {
          sys.tick(); // a jiffy passes: a previous move's cleanup is done
          sys.setAffinity(m.virq, aff);
          const irq = sys.irqDesc(m.virq)!;
          const want = sys.cpumask(aff);
          // Without remapping an activated interrupt moves at its next interrupt (IRQD_SETAFFINITY_PENDING).
          if (irq.moveP) expect(irq.pendingMask!.toList(), `${where}: pending mask`).toBe(want.toList());
          else {
            expect(irq.affinity.toList()).toBe(want.toList());
            if (irq.activated) expect(want.has(irq.effectiveCpu), `${where}: effective CPU inside the new mask`).toBe(true);
          }
        }
        break;
      }
    }
    check(where);
  }

  // Enabling everything delivers whatever is still held, once.
  for (const dev of devs) {
    for (const m of dev.irqs) {
      if (!m) continue;
      if (!m.requested) {
        sys.requestIrq(m.virq, "h", (virq) => {
          if (virq !== m.virq) violations.push(`late handler of virq ${m.virq} saw virq ${virq}`);
          actual.set(m.serial, (actual.get(m.serial) ?? 0) + 1);
        });
        m.requested = true;
        if (m.depth === 0) becameEnabled(m);
      }
      while (m.depth > 0) {
        sys.enableIrq(m.virq);
        m.depth--;
        if (m.depth === 0) becameEnabled(m);
      }
      expect(m.pending).toBe(false);
    }
  }
  check("final enable");

  for (const dev of sys.devices()) sys.removeDevice(dev);
  // The host's own interrupts that CPU hotplug moved do not move back: compare the vector total.
  const sum = (s: ResourceSnapshot) => ({ ...s, vectorsPerCpu: s.vectorsPerCpu.reduce((a, b) => a + b, 0) });
  expect(sum(sys.snapshot())).toEqual(sum(initial));
}

describe("core model-based property", () => {
  it(`random alloc/free/request/disable/enable/raise/hotplug/affinity sequences match the reference model (seed ${SEED}, ${RUNS} runs)`, () => {
    totalOps = 0;
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: MIN_OPS, maxLength: MAX_OPS }), (cfg, ops) => {
        runSequence(cfg, ops);
      }),
      { seed: SEED, numRuns: RUNS, verbose: 1 },
    );
    expect(totalOps).toBeGreaterThanOrEqual(RUNS * MIN_OPS);
  }, 120_000); // a generous ceiling for large IMSIM_PROPERTY_RUNS, not a timing assertion
});
