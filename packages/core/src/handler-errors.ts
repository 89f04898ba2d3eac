// Errors thrown by interrupt handlers during delivery. The kernel has no equivalent (a faulting
// handler oopses); imsim contains them so that one bad handler cannot stop delivery.
/** One error thrown by an interrupt handler during delivery. */
export interface HandlerErrorRecord {
  readonly virq: number;
  /** Name of the action (request_irq's name) whose handler threw. */
  readonly action: string;
  readonly error: unknown;
}

/**
 * Errors thrown by interrupt handlers. A C handler cannot throw; a JavaScript one can, and imsim
 * must not let that break delivery: the flow handler catches it, runs the other actions, finishes
 * the interrupt (pending replays included) and records the error here. Kept in a bounded ring, so a
 * handler that throws on every interrupt cannot grow memory without bound.
 */
export class HandlerErrorLog {
  readonly capacity: number;
  readonly #ring: HandlerErrorRecord[] = [];
  readonly #seen = new Set<string>();
  #next = 0;
  #total = 0;
  /** Records in the ring now (drain empties it; the total keeps counting). */
  #held = 0;

  constructor(capacity = 64) {
    this.capacity = capacity;
  }
  /** Errors recorded since the system was created (the ring keeps the last `capacity`). */
  get total(): number {
    return this.#total;
  }
  /** @internal Records one error; returns the record. */
  record(virq: number, action: string, error: unknown): HandlerErrorRecord {
    const r: HandlerErrorRecord = Object.freeze({ virq, action, error });
    this.#ring[this.#next] = r;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total++;
    if (this.#held < this.capacity) this.#held++;
    return r;
  }
  /** @internal True the first time (virq, action) is seen: the default reporter warns once per action, like WARN_ONCE. */
  firstOf(virq: number, action: string): boolean {
    const key = `${virq}\u0000${action}`;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }
  /** The recorded errors, oldest first. */
  entries(): HandlerErrorRecord[] {
    const n = this.#held;
    const start = (this.#next - n + this.capacity) % this.capacity;
    const out: HandlerErrorRecord[] = [];
    for (let i = 0; i < n; i++) out.push(this.#ring[(start + i) % this.capacity]!);
    return out;
  }
  /** Empties the log (the total keeps counting). Returns what it held. */
  drain(): HandlerErrorRecord[] {
    const out = this.entries();
    this.#ring.length = 0;
    this.#next = 0;
    this.#held = 0;
    return out;
  }
}
