// Failure injection and the undo journal behind "a failed operation leaves no partial state".
// The kernel unwinds each allocation path by hand (kernel/irq/irqdomain.c, kernel/irq/msi.c error
// labels); core does the same per step and adds this journal for the counters and pending bits that
// several steps touch.
import { ImsimError, checkInt, describe } from "./errors.js";
import type { DeliveryStats, FaultPoint } from "./context.js";
import type { MessageStore } from "./message-store.js";

export const FAULT_POINTS: readonly FaultPoint[] = ["store-write", "vector-alloc", "irte-alloc"];

/** Makes the Nth next operation at a point fail with EIO, once. */
export class FaultInjector {
  readonly #armed = new Map<FaultPoint, number>();

  inject(point: FaultPoint, nth: number): void {
    if (!FAULT_POINTS.includes(point)) throw new ImsimError("EINVAL", `fault point must be one of ${FAULT_POINTS.join(", ")}, got ${describe(point)}`);
    checkInt(nth, 0, Number.MAX_SAFE_INTEGER, `fault countdown for ${point}`);
    this.#armed.set(point, nth);
  }

  clear(): void {
    this.#armed.clear();
  }

  /** Throws the injected EIO when the countdown at `point` reaches zero. */
  maybeFail(point: FaultPoint): void {
    const left = this.#armed.get(point);
    if (left === undefined) return;
    if (left === 0) {
      this.#armed.delete(point);
      throw new ImsimError("EIO", `injected ${point} failure`);
    }
    this.#armed.set(point, left - 1);
  }
}

interface PendingChange {
  readonly store: MessageStore;
  readonly index: number;
  readonly pending: boolean;
}

/** Work counters and store pending bits an operation changed, restored when it throws. */
export class WorkJournal {
  readonly #stats: DeliveryStats;
  #pending: PendingChange[] | undefined;

  constructor(stats: DeliveryStats) {
    this.#stats = stats;
  }

  /** Runs `op`; on a throw, restores what it changed. Nested scopes compose: each undoes its own part. */
  atomically<T>(op: () => T): T {
    const resolutions = this.#stats.sourceIdResolutions;
    const writes = this.#stats.messageWrites;
    const outer = this.#pending;
    const journal: PendingChange[] = [];
    this.#pending = journal;
    try {
      const result = op();
      outer?.push(...journal);
      return result;
    } catch (e) {
      for (let i = journal.length - 1; i >= 0; i--) journal[i]!.store.setPending(journal[i]!.index, journal[i]!.pending);
      this.#stats.sourceIdResolutions = resolutions;
      this.#stats.messageWrites = writes;
      throw e;
    } finally {
      this.#pending = outer;
    }
  }

  /** Clears a pending bit, journalled so that a failing scope sets it again. */
  clearPending(store: MessageStore, index: number): void {
    if (!store.isPending(index)) return;
    this.#pending?.push({ store, index, pending: true });
    store.setPending(index, false);
  }
}
