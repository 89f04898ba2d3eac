import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFn: (() => void) | undefined;

/**
 * A forced full garbage collection. Node exposes `gc` only with --expose-gc; setting the flag at
 * run time and fetching `gc` from a fresh context gives the same function without re-spawning.
 */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === "function") gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    }
  }
  gcFn();
  gcFn();
}

/** Heap bytes in use after a forced GC. */
export function settledHeap(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}
