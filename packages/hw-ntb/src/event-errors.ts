/** What a host was doing when the error was thrown. */
export type NtbEventKind = "link" | "doorbell" | "msi-write";

/** One error thrown on a host while it handled an NTB event. */
export interface NtbEventError {
  /**
   * `link`: a link_event listener; `doorbell`: a db_event listener; `msi-write`: this host's
   * delivery of a write that came through the bridge (only an `onHandlerError` hook of the host's
   * system can make that throw: core keeps handler errors itself).
   */
  readonly event: NtbEventKind;
  readonly error: unknown;
}

const WHAT: Record<NtbEventKind, string> = {
  link: "a link_event listener",
  doorbell: "a db_event listener",
  "msi-write": "delivering an interrupt write from the peer",
};

/**
 * Errors thrown on one host while it handled an NTB event: a link change, a doorbell, or a write
 * the peer sent through its memory window. None of them may reach the code that caused the event,
 * which is often the other host's (a posted write cannot fail its sender; link_event and db_event
 * are void callbacks in Linux), so they are kept here, on the host where they happened: the last
 * `capacity`, with one `process.emitWarning` per kind of event. Same shape as core's
 * `system.handlerErrors`.
 */
export class NtbEventErrorLog {
  readonly capacity: number;
  readonly #where: () => string;
  readonly #ring: NtbEventError[] = [];
  readonly #warned = new Set<NtbEventKind>();
  #total = 0;

  /** @internal Made by NtbDevice; `where` names the host in warnings. */
  constructor(where: () => string, capacity = 64) {
    this.#where = where;
    this.capacity = capacity;
  }

  /** Errors recorded since the host was created (the log keeps the last `capacity`). */
  get total(): number {
    return this.#total;
  }

  /** @internal */
  record(event: NtbEventKind, error: unknown): void {
    this.#total++;
    this.#ring.push(Object.freeze({ event, error }));
    if (this.#ring.length > this.capacity) this.#ring.shift();
    if (this.#warned.has(event)) return;
    this.#warned.add(event);
    const text = `imsim: ${WHAT[event]} on ${this.#where()} threw: ${error instanceof Error ? error.message : String(error)} (kept in ntb.eventErrors)`;
    const proc = (globalThis as { process?: { emitWarning?: (w: string) => void } }).process;
    if (proc?.emitWarning) proc.emitWarning(text);
    else console.warn(text);
  }

  /** The kept errors, oldest first. */
  entries(): NtbEventError[] {
    return [...this.#ring];
  }

  /** Empties the log (the total keeps counting); returns what it held. */
  drain(): NtbEventError[] {
    return this.#ring.splice(0);
  }
}
