// kernel/irq/matrix.c: the per-CPU vector allocator of x86 (irq_matrix). Each CPU has a bitmap of
// allocated vectors and one of managed reservations; the matrix keeps the counts the debugfs
// VECTOR file prints (available, allocated, managed, managed_allocated, global reserved, ...).
import { ImsimError } from "./errors.js";
import type { Cpumask } from "./cpumask.js";

/** Counts of one CPU (struct cpumap). */
export interface CpuVectorCounts {
  readonly online: boolean;
  /** Vectors still free for non-managed allocation (avl). */
  readonly available: number;
  /** All allocated vectors, managed ones included (act). */
  readonly allocated: number;
  /** Managed reservations (man). */
  readonly managed: number;
  /** Managed reservations that hold an activated interrupt (mac). */
  readonly managedAllocated: number;
}

/**
 * The irq matrix: `matrixBits` vectors per CPU, of which [allocStart, allocEnd) are handed to
 * devices. System vectors (exceptions, IPIs, the timer) are marked in one map shared by all CPUs.
 * Reservations are global counts without a vector: they may exceed what is available (Linux only
 * warns), which is how a host holds far more allocated-but-inactive interrupts than vectors.
 */
export class IrqMatrix {
  readonly nrCpus: number;
  readonly matrixBits: number;
  readonly allocStart: number;
  readonly allocEnd: number;
  /** Per CPU × vector: 1 when allocated (alloc_map). */
  readonly #allocMap: Uint8Array;
  /** Per CPU × vector: 1 when reserved for a managed interrupt (managed_map). */
  readonly #managedMap: Uint8Array;
  readonly #systemMap: Uint8Array;
  readonly #available: Int32Array;
  readonly #allocated: Int32Array;
  readonly #managed: Int32Array;
  readonly #managedAllocated: Int32Array;
  readonly #online: Uint8Array;
  readonly #initialized: Uint8Array;
  #systemBitsInAlloc = 0;
  #globalAvailable = 0;
  #globalReserved = 0;
  #totalAllocated = 0;
  #onlineMaps = 0;
  /** CPU of the last successful alloc/allocManaged (the kernel's *mapped_cpu). */
  lastCpu = -1;

  constructor(nrCpus: number, matrixBits: number, allocStart: number, allocEnd: number) {
    this.nrCpus = nrCpus;
    this.matrixBits = matrixBits;
    this.allocStart = allocStart;
    this.allocEnd = allocEnd;
    this.#allocMap = new Uint8Array(nrCpus * matrixBits);
    this.#managedMap = new Uint8Array(nrCpus * matrixBits);
    this.#systemMap = new Uint8Array(matrixBits);
    this.#available = new Int32Array(nrCpus);
    this.#allocated = new Int32Array(nrCpus);
    this.#managed = new Int32Array(nrCpus);
    this.#managedAllocated = new Int32Array(nrCpus);
    this.#online = new Uint8Array(nrCpus);
    this.#initialized = new Uint8Array(nrCpus);
  }

