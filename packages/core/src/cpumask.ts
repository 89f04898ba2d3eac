// Cpumasks as the kernel keeps them: bitmaps of nr_cpu_ids bits (include/linux/cpumask.h), printed
// with %*pb (hex words, lib/vsprintf.c bitmap_string) and %*pbl (ranges, bitmap_list_string).
import { ImsimError, describe } from "./errors.js";

/** Most CPUs a system may have (CONFIG_NR_CPUS of distribution kernels is 8192). */
export const NR_CPUS_MAX = 8192;

/**
 * An immutable set of CPUs out of `nrCpus` (Linux: struct cpumask of nr_cpu_ids bits). Operations
 * return new masks; a mask is shared freely (every interrupt with the default affinity holds the
 * same one).
 */
export class Cpumask {
  readonly nrCpus: number;
  readonly #words: Uint32Array;
  #weight = -1;

  private constructor(nrCpus: number, words: Uint32Array) {
    this.nrCpus = nrCpus;
    this.#words = words;
  }

  static empty(nrCpus: number): Cpumask {
    return new Cpumask(nrCpus, new Uint32Array((nrCpus + 31) >>> 5));
  }
  static full(nrCpus: number): Cpumask {
    const words = new Uint32Array((nrCpus + 31) >>> 5).fill(0xffffffff);
    const tail = nrCpus & 31;
    if (tail !== 0) words[words.length - 1] = (1 << tail) - 1;
    return new Cpumask(nrCpus, words);
  }
  /** The mask of the listed CPUs (each must be < nrCpus). */
  static of(nrCpus: number, cpus: Iterable<number>): Cpumask {
    const words = new Uint32Array((nrCpus + 31) >>> 5);
    for (const c of cpus) words[c >>> 5]! |= 1 << (c & 31);
    return new Cpumask(nrCpus, words);
  }
  /** The mask of one CPU (cpumask_of()). */
  static single(nrCpus: number, cpu: number): Cpumask {
    return Cpumask.of(nrCpus, [cpu]);
  }
  /** CPUs [first, last]. */
  static range(nrCpus: number, first: number, last: number): Cpumask {
    const words = new Uint32Array((nrCpus + 31) >>> 5);
    for (let c = first; c <= last; c++) words[c >>> 5]! |= 1 << (c & 31);
    return new Cpumask(nrCpus, words);
  }

