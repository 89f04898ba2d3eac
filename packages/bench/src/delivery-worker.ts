// Measures one cell's delivery in a worker thread of its own: a fresh V8 isolate, so that neither
// design's figure depends on what the JIT saw of the other (or of anything measured before).
import { parentPort, workerData } from "node:worker_threads";
import { openCell } from "./cell-instance.js";
import { resolveHardware } from "./hardware.js";
import { STRATEGIES, type HardwareName, type StrategyName } from "./matrix.js";
import { measureDelivery, prepareDelivery, type DeliveryFigures } from "./measure-perf.js";
import { FILL_CPUS } from "./measure-scale.js";
import type { TimingProfile } from "./timing.js";

/** Milliseconds each timed task warms up for inside the worker. */
export const WORKER_WARMUP_MS = 150;

export interface DeliveryJob {
  hardware: HardwareName;
  strategy: StrategyName;
  profile: TimingProfile;
}

export type DeliveryAnswer = { ok: true; figures: DeliveryFigures } | { ok: false; error: string };

async function run(job: DeliveryJob): Promise<DeliveryAnswer> {
  try {
    const hw = await resolveHardware(job.hardware);
    const cell = openCell(hw.adapter, STRATEGIES[job.strategy], FILL_CPUS);
    try {
      const subject = prepareDelivery(cell, `${job.strategy}/${job.hardware}`);
      try {
        // A fresh isolate starts cold: warm long enough for the optimising tier, even in quick mode.
        const profile = { ...job.profile, warmupTime: Math.max(job.profile.warmupTime, WORKER_WARMUP_MS) };
        return { ok: true, figures: measureDelivery([subject], profile, 1)[0]! };
      } finally {
        subject.release();
      }
    } finally {
      cell.close();
    }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

if (parentPort && workerData) {
  const port = parentPort;
  void run(workerData as DeliveryJob).then((answer) => port.postMessage(answer));
}
