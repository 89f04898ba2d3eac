import { describe, expect, test } from "vitest";
import type { ImsStrategy, Queue, StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { IGNORE_AFFINITY, collectConformance, runConformance, wrapStrategy, type ConformanceGroupName } from "../src/index.js";
import { genericIms } from "./support/generic-hardware.js";
import type { HardwareAdapter } from "../src/adapter.js";

// Deliberately broken strategies: each wraps a real one and breaks one promise. The suite must
// report at least one failure with a message that says what went wrong.
const broken: [string, (real: ImsStrategy) => Partial<ImsStrategy>, RegExp][] = [
  ["irqs() forgets a queue's last interrupt", (real) => ({ irqs: (q: Queue) => real.irqs(q).slice(0, -1) }), /interrupts|indices|length/],
  ["setPasid() records nothing and rewrites no entry", (real) => ({ setPasid: (q: Queue) => real.irqs(q).length }), /PASID/],
  ["queueOfVirq() never finds the queue", () => ({ queueOfVirq: () => undefined }), /queueOfVirq/],
  ["freeIrq() leaks: it does nothing", () => ({ freeIrq: () => {} }), /snapshot|descriptor|interrupts|after freeing|freeIrq/],
  ["requesterId() reports the wrong requester id", (real) => ({ requesterId: (q: Queue) => real.requesterId(q) ^ 0x100 }), /requester id|requesterId/],
  ["allocIrq() ignores the index it is given", (real) => ({ allocIrq: (q: Queue) => real.allocIrq(q) }), /index/],
  ["destroyQueue() keeps the queue's interrupts", () => ({ destroyQueue: () => {} }), /snapshot|destroy|descriptor|queues/],
];

// Every group but the property test (checked on its own below, with fewer operations).
const exampleGroups: ConformanceGroupName[] = ["storage", "sysfs", "expansion", "iommu", "pasid", "lifecycle", "affinity", "badInput", "faultInjection"];

describe("the suite catches a broken strategy", () => {
  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
  ] as const) {
    for (const [what, override, message] of broken) {
      test(`${name}: ${what}`, async () => {
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: genericIms, groups: exampleGroups });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => message.test(f.error ?? ""))).toBe(true);
        // readable: "what: expected X, got Y"
        expect(failures.every((f) => (f.error ?? "").length > 10)).toBe(true);
      });
    }
  }

  for (const [name, strategy] of [
    ["subdevice", subdevice],
    ["flat", flat],
  ] as const) {
    for (const [what, override] of IGNORE_AFFINITY) {
      test(`${name}: ${what} (caught by the affinity group, which names the mask and the CPU)`, async () => {
        const report = await collectConformance({ strategy: wrapStrategy(strategy, override), hardware: genericIms, groups: exampleGroups });
        const failures = report.results.filter((r) => !r.passed);
        expect(failures.length).toBeGreaterThan(0);
        expect(failures.some((f) => f.name.includes(" › affinity: ") && /smp_affinity|effective CPU/.test(f.error ?? ""))).toBe(true);
        // the real strategy passes the same tests
        expect((await collectConformance({ strategy, hardware: genericIms, groups: ["affinity"] })).failed).toBe(0);
      });
    }
  }

  test("the property test alone catches irqs() forgetting an interrupt, and prints the seed to replay", async () => {
    const report = await collectConformance({
      strategy: wrapStrategy(subdevice, (real) => ({ irqs: (q: Queue) => real.irqs(q).slice(0, -1) })),
      hardware: genericIms,
      groups: ["property"],
      operations: 2_000,
    });
    expect(report.failed).toBe(1);
    const error = report.results[0]!.error!;
    const seed = /seed (\d+), path "([0-9:]+)"/.exec(error);
    expect(seed).not.toBeNull();
    expect(error).toContain(`IMSIM_SEED=${seed![1]} IMSIM_PROPERTY_PATH=${seed![2]}`);
    expect(error).toMatch(/step \d+ of 2000/);
    expect(error).toMatch(/last operations:/);
  });

  test("the property test alone catches a strategy that delivers a queue's interrupt to another queue", async () => {
    // swaps the virqs of two interrupts as reported: raising one runs the other's handler
    const swapped: StrategyFactory = wrapStrategy(flat, (real) => ({
      irqs: (q: Queue) => {
        const l = real.irqs(q);
        if (l.length < 2) return l;
        const [a, b, ...rest] = l;
        return [{ ...a!, virq: b!.virq }, { ...b!, virq: a!.virq }, ...rest];
      },
    }));
    const report = await collectConformance({ strategy: swapped, hardware: genericIms, groups: ["property"], operations: 2_000 });
    expect(report.failed).toBe(1);
    expect(report.results[0]!.error).toMatch(/expected/);
  });
});

