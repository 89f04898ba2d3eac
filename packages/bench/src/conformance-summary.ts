import type { StrategyFactory } from "@imsim/core";
import type { ConformanceSummary } from "./compare-report.js";
import type { ResolvedHardware } from "./hardware.js";

/** A runner-agnostic `test(name, fn)`, as `@imsim/conformance` takes it. */
export type CollectingTest = ((name: string, fn: (...args: unknown[]) => unknown) => void) & {
  skip: (name: string, fn?: (...args: unknown[]) => unknown) => void;
  todo: (name: string) => void;
};

/** Per-test limit, so that one hanging test cannot stall `imsim compare`. */
export const CONFORMANCE_TEST_TIMEOUT_MS = 60_000;
const SKIPPED = "[skipped";

type RunConformance = (test: CollectingTest, options: Record<string, unknown>) => unknown;

async function loadRunConformance(): Promise<RunConformance | string> {
  try {
    const mod = (await import("@imsim/conformance")) as Record<string, unknown>;
    const run = mod["runConformance"];
    return typeof run === "function" ? (run as RunConformance) : "@imsim/conformance does not export runConformance yet";
  } catch (e) {
    return `@imsim/conformance failed to load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
  }
}

function withTimeout(p: Promise<unknown>, ms: number, name: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${name}`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Runs `@imsim/conformance` for one cell with a test function that only collects, then runs the
 * collected tests one after another and counts them. Tests whose name contains "[skipped" (the
 * suite's way of reporting an absent capability) count as skipped, as do test.skip/test.todo.
 */
export async function summarizeConformance(strategyName: string, strategy: StrategyFactory, hardware: ResolvedHardware, extra: Record<string, unknown> = {}): Promise<ConformanceSummary> {
  const started = performance.now();
  const empty = (note: string): ConformanceSummary => ({ passed: 0, failed: 0, skipped: 0, available: false, failures: [], durationMs: 0, note });
  if (hardware.source === "local") return empty(`hardware model ${hardware.name} is the bench's local stand-in (${hardware.note ?? "package not built"}); the suite needs the real adapter`);
  const run = await loadRunConformance();
  if (typeof run === "string") return empty(run);

  const tests: { name: string; fn: (...args: unknown[]) => unknown }[] = [];
  let skipped = 0;
  const test = ((name: string, fn: (...args: unknown[]) => unknown) => {
    tests.push({ name: String(name), fn });
  }) as CollectingTest;
  test.skip = () => void skipped++;
  test.todo = () => void skipped++;

  await run(test, { strategy, hardware: hardware.adapter, label: `${strategyName} × ${hardware.name}`, ...extra });

  let passed = 0;
  let failed = 0;
  const failures: string[] = [];
  for (const t of tests) {
    if (t.name.includes(SKIPPED)) {
      skipped++;
      continue;
    }
    try {
      await withTimeout(Promise.resolve().then(() => t.fn()), CONFORMANCE_TEST_TIMEOUT_MS, t.name);
      passed++;
    } catch (e) {
      failed++;
      if (failures.length < 20) failures.push(`${t.name}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    }
  }
  return { passed, failed, skipped, available: true, failures, durationMs: performance.now() - started };
}
