import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { DeliveryAnswer, DeliveryJob } from "./delivery-worker.js";
import type { DeliveryFigures } from "./measure-perf.js";

/** The built worker entry next to this module (dist/delivery-worker.js); undefined when running from source. */
export function deliveryWorkerPath(): string | undefined {
  const path = fileURLToPath(new URL("./delivery-worker.js", import.meta.url));
  return existsSync(path) ? path : undefined;
}

/** Runs one delivery measurement in a fresh worker thread. */
export function measureDeliveryIsolated(workerPath: string, job: DeliveryJob): Promise<DeliveryFigures> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerPath, { workerData: job });
    let settled = false;
    worker.once("message", (answer: DeliveryAnswer) => {
      settled = true;
      void worker.terminate();
      if (answer.ok) resolve(answer.figures);
      else reject(new Error(answer.error));
    });
    worker.once("error", (e) => {
      settled = true;
      reject(e);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`delivery worker for ${job.strategy}/${job.hardware} exited with code ${code}`));
    });
  });
}

/** Per design, the lowest delivery and adapter figures over the rounds; the baseline and the floor are their medians. */
export function combineRounds(rounds: DeliveryFigures[]): DeliveryFigures {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const m = sorted.length >> 1;
    return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
  };
  return {
    deliverNs: Math.min(...rounds.map((r) => r.deliverNs)),
    adapterRaiseNs: Math.min(...rounds.map((r) => r.adapterRaiseNs)),
    baselineNs: median(rounds.map((r) => r.baselineNs)),
    floorNs: median(rounds.map((r) => r.floorNs)),
  };
}
