/** Where progress goes: a writable with an optional isTTY and columns (process.stderr fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Least time between two progress notes in a log (no terminal). */
export const NOTE_EVERY_MS = 5000;

/**
 * Progress of a run of known length: on a terminal a bar redrawn in place; otherwise one plain
 * line per step ("[3/24] idxd × flat: delivery"), so logs and CI stay readable.
 */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #total: number;
  #done = 0;
  #started = performance.now();
  #silent: boolean;
  #label = "";
  #lastNote = 0;

  constructor(total: number, stream: ProgressStream, options: { silent?: boolean } = {}) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#total = Math.max(1, total);
    this.#silent = options.silent ?? false;
  }

  get done(): number {
    return this.#done;
  }

  /** Announces the step about to run. */
  start(label: string): void {
    this.#label = label;
    this.#lastNote = performance.now();
    if (this.#silent) return;
    if (this.#tty) this.#draw(label);
    else this.#stream.write(`[${this.#done + 1}/${this.#total}] ${label}\n`);
  }

  /**
   * How far the current step is (a long one: "12/64 devices filled"): on a terminal shown beside
   * the step at once; otherwise one indented line at most every NOTE_EVERY_MS.
   */
  note(detail: string): void {
    if (this.#silent) return;
    if (this.#tty) {
      this.#draw(`${this.#label} (${detail})`);
      return;
    }
    const now = performance.now();
    if (now - this.#lastNote < NOTE_EVERY_MS) return;
    this.#lastNote = now;
    this.#stream.write(`      ${this.#label}: ${detail}\n`);
  }

  /** Marks one step done. */
  tick(): void {
    this.#done = Math.min(this.#total, this.#done + 1);
  }

  /** Clears the bar (terminal) or prints a closing line. */
  finish(message: string): void {
    if (this.#silent) return;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    if (this.#tty) this.#stream.write(`\r\x1b[2K${message} (${secs} s)\n`);
    else this.#stream.write(`${message} (${secs} s)\n`);
  }

  #draw(label: string): void {
    const width = 24;
    const filled = Math.round((this.#done / this.#total) * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    const pct = String(Math.round((this.#done / this.#total) * 100)).padStart(3);
    const cols = this.#stream.columns || 80; // 0 when the terminal reports no size
    const line = `${bar} ${pct}% ${this.#done}/${this.#total} ${label}`;
    this.#stream.write(`\r\x1b[2K${line.slice(0, Math.max(10, cols - 1))}`);
  }
}
