import { ImsimError } from "./errors.js";

// x86 vector layout, arch/x86/include/asm/irq_vectors.h and kernel/irq/matrix.c.
/** Vectors 0-31 are CPU exceptions. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
/** IA32_SYSCALL_VECTOR (int 0x80), reserved on every CPU. */
export const IA32_SYSCALL_VECTOR = 0x80;
/** From LOCAL_TIMER_VECTOR (0xec) up, the system vectors (timer, IPIs, spurious 0xff). */
export const FIRST_SYSTEM_VECTOR = 0xec;
export const NR_VECTORS = 256;

/** True for vectors no device may get: exceptions, the syscall gate, system vectors. */
export function isSystemVector(vector: number): boolean {
  return vector < FIRST_EXTERNAL_VECTOR || vector === IA32_SYSCALL_VECTOR || vector >= FIRST_SYSTEM_VECTOR;
}

/** Device vectors each CPU can hand out. */
export const VECTORS_PER_CPU = FIRST_SYSTEM_VECTOR - FIRST_EXTERNAL_VECTOR - 1;

/**
 * The per-CPU vector tables (each CPU's IDT from the interrupt controller's view) and the allocator
 * that fills them: Linux's irq matrix (kernel/irq/matrix.c), which picks the online CPU of the
 * affinity mask with the fewest allocated vectors, then the lowest free vector on it.
 * CPU masks are bitmasks (bit n = CPU n), so at most 32 CPUs.
 */
export class VectorMatrix {
  readonly cpus: number;
  /** tables[cpu][vector] = virq, 0 when free, -1 for system vectors: views into #flat. */
  readonly #tables: Int32Array[];
  /** All CPUs' tables in one array, indexed cpu << 8 | vector, for the delivery path. */
  readonly #flat: Int32Array;
  readonly #allocated: Uint16Array;
  /** Per CPU, no free device vector lies below this: keeps allocation O(1) as a CPU fills. */
  readonly #hint: Uint16Array;
  #onlineMask: number;

  constructor(cpus: number) {
    this.cpus = cpus;
    this.#tables = [];
    this.#allocated = new Uint16Array(cpus);
    this.#hint = new Uint16Array(cpus).fill(FIRST_EXTERNAL_VECTOR);
    this.#flat = new Int32Array(cpus * NR_VECTORS);
    for (let c = 0; c < cpus; c++) {
      const t = this.#flat.subarray(c * NR_VECTORS, (c + 1) * NR_VECTORS);
      for (let v = 0; v < NR_VECTORS; v++) if (isSystemVector(v)) t[v] = -1;
      this.#tables.push(t);
    }
    this.#onlineMask = cpus === 32 ? -1 >>> 0 : (1 << cpus) - 1;
  }

  get allCpusMask(): number {
    return this.cpus === 32 ? -1 >>> 0 : (1 << this.cpus) - 1;
  }
  get onlineMask(): number {
    return this.#onlineMask;
  }
  isOnline(cpu: number): boolean {
    return cpu >= 0 && cpu < this.cpus && ((this.#onlineMask >>> cpu) & 1) === 1;
  }
  /** @internal The system takes CPUs off and on; it moves their interrupts first. */
  setOnline(cpu: number, online: boolean): void {
    this.#onlineMask = (online ? this.#onlineMask | (1 << cpu) : this.#onlineMask & ~(1 << cpu)) >>> 0;
  }

  /** Virq bound to `vector` on `cpu` (hot path: no allocation, no checks beyond the table). */
  lookup(cpu: number, vector: number): number {
    const v = this.#flat[(cpu << 8) | (vector & 0xff)];
    return v === undefined ? 0 : v;
  }

  allocatedOn(cpu: number): number {
    return this.#allocated[cpu] ?? 0;
  }

  /** Picks the least-loaded online CPU in `mask` (lowest number on ties) with a free vector; -1 if none. */
  pickCpu(mask: number): number {
    let best = -1;
    let bestLoad = Infinity;
    const usable = (mask & this.#onlineMask) >>> 0;
    for (let c = 0; c < this.cpus; c++) {
      if (((usable >>> c) & 1) === 0) continue;
      const load = this.#allocated[c]!;
      if (load < bestLoad && load < VECTORS_PER_CPU) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Binds the lowest free device vector on `cpu` to `virq`; returns the vector. */
  allocOn(cpu: number, virq: number): number {
    const t = this.#tables[cpu]!;
    for (let v = this.#hint[cpu]!; v < FIRST_SYSTEM_VECTOR; v++) {
      if (t[v] === 0) {
        t[v] = virq;
        this.#allocated[cpu]!++;
        this.#hint[cpu] = v + 1;
        return v;
      }
    }
    throw new ImsimError("ENOSPC", `CPU${cpu} has no free vector (${VECTORS_PER_CPU} in use)`);
  }

  free(cpu: number, vector: number): void {
    const t = this.#tables[cpu];
    if (t === undefined || isSystemVector(vector) || (t[vector] ?? 0) <= 0) {
      throw new ImsimError("ENOENT", `vector 0x${vector.toString(16)} on CPU${cpu} is not allocated`);
    }
    t[vector] = 0;
    this.#allocated[cpu]!--;
    if (vector < this.#hint[cpu]!) this.#hint[cpu] = vector;
  }

  /** Vectors in use per CPU, for resource snapshots. */
  usage(): number[] {
    return Array.from(this.#allocated);
  }

  /** Allocated device vectors of `cpu`, ascending. */
  vectorsOf(cpu: number): number[] {
    const out: number[] = [];
    const t = this.#tables[cpu]!;
    for (let v = 0; v < NR_VECTORS; v++) if ((t[v] ?? 0) > 0) out.push(v);
    return out;
  }
}

/** Formats a CPU mask as Linux's cpulist ("0-1,3"). */
export function formatCpuList(mask: number, cpus: number): string {
  const parts: string[] = [];
  let c = 0;
  while (c < cpus) {
    if (((mask >>> c) & 1) === 0) {
      c++;
      continue;
    }
    let e = c;
    while (e + 1 < cpus && ((mask >>> (e + 1)) & 1) === 1) e++;
    parts.push(e === c ? `${c}` : `${c}-${e}`);
    c = e + 1;
  }
  return parts.join(",");
}

/** Formats a list of numbers as a range list ("0-19,21,50"). */
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
