import { Bench } from "tinybench";

/** How long tinybench samples each task: the quick and full profiles of `imsim compare`. */
export interface TimingProfile {
  /** Milliseconds of sampling per task (tinybench `time`). */
  time: number;
  warmupTime: number;
  /** Minimum samples per task (tinybench `iterations`). */
  iterations: number;
}

export const QUICK_TIMING: TimingProfile = { time: 40, warmupTime: 10, iterations: 5 };
export const FULL_TIMING: TimingProfile = { time: 200, warmupTime: 40, iterations: 10 };

export interface Timing {
  /** Mean nanoseconds per operation (one task call divided by `ops`). */
  ns: number;
  /** Median nanoseconds per operation. */
  p50: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
}

export interface TimeOptions {
  /** Operations one task call performs (a batch); results are per operation. */
  ops?: number;
  /** Untimed set-up before each call (tinybench beforeEach). */
  beforeEach?: () => void;
  /** Untimed clean-up after each call (tinybench afterEach). */
  afterEach?: () => void;
}

/**
 * Times `fn` with tinybench 6 (`runSync`): per-operation mean and median in nanoseconds. Batches
 * keep each sample well above the timer's resolution; set-up runs outside the timed window.
 */
export function timeOp(name: string, fn: () => void, profile: TimingProfile, options: TimeOptions = {}): Timing {
  const ops = options.ops ?? 1;
  const bench = new Bench({
    time: profile.time,
    warmupTime: profile.warmupTime,
    iterations: profile.iterations,
    warmupIterations: Math.min(5, profile.iterations),
    throws: true,
    retainSamples: false,
  });
  const hooks: { beforeEach?: () => void; afterEach?: () => void } = {};
  if (options.beforeEach) hooks.beforeEach = options.beforeEach;
  if (options.afterEach) hooks.afterEach = options.afterEach;
  bench.add(name, fn, hooks);
  const [task] = bench.runSync();
  const r = task?.result;
  if (!r || (r.state !== "completed" && r.state !== "aborted-with-statistics")) {
    const why = r && r.state === "errored" ? r.error.message : (r?.state ?? "no result");
    throw new Error(`benchmark ${name} did not complete: ${why}`);
  }
  const toNs = (ms: number) => (ms * 1e6) / ops;
  return { ns: toNs(r.latency.mean), p50: toNs(r.latency.p50), rme: r.latency.rme, samples: r.latency.samplesCount };
}