  get globalAvailable(): number {
    return this.#globalAvailable;
  }
  get globalReserved(): number {
    return this.#globalReserved;
  }
  get totalAllocated(): number {
    return this.#totalAllocated;
  }
  get onlineMaps(): number {
    return this.#onlineMaps;
  }
  isOnline(cpu: number): boolean {
    return this.#online[cpu] === 1;
  }
  counts(cpu: number): CpuVectorCounts {
    return {
      online: this.#online[cpu] === 1,
      available: this.#available[cpu]!,
      allocated: this.#allocated[cpu]!,
      managed: this.#managed[cpu]!,
      managedAllocated: this.#managedAllocated[cpu]!,
    };
  }
  /** Vectors set in the CPU's alloc_map, ascending. */
  allocatedVectors(cpu: number): number[] {
    const out: number[] = [];
    const base = cpu * this.matrixBits;
    for (let v = 0; v < this.matrixBits; v++) if (this.#allocMap[base + v] === 1) out.push(v);
    return out;
  }
  /** The system map, ascending. */
  systemVectors(): number[] {
    const out: number[] = [];
    for (let v = 0; v < this.matrixBits; v++) if (this.#systemMap[v] === 1) out.push(v);
    return out;
  }
  isSystemVector(vector: number): boolean {
    return this.#systemMap[vector] === 1;
  }

  /** irq_matrix_assign_system: marks a system vector (before CPUs come online). */
  assignSystem(vector: number): void {
    this.#systemMap[vector] = 1;
    if (vector >= this.allocStart && vector < this.allocEnd) this.#systemBitsInAlloc++;
  }

  /** irq_matrix_online: the CPU's vectors join the global pool. */
  online(cpu: number): void {
    if (this.#online[cpu] === 1) throw new ImsimError("EBUSY", `CPU${cpu} is already online in the vector matrix`);
    if (this.#initialized[cpu] === 0) {
      this.#available[cpu] = this.allocEnd - this.allocStart - this.#managed[cpu]! - this.#systemBitsInAlloc;
      this.#initialized[cpu] = 1;
    }
    this.#globalAvailable += this.#available[cpu]!;
    this.#online[cpu] = 1;
    this.#onlineMaps++;
  }

  /** irq_matrix_offline: the CPU's vectors leave the global pool (its interrupts moved first). */
  offline(cpu: number): void {
    this.#globalAvailable -= this.#available[cpu]!;
    this.#online[cpu] = 0;
    this.#onlineMaps--;
  }

  /** irq_matrix_assign: a fixed vector on `cpu` (a legacy interrupt set up at boot). */
  assign(cpu: number, vector: number): void {
    const at = cpu * this.matrixBits + vector;
    if (this.#allocMap[at] === 1) throw new ImsimError("EBUSY", `vector ${vector} of CPU${cpu} is already allocated`);
    this.#allocMap[at] = 1;
    this.#allocated[cpu]!++;
    this.#totalAllocated++;
    this.#available[cpu]!--;
    this.#globalAvailable--;
  }

  /** irq_matrix_reserve: a global reservation without a vector. Never fails (Linux warns past the available count). */
  reserve(): void {
    this.#globalReserved++;
  }
  /** irq_matrix_remove_reserved. */
  removeReserved(): void {
    this.#globalReserved--;
  }

  /** Lowest vector of `cpu` free in alloc, managed and system maps, claimed in the chosen map; -1 if none (matrix_alloc_area). */
  #allocArea(cpu: number, managed: boolean): number {
    const base = cpu * this.matrixBits;
    for (let v = this.allocStart; v < this.allocEnd; v++) {
      if (this.#allocMap[base + v] === 0 && this.#managedMap[base + v] === 0 && this.#systemMap[v] === 0) {
        (managed ? this.#managedMap : this.#allocMap)[base + v] = 1;
        return v;
      }
    }
    return -1;
  }

  /**
   * irq_matrix_reserve_managed: one managed vector on every CPU of `mask`; all or none. ENOSPC
   * when a CPU has no free vector.
   */
  reserveManaged(mask: Cpumask): void {
    const done: number[] = [];
    for (const cpu of mask) {
      if (this.#allocArea(cpu, true) < 0) {
        for (const c of done) this.#removeManagedOn(c);
        throw new ImsimError("ENOSPC", `CPU${cpu} has no vector left for a managed reservation`);
      }
      this.#managed[cpu]!++;
      if (this.#online[cpu] === 1) {
        this.#available[cpu]!--;
        this.#globalAvailable--;
      }
      done.push(cpu);
    }
  }

  /** irq_matrix_remove_managed: drops one unallocated managed reservation on every CPU of `mask`. */
  removeManaged(mask: Cpumask): void {
    for (const cpu of mask) this.#removeManagedOn(cpu);
  }

  #removeManagedOn(cpu: number): void {
    const base = cpu * this.matrixBits;
    for (let v = this.allocStart; v < this.allocEnd; v++) {
      if (this.#managedMap[base + v] === 1 && this.#allocMap[base + v] === 0) {
        this.#managedMap[base + v] = 0;
        this.#managed[cpu]!--;
        if (this.#online[cpu] === 1) {
          this.#available[cpu]!++;
          this.#globalAvailable++;
        }
        return;
      }
    }
  }

  /**
   * irq_matrix_alloc: a vector on the online CPU of `mask` with the most available vectors (lowest
   * number on ties). `reserved` consumes one global reservation. Returns the vector (CPU in
   * lastCpu); ENOSPC when no CPU of the mask has one.
   */
  alloc(mask: Cpumask, reserved: boolean): number {
    let best = -1;
    let most = 0;
    for (const cpu of mask) {
      if (this.#online[cpu] === 0 || this.#available[cpu]! <= most) continue;
      best = cpu;
      most = this.#available[cpu]!;
    }
    if (best < 0) throw new ImsimError("ENOSPC", `no online CPU in ${mask.toList() || "an empty mask"} has a free vector`);
    const v = this.#allocArea(best, false);
    if (v < 0) throw new ImsimError("ENOSPC", `CPU${best} has no free vector`);
    this.#allocated[best]!++;
    this.#available[best]!--;
    this.#totalAllocated++;
    this.#globalAvailable--;
    if (reserved) this.#globalReserved--;
    this.lastCpu = best;
    return v;
  }

  /**
   * irq_matrix_alloc_managed: activates a managed reservation on the online CPU of `mask` with the
   * fewest managed allocations (the last such CPU on ties, as matrix_find_best_cpu_managed).
   */
  allocManaged(mask: Cpumask): number {
    let best = -1;
    let fewest = Infinity;
    for (const cpu of mask) {
      if (this.#online[cpu] === 0 || this.#managedAllocated[cpu]! > fewest) continue;
      best = cpu;
      fewest = this.#managedAllocated[cpu]!;
    }
    if (best < 0) throw new ImsimError("ENOSPC", `no online CPU in ${mask.toList()} for a managed vector`);
    const base = best * this.matrixBits;
    for (let v = this.allocStart; v < this.allocEnd; v++) {
      if (this.#managedMap[base + v] === 1 && this.#allocMap[base + v] === 0) {
        this.#allocMap[base + v] = 1;
        this.#allocated[best]!++;
        this.#managedAllocated[best]!++;
        this.#totalAllocated++;
        this.lastCpu = best;
        return v;
      }
    }
    throw new ImsimError("ENOSPC", `CPU${best} has no managed reservation left`);
  }

  /** irq_matrix_free: releases `vector` of `cpu` (a managed one goes back to its reservation). */
  free(cpu: number, vector: number, managed: boolean): void {
    const at = cpu * this.matrixBits + vector;
    if (vector < this.allocStart || vector >= this.allocEnd || this.#allocMap[at] === 0) {
      throw new ImsimError("ENOENT", `vector ${vector} of CPU${cpu} is not allocated`);
    }
    this.#allocMap[at] = 0;
    this.#allocated[cpu]!--;
    if (managed) this.#managedAllocated[cpu]!--;
    if (this.#online[cpu] === 1) this.#totalAllocated--;
    if (!managed) {
      this.#available[cpu]!++;
      if (this.#online[cpu] === 1) this.#globalAvailable++;
    }
  }

  /** The exact reverse of free(): an undo puts a freed vector back with the counts it had. */
  reclaim(cpu: number, vector: number, managed: boolean): void {
    const at = cpu * this.matrixBits + vector;
    if (this.#allocMap[at] === 1) throw new ImsimError("EBUSY", `vector ${vector} of CPU${cpu} is allocated again`);
    this.#allocMap[at] = 1;
    this.#allocated[cpu]!++;
    if (managed) this.#managedAllocated[cpu]!++;
    if (this.#online[cpu] === 1) this.#totalAllocated++;
    if (!managed) {
      this.#available[cpu]!--;
      if (this.#online[cpu] === 1) this.#globalAvailable--;
    }
  }

  /** irq_matrix_available(cpudown): vectors available on the online CPUs, minus `cpu`'s when it goes down. */
  availableWithout(cpu: number): number {
    return this.#globalAvailable - (this.#online[cpu] === 1 ? this.#available[cpu]! : 0);
  }
  /** irq_matrix_allocated: non-managed vectors allocated on `cpu`. */
  allocatedOn(cpu: number): number {
    return this.#allocated[cpu]! - this.#managedAllocated[cpu]!;
  }
}