describe("the suite catches a broken hardware adapter", () => {
  test("fault injection reaches the steps after the queue's own interrupts: queue creation that leaks on a late failure", async () => {
    // After the strategy made the queue, this adapter starts each interrupt once (request_irq
    // activates it: a store write) and stops it again, and when that fails it forgets to destroy
    // the queue.
    const leaky: HardwareAdapter = {
      name: "leaky",
      create(factory, options) {
        const inner = genericIms.create(factory, options);
        return {
          ...inner,
          createQueue(o) {
            const q = inner.createQueue(o);
            for (const irq of inner.strategy.irqs(q)) {
              inner.system.requestIrq(irq.virq, "leaky-probe", () => {});
              inner.system.freeIrq(irq.virq, "leaky-probe");
            }
            return q;
          },
        };
      },
    };
    const report = await collectConformance({ strategy: flat, hardware: leaky, groups: ["faultInjection"] });
    const creation = report.results.find((r) => r.name.includes("store-write failure at each step of creating a queue"))!;
    expect(creation.passed).toBe(false);
    expect(creation.error).toMatch(/createQueue\(nvec 4\) failed at store-write step \d/);
    // the same adapter without the leak passes
    const fixed = await collectConformance({ strategy: flat, hardware: genericIms, groups: ["faultInjection"] });
    expect(fixed.failed).toBe(0);
  });
});

describe("runner-agnostic registration", () => {
  test("skipped capabilities register a passing test whose name gives the reason", async () => {
    const names: string[] = [];
    runConformance((name) => names.push(name), { strategy: subdevice, hardware: genericIms, label: "x" });
    expect(names.length).toBeGreaterThan(100);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("x › iommu: DMA aliases are honoured: the writes carry an alias of the PCI function, and interrupt remapping accepts it [skipped: hardware has no DMA aliases]");
    expect(names.filter((n) => n.includes("bad input:")).length).toBeGreaterThanOrEqual(30);
  });

  test("a manifest that claims a link without linkDown/linkUp fails the capabilities test", async () => {
    const lying = { name: "lying", create: (f: StrategyFactory) => ({ ...genericIms.create(f), supports: { ...genericIms.create(f).supports, link: true } }) };
    const report = await collectConformance({ strategy: subdevice, hardware: lying, groups: ["lifecycle"] });
    const manifest = report.results.find((r) => r.name.includes("capabilities: the manifest"))!;
    expect(manifest.passed).toBe(false);
    expect(manifest.error).toMatch(/linkDown\/linkUp present exactly when supports.link: expected true, got false/);
  });

  test("a hardware adapter that cannot create an instance yields one failing setup test per group", async () => {
    const report = await collectConformance({
      strategy: subdevice,
      hardware: { name: "dead", create: () => { throw new Error("no device"); } },
      groups: ["storage", "lifecycle"],
    });
    expect(report.passed).toBe(0);
    expect(report.failed).toBe(2);
    expect(report.results[0]!.error).toBe("no device");
  });
});
