import type { ImsStrategy, MsiAllocOptions, Queue, QueueOptions, StrategyFactory } from "@imsim/core";
import type { ConformanceOptions, TestFunction } from "./harness.js";
import { storageTests } from "./storage.js";
import { sysfsTests } from "./sysfs.js";
import { expansionTests } from "./expansion.js";
import { iommuTests } from "./iommu.js";
import { pasidTests } from "./pasid.js";
import { lifecycleTests } from "./lifecycle.js";
import { affinityTests } from "./affinity.js";
import { badInputTests } from "./bad-input.js";
import { faultInjectionTests } from "./fault-injection.js";
import { propertyTests } from "./property.js";

/** Every group, in the order runConformance registers them. */
export const conformanceGroups = {
  storage: storageTests,
  sysfs: sysfsTests,
  expansion: expansionTests,
  iommu: iommuTests,
  pasid: pasidTests,
  lifecycle: lifecycleTests,
  affinity: affinityTests,
  badInput: badInputTests,
  faultInjection: faultInjectionTests,
  property: propertyTests,
} as const;

export type ConformanceGroupName = keyof typeof conformanceGroups;

/**
 * Registers the whole suite for one strategy × hardware pair with `test`:
 * `runConformance(test, { strategy: createStrategy, hardware: myAdapter })`.
 * `groups` limits it to some groups (all by default).
 */
export function runConformance(test: TestFunction, options: ConformanceOptions & { groups?: readonly ConformanceGroupName[] }): void {
  const names = options.groups ?? (Object.keys(conformanceGroups) as ConformanceGroupName[]);
  for (const name of names) conformanceGroups[name](test, options);
}

export interface ConformanceResult {
  name: string;
  passed: boolean;
  /** The failure's message when it failed. */
  error?: string;
}

export interface ConformanceReport {
  label: string;
  passed: number;
  failed: number;
  results: ConformanceResult[];
}

/**
 * Runs the suite without a test runner and returns what passed and failed: for reports (the bench's
 * conformance summary) and for checking that a broken implementation is caught.
 */
export async function collectConformance(options: ConformanceOptions & { groups?: readonly ConformanceGroupName[] }): Promise<ConformanceReport> {
  const registered: { name: string; fn: () => void | Promise<void> }[] = [];
  runConformance((name, fn) => registered.push({ name, fn }), options);
  const results: ConformanceResult[] = [];
  for (const t of registered) {
    try {
      await t.fn();
      results.push({ name: t.name, passed: true });
    } catch (e) {
      results.push({ name: t.name, passed: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  const label = options.label ?? (registered[0]?.name.split(" › ")[0] ?? "");
  const passed = results.filter((r) => r.passed).length;
  return { label, passed, failed: results.length - passed, results };
}

/**
 * Wraps a strategy factory so that some methods behave differently: how the suite's own tests build
 * deliberately broken strategies (and how you can check that your suite run would notice a regression).
 * `override` receives the real strategy and returns the methods to replace.
 */
export function wrapStrategy(factory: StrategyFactory, override: (real: ImsStrategy) => Partial<ImsStrategy>): StrategyFactory {
  return (system, host, store, options) => {
    const real = factory(system, host, store, options);
    const replaced = override(real);
    const wrapped = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(real) as (keyof ImsStrategy)[]) {
      const v = real[key];
      wrapped[key] = typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(real) : v;
    }
    // class-based strategies keep methods on the prototype
    for (let proto = Object.getPrototypeOf(real) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        if (key === "constructor" || key in wrapped) continue;
        const desc = Object.getOwnPropertyDescriptor(proto, key);
        if (desc && typeof desc.value === "function") wrapped[key] = (desc.value as (...a: unknown[]) => unknown).bind(real);
        else if (desc?.get) Object.defineProperty(wrapped, key, { get: () => (real as unknown as Record<string, unknown>)[key], enumerable: true });
      }
    }
    for (const [key, v] of Object.entries(replaced)) wrapped[key] = v;
    return wrapped as unknown as ImsStrategy;
  };
}

/**
 * The options without a well-formed affinity: what a strategy that ignores the mask passes on. A
 * malformed one (0, NaN, …) is kept, so the strategy still refuses bad input and only the affinity
 * group can tell it apart from a correct one.
 */
function withoutAffinity<T extends { affinity?: unknown }>(o: T | undefined): T | undefined {
  if (typeof o !== "object" || o === null) return o;
  const a = o.affinity;
  // Only a well-formed mask is dropped: a number naming CPUs, a CPU list or an array.
  const wellFormed = (typeof a === "number" && Number.isInteger(a) && a >= 1) || (typeof a === "string" && a !== "") || Array.isArray(a);
  if (!wellFormed) return o;
  const copy = { ...o };
  delete copy.affinity;
  return copy;
}

/**
 * Overrides for `wrapStrategy` that make a strategy ignore an affinity mask, the queue's or the
 * per-allocation one: such strategies passed every test before the affinity group, which must
 * catch them on any hardware.
 */
export const IGNORE_AFFINITY: readonly (readonly [what: string, override: (real: ImsStrategy) => Partial<ImsStrategy>])[] = [
  ["createQueue() drops the queue's affinity", (real) => ({ createQueue: (o: QueueOptions) => real.createQueue(withoutAffinity(o)!) })],
  [
    "allocIrq()/allocIrqs()/allocIrqRange() drop the per-allocation affinity",
    (real) => ({
      allocIrq: (q: Queue, index?: number, o?: MsiAllocOptions) => real.allocIrq(q, index, withoutAffinity(o)),
      allocIrqs: (q: Queue, count: number, o?: MsiAllocOptions) => real.allocIrqs(q, count, withoutAffinity(o)),
      allocIrqRange: (q: Queue, first: number, last: number, o?: MsiAllocOptions) => real.allocIrqRange(q, first, last, withoutAffinity(o)),
    }),
  ],
];