  has(cpu: number): boolean {
    return cpu >= 0 && cpu < this.nrCpus && ((this.#words[cpu >>> 5]! >>> (cpu & 31)) & 1) === 1;
  }
  /** Number of CPUs in the mask (cpumask_weight). */
  get weight(): number {
    if (this.#weight < 0) {
      let n = 0;
      for (let w of this.#words) {
        while (w !== 0) {
          w &= w - 1;
          n++;
        }
      }
      this.#weight = n;
    }
    return this.#weight;
  }
  get isEmpty(): boolean {
    return this.weight === 0;
  }
  /** Lowest CPU ≥ `from`, or -1 (cpumask_next). */
  next(from: number): number {
    for (let c = from < 0 ? 0 : from; c < this.nrCpus; c++) {
      const w = this.#words[c >>> 5]!;
      if (w === 0) {
        c |= 31;
        continue;
      }
      if (((w >>> (c & 31)) & 1) === 1) return c;
    }
    return -1;
  }
  /** Lowest CPU, or -1 (cpumask_first). */
  first(): number {
    return this.next(0);
  }
  *[Symbol.iterator](): IterableIterator<number> {
    for (let c = this.next(0); c >= 0; c = this.next(c + 1)) yield c;
  }
  toArray(): number[] {
    return [...this];
  }

  #combine(other: Cpumask, op: (a: number, b: number) => number): Cpumask {
    const words = new Uint32Array(this.#words.length);
    for (let i = 0; i < words.length; i++) words[i] = op(this.#words[i]!, other.#words[i] ?? 0);
    return new Cpumask(this.nrCpus, words);
  }
  and(other: Cpumask): Cpumask {
    return this.#combine(other, (a, b) => a & b);
  }
  or(other: Cpumask): Cpumask {
    return this.#combine(other, (a, b) => a | b);
  }
  andNot(other: Cpumask): Cpumask {
    return this.#combine(other, (a, b) => a & ~b);
  }
  with(cpu: number): Cpumask {
    return this.or(Cpumask.single(this.nrCpus, cpu));
  }
  without(cpu: number): Cpumask {
    return this.andNot(Cpumask.single(this.nrCpus, cpu));
  }
  intersects(other: Cpumask): boolean {
    for (let i = 0; i < this.#words.length; i++) if ((this.#words[i]! & (other.#words[i] ?? 0)) !== 0) return true;
    return false;
  }
  subsetOf(other: Cpumask): boolean {
    for (let i = 0; i < this.#words.length; i++) if ((this.#words[i]! & ~(other.#words[i] ?? 0)) !== 0) return false;
    return true;
  }
  equals(other: Cpumask): boolean {
    if (other.nrCpus !== this.nrCpus) return false;
    for (let i = 0; i < this.#words.length; i++) if (this.#words[i] !== other.#words[i]) return false;
    return true;
  }

  /**
   * %*pb: 32-bit words in hex, most significant first, separated by commas; the first word without
   * leading zeros beyond the mask's width, the others as 8 digits ("ff,ffffffff" for 40 CPUs).
   */
  toHex(): string {
    const n = this.#words.length;
    const parts: string[] = [];
    for (let i = n - 1; i >= 0; i--) {
      const w = this.#words[i]!;
      if (i === n - 1) {
        // The leading chunk is printed with as many digits as its bits need (bitmap_string).
        const bits = this.nrCpus - 32 * (n - 1);
        const digits = Math.max(1, Math.ceil(bits / 4));
        parts.push(w.toString(16).padStart(digits, "0"));
      } else {
        parts.push(w.toString(16).padStart(8, "0"));
      }
    }
    return parts.join(",");
  }

  /** %*pbl: ascending ranges, "0-3,8,10-11"; empty for an empty mask. */
  toList(): string {
    const out: string[] = [];
    let c = this.next(0);
    while (c >= 0) {
      let e = c;
      while (e + 1 < this.nrCpus && this.has(e + 1)) e++;
      out.push(e === c ? `${c}` : `${c}-${e}`);
      c = this.next(e + 1);
    }
    return out.join(",");
  }

  toString(): string {
    return this.toList();
  }
}

/**
 * What the API takes where the kernel takes a cpumask: a Cpumask, a CPU list string ("0-3,8"),
 * an array of CPU numbers, a bigint bitmask, or a number bitmask (bit n = CPU n; CPUs 0-52).
 */
export type CpumaskLike = Cpumask | string | readonly number[] | bigint | number;

/**
 * Converts `value` to a Cpumask of `nrCpus` CPUs. EINVAL when it is malformed, names a CPU ≥
 * nrCpus, or (unless `allowEmpty`) names no CPU. `what` names the argument in the message.
 */
export function toCpumask(value: unknown, nrCpus: number, what: string, allowEmpty = false): Cpumask {
  let mask: Cpumask;
  if (value instanceof Cpumask) {
    if (value.nrCpus !== nrCpus) throw new ImsimError("EINVAL", `${what} is a mask of ${value.nrCpus} CPUs, this system has ${nrCpus}`);
    mask = value;
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new ImsimError("EINVAL", `${what} must be a non-negative integer bitmask, got ${describe(value)}`);
    mask = fromBits(BigInt(value), nrCpus, what);
  } else if (typeof value === "bigint") {
    if (value < 0n) throw new ImsimError("EINVAL", `${what} must be a non-negative bitmask, got ${value}n`);
    mask = fromBits(value, nrCpus, what);
  } else if (typeof value === "string") {
    mask = parseCpuList(value, nrCpus, what);
  } else if (Array.isArray(value)) {
    for (const c of value) {
      if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c >= nrCpus) {
        throw new ImsimError("EINVAL", `${what} lists CPU ${describe(c)}, the system has CPUs 0-${nrCpus - 1}`);
      }
    }
    mask = Cpumask.of(nrCpus, value as number[]);
  } else {
    throw new ImsimError("EINVAL", `${what} must be a CPU mask, a CPU list ("0-3") or an array of CPUs, got ${describe(value)}`);
  }
  if (!allowEmpty && mask.isEmpty) throw new ImsimError("EINVAL", `${what} names no CPU`);
  return mask;
}

function fromBits(bits: bigint, nrCpus: number, what: string): Cpumask {
  if (bits >> BigInt(nrCpus) !== 0n) {
    throw new ImsimError("EINVAL", `${what} 0x${bits.toString(16)} names a CPU beyond the system's ${nrCpus}`);
  }
  const cpus: number[] = [];
  for (let c = 0; bits !== 0n; c++, bits >>= 1n) if ((bits & 1n) === 1n) cpus.push(c);
  return Cpumask.of(nrCpus, cpus);
}

/** Parses a cpulist ("0-3,8,10-11", as cpulist_parse accepts it, without strides). */
export function parseCpuList(text: string, nrCpus: number, what = "CPU list"): Cpumask {
  const t = text.trim();
  if (t === "") return Cpumask.empty(nrCpus);
  const cpus: number[] = [];
  for (const part of t.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new ImsimError("EINVAL", `${what} ${JSON.stringify(text)} is not a CPU list like "0-3,8"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b >= nrCpus) throw new ImsimError("EINVAL", `${what} ${JSON.stringify(text)} names CPUs beyond 0-${nrCpus - 1} or a reversed range`);
    for (let c = a; c <= b; c++) cpus.push(c);
  }
  return Cpumask.of(nrCpus, cpus);
}

/** Formats a list of numbers as a range list ("0-19,21,50"), %*pbl for arbitrary bit sets. */
export function formatRangeList(values: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(i === j ? `${values[i]}` : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
