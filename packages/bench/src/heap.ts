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

let minorGcFn: ((options: { type: "minor" }) => void) | undefined;

/**
 * A forced scavenge (young-generation GC) only: cheap (tens of µs when little is young), so it can
 * run before every timed sample, which then starts with an empty young generation and pays for no
 * garbage of the set-up or of the samples before it.
 */
export function minorGc(): void {
  if (!minorGcFn) {
    forceGc();
    minorGcFn = gcFn as unknown as (options: { type: "minor" }) => void;
  }
  minorGcFn({ type: "minor" });
}
