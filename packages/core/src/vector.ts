// arch/x86/kernel/apic/vector.c: the x86 VECTOR domain, root of every interrupt hierarchy. An
// interrupt gets a reservation at allocation and a real vector at activation (reservation mode);
// managed interrupts reserve per CPU; a move keeps the old vector until the first interrupt on the
// new one and a cleanup timer a jiffy later (move_in_progress, cleanup_pending).
import { ImsimError } from "./errors.js";
import { Cpumask } from "./cpumask.js";
import { IrqMatrix } from "./matrix.js";
import {
  DOMAIN_BUS_ANY,
  IRQ_DOMAIN_FLAG_HIERARCHY,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  IRQ_DOMAIN_NAME_ALLOCATED,
  IRQ_SET_MASK_OK,
  IrqDomain,
  irqDataAt,
  type IrqAllocInfo,
  type IrqData,
  type IrqDomainOps,
} from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";
import { composeCompat, type MsiMsg } from "./msi-message.js";
import { ApicData, APIC_CHIP, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR, MANAGED_IRQ_SHUTDOWN_VECTOR, NR_VECTORS, apicDataOf } from "./vector-layout.js";

export * from "./vector-layout.js";
import { X86_VECTOR_MSI_FLAGS_SUPPORTED } from "./msi-flags.js";

/** What the vector domain needs from the rest of the system. */
export interface VectorEnv {
  readonly nrCpus: number;
  readonly online: Cpumask;
  /** Anything that changes where an interrupt goes drops the cached routes. */
  invalidateRoutes(): void;
  /** Fault injection point "vector-alloc". */
  maybeFail(point: "vector-alloc"): void;
}

/**
 * The VECTOR domain and what it owns: the irq matrix, the per-CPU vector → irq tables
 * (vector_irq), and the per-CPU cleanup lists with their timers.
 */
export class VectorDomain {
  readonly domain: IrqDomain;
  readonly matrix: IrqMatrix;
  readonly #env: VectorEnv;
  /** vector_irq: cpu * 256 + vector → virq (0 unused). */
  readonly #vectorIrq: Int32Array;
  /** Per CPU: interrupts whose previous vector on that CPU waits for cleanup. */
  readonly #cleanup: Set<ApicData>[];
  /** Per CPU: jiffy at which its cleanup timer fires, -1 when not armed. */
  readonly #timer: Float64Array;
  #jiffies = 0;
  readonly #byApic = new Map<ApicData, IrqDesc>();

  constructor(env: VectorEnv, systemVectors: readonly number[]) {
    this.#env = env;
    this.matrix = new IrqMatrix(env.nrCpus, NR_VECTORS, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR);
    for (const v of systemVectors) this.matrix.assignSystem(v);
    this.#vectorIrq = new Int32Array(env.nrCpus * NR_VECTORS);
    this.#cleanup = Array.from({ length: env.nrCpus }, () => new Set<ApicData>());
    this.#timer = new Float64Array(env.nrCpus).fill(-1);
    const ops: IrqDomainOps = {
      alloc: (_d, descs, arg) => this.#alloc(descs, arg),
      free: (_d, descs) => {
        for (const desc of descs) this.#release(desc);
      },
      activate: (_d, data, reserve) => this.#activate(data, reserve),
      deactivate: (_d, data) => this.#deactivate(data),
      setAffinity: (data, mask) => this.#setAffinity(data, mask),
      composeMsg: (data, msg) => this.#compose(data, msg),
    };
    this.domain = new IrqDomain({
      name: "VECTOR",
      busToken: DOMAIN_BUS_ANY,
      parent: undefined,
      ops,
      flags: IRQ_DOMAIN_FLAG_HIERARCHY | IRQ_DOMAIN_NAME_ALLOCATED | IRQ_DOMAIN_FLAG_MSI_PARENT,
      msiParent: { prefix: "", supportedFlags: X86_VECTOR_MSI_FLAGS_SUPPORTED },
    });
  }

  get jiffies(): number {
    return this.#jiffies;
  }

  /** The virq bound to `vector` on `cpu`, 0 when none (hot path). */
  lookup(cpu: number, vector: number): number {
    return this.#vectorIrq[(cpu << 8) | (vector & 0xff)] ?? 0;
  }

  #alloc(descs: readonly IrqDesc[], arg: IrqAllocInfo): void {
    const done: IrqDesc[] = [];
    try {
      for (const desc of descs) {
        const data = irqDataAt(desc, this.domain)!;
        const apicd = new ApicData();
        data.hwirq = desc.virq;
        data.chip = APIC_CHIP;
        data.chipData = apicd;
        desc.singleTarget = true;
        desc.handleEnforceIrqctx = true;
        desc.affinityOnActivate = true;
        if (arg.legacyVector !== undefined) {
          // vector_configure_legacy: the boot vector on CPU0 stays (the timer's, 0x30).
          apicd.legacy = true;
          this.#setVector(desc, apicd, arg.legacyVector, 0);
          this.#updateCfg(desc, apicd, arg.legacyVector, 0);
        } else if (desc.managed) {
          this.#env.maybeFail("vector-alloc");
          this.matrix.reserveManaged(desc.affinity);
          apicd.isManaged = true;
          this.#assignShutdown(desc, apicd);
        } else {
          this.#env.maybeFail("vector-alloc");
          this.#reserve(desc, apicd);
        }
        this.#byApic.set(apicd, desc);
        done.push(desc);
      }
    } catch (e) {
      for (const d of done.reverse()) this.#release(d);
      throw e;
    }
  }

  /** reserve_irq_vector_locked: a global reservation, the shutdown vector until activation. */
  #reserve(desc: IrqDesc, apicd: ApicData): void {
    this.matrix.reserve();
    apicd.canReserve = true;
    apicd.hasReserved = true;
    desc.canReserve = true;
    this.#assignShutdown(desc, apicd);
  }

  /** vector_assign_managed_shutdown: target the shutdown vector on the first online CPU. */
  #assignShutdown(desc: IrqDesc, apicd: ApicData): void {
    this.#updateCfg(desc, apicd, MANAGED_IRQ_SHUTDOWN_VECTOR, this.#env.online.first());
  }

  /** apic_update_irq_cfg: what the message will target; the effective affinity follows. */
  #updateCfg(desc: IrqDesc, apicd: ApicData, vector: number, cpu: number): void {
    apicd.hwVector = vector;
    apicd.hwCpu = cpu;
    desc.effectiveCpu = cpu;
    desc.effectiveMask = undefined;
    this.#env.invalidateRoutes();
  }

  /** clear_irq_vector + vector_free_reserved_and_managed. */
  #release(desc: IrqDesc): void {
    const apicd = apicDataOf(desc);
    if (!apicd) return;
    this.#clearVector(desc, apicd);
    if (apicd.hasReserved) this.matrix.removeReserved();
    if (apicd.isManaged) this.matrix.removeManaged(desc.affinity);
    apicd.hasReserved = false;
    this.#byApic.delete(apicd);
  }

  /** clear_irq_vector: frees the current vector and a previous one still held by a move. */
  #clearVector(desc: IrqDesc, apicd: ApicData): void {
    if (apicd.vector === 0) return;
    const managed = desc.managed;
    this.#vectorIrq[apicd.cpu * NR_VECTORS + apicd.vector] = 0;
    this.matrix.free(apicd.cpu, apicd.vector, managed);
    apicd.vector = 0;
    if (apicd.prevVector !== 0) {
      this.#vectorIrq[apicd.prevCpu * NR_VECTORS + apicd.prevVector] = 0;
      this.matrix.free(apicd.prevCpu, apicd.prevVector, managed);
      apicd.prevVector = 0;
      apicd.moveInProgress = false;
    }
    if (apicd.cleanupPending) {
      this.#cleanup[apicd.prevCpu]!.delete(apicd);
      apicd.cleanupPending = false;
    }
    this.#env.invalidateRoutes();
  }

  /** apic_update_vector: binds the new vector; an old one on an online CPU is kept as the move's previous vector. */
  #setVector(desc: IrqDesc, apicd: ApicData, vector: number, cpu: number): void {
    apicd.prevVector = 0;
    if (apicd.vector !== 0 && apicd.vector !== MANAGED_IRQ_SHUTDOWN_VECTOR) {
      if (this.#env.online.has(apicd.cpu)) {
        apicd.moveInProgress = true;
        apicd.prevVector = apicd.vector;
        apicd.prevCpu = apicd.cpu;
      } else {
        this.#vectorIrq[apicd.cpu * NR_VECTORS + apicd.vector] = 0;
        this.matrix.free(apicd.cpu, apicd.vector, desc.managed);
      }
    }
    apicd.vector = vector;
    apicd.cpu = cpu;
    this.#vectorIrq[cpu * NR_VECTORS + vector] = desc.virq;
    this.#env.invalidateRoutes();
  }

  /**
   * assign_vector_locked: nothing to do while the current target is online and in `dest`; EBUSY
   * while a move or its cleanup is still pending; else a new vector from the matrix.
   */
  #assignVector(desc: IrqDesc, apicd: ApicData, dest: Cpumask): void {
    if (apicd.vector !== 0 && this.#env.online.has(apicd.cpu) && dest.has(apicd.cpu)) return;
    if (apicd.moveInProgress || apicd.cleanupPending) {
      throw new ImsimError("EBUSY", `virq ${desc.virq} is still moving from vector ${apicd.prevVector} of CPU${apicd.prevCpu}`);
    }
    this.#env.maybeFail("vector-alloc");
    const vector = this.matrix.alloc(dest, apicd.hasReserved);
    const cpu = this.matrix.lastCpu;
    this.#setVector(desc, apicd, vector, cpu);
    this.#updateCfg(desc, apicd, vector, cpu);
  }

  /** assign_irq_vector_any_locked: the affinity's online CPUs first, then any online CPU (affinity broken). */
  #assignAny(desc: IrqDesc, apicd: ApicData): void {
    const within = desc.affinity.and(this.#env.online);
    if (!within.isEmpty) {
      try {
        this.#assignVector(desc, apicd, within);
        return;
      } catch (e) {
        if (!(e instanceof ImsimError) || e.code !== "ENOSPC") throw e;
      }
    }
    this.#assignVector(desc, apicd, this.#env.online);
  }

  /** assign_managed_vector: a managed reservation of a CPU in affinity ∩ `dest`. */
  #assignManaged(desc: IrqDesc, apicd: ApicData, dest: Cpumask): void {
    const search = dest.and(desc.affinity);
    if (apicd.vector !== 0 && search.has(apicd.cpu)) return;
    this.#env.maybeFail("vector-alloc");
    const vector = this.matrix.allocManaged(search);
    const cpu = this.matrix.lastCpu;
    this.#setVector(desc, apicd, vector, cpu);
    this.#updateCfg(desc, apicd, vector, cpu);
  }

  /** x86_vector_activate, with the exact undo of what it did. */
  #activate(data: IrqData, reserve: boolean): () => void {
    const desc = data.desc;
    const apicd = data.chipData as ApicData;
    const before = { ...apicd };
    const effective = { cpu: desc.effectiveCpu, mask: desc.effectiveMask, canReserve: desc.canReserve };
    this.#doActivate(desc, apicd, reserve);
    return () => {
      if (apicd.vector !== 0 && apicd.vector !== before.vector) {
        this.#vectorIrq[apicd.cpu * NR_VECTORS + apicd.vector] = 0;
        this.matrix.free(apicd.cpu, apicd.vector, desc.managed);
        // The allocation consumed the reservation (irq_matrix_alloc with reserved): give it back.
        if (before.hasReserved && !apicd.hasReserved) this.matrix.reserve();
      }
      Object.assign(apicd, before);
      desc.effectiveCpu = effective.cpu;
      desc.effectiveMask = effective.mask;
      desc.canReserve = effective.canReserve;
      this.#env.invalidateRoutes();
    };
  }

  #doActivate(desc: IrqDesc, apicd: ApicData, reserve: boolean): void {
    if (apicd.legacy) return;
    if (!apicd.canReserve && !apicd.isManaged) this.#assignAny(desc, apicd);
    else if (reserve || desc.managedShutdown) this.#assignShutdown(desc, apicd);
    else if (apicd.isManaged) {
      const search = desc.affinity.and(this.#env.online);
      if (search.isEmpty) throw new ImsimError("EINVAL", `managed startup of virq ${desc.virq}, but no CPU of ${desc.affinity.toList()} is online`);
      this.#assignManaged(desc, apicd, search);
    } else if (apicd.hasReserved) {
      this.#assignAny(desc, apicd);
      apicd.hasReserved = false;
      if (!desc.canReserve) apicd.canReserve = false;
    }
  }

  /** x86_vector_deactivate: back to a reservation (or, managed, the shutdown vector). */
  #deactivate(data: IrqData): void {
    const desc = data.desc;
    const apicd = data.chipData as ApicData;
    if (apicd.legacy) return;
    if (!apicd.isManaged && !apicd.canReserve) return;
    if (apicd.hasReserved) return;
    this.#clearVector(desc, apicd);
    if (apicd.canReserve) this.#reserve(desc, apicd);
    else this.#assignShutdown(desc, apicd);
  }

  /** apic_set_affinity: a vector on a CPU of `dest` ∩ online. */
  #setAffinity(data: IrqData, dest: Cpumask): number {
    const desc = data.desc;
    const apicd = data.chipData as ApicData;
    if (!desc.activated) throw new ImsimError("EIO", `virq ${desc.virq} is not activated: no vector to move`);
    const search = dest.and(this.#env.online);
    if (apicd.isManaged) this.#assignManaged(desc, apicd, search);
    else this.#assignVector(desc, apicd, search);
    return IRQ_SET_MASK_OK;
  }

  /**
   * A checkpoint of `desc`'s vector state: the returned function puts back exactly what a move
   * changed (the new vector freed, an old one freed at once because its CPU was offline taken back),
   * for a caller whose next step failed (an injected message-write failure; the kernel cannot fail there).
   */
  checkpoint(desc: IrqDesc): () => void {
    const apicd = apicDataOf(desc);
    if (!apicd) return () => undefined;
    const before = { ...apicd };
    const effective = { cpu: desc.effectiveCpu, mask: desc.effectiveMask };
    const held = (cpu: number, vector: number) => vector !== 0 && vector !== MANAGED_IRQ_SHUTDOWN_VECTOR && this.#vectorIrq[cpu * NR_VECTORS + vector] === desc.virq;
    return () => {
      const managed = desc.managed;
      const keep = new Set([`${before.cpu}:${before.vector}`, `${before.prevCpu}:${before.prevVector}`]);
      for (const [cpu, vector] of [
        [apicd.cpu, apicd.vector],
        [apicd.prevCpu, apicd.prevVector],
      ] as const) {
        if (held(cpu, vector) && !keep.has(`${cpu}:${vector}`)) {
          this.#vectorIrq[cpu * NR_VECTORS + vector] = 0;
          this.matrix.free(cpu, vector, managed);
        }
      }
      for (const [cpu, vector] of [
        [before.cpu, before.vector],
        [before.prevCpu, before.prevVector],
      ] as const) {
        if (vector !== 0 && vector !== MANAGED_IRQ_SHUTDOWN_VECTOR && !held(cpu, vector)) {
          this.matrix.reclaim(cpu, vector, managed);
          this.#vectorIrq[cpu * NR_VECTORS + vector] = desc.virq;
        }
      }
      if (apicd.cleanupPending && !before.cleanupPending) this.#cleanup[apicd.prevCpu]!.delete(apicd);
      if (before.cleanupPending && !apicd.cleanupPending) this.#cleanup[before.prevCpu]!.add(apicd);
      Object.assign(apicd, before);
      desc.effectiveCpu = effective.cpu;
      desc.effectiveMask = effective.mask;
      this.#env.invalidateRoutes();
    };
  }

  /** x86_vector_msi_compose_msg: the compatibility format to the target's APIC id (= CPU number here). */
  #compose(data: IrqData, msg: MsiMsg): void {
    const apicd = data.chipData as ApicData;
    const m = composeCompat(apicd.hwCpu, apicd.hwVector);
    msg.addressLo = m.addressLo;
    msg.addressHi = m.addressHi;
    msg.data = m.data;
  }

  /** irq_complete_move (apic_ack_edge): the first interrupt on the new vector schedules the old one's cleanup. */
  completeMove(desc: IrqDesc, cpu: number, vector: number): void {
    const apicd = apicDataOf(desc);
    if (!apicd?.moveInProgress) return;
    if (vector === apicd.vector && cpu === apicd.cpu) this.scheduleCleanup(apicd);
  }

  /** __vector_schedule_cleanup: queue the previous vector on its CPU's list; the timer fires a jiffy later. */
  scheduleCleanup(apicd: ApicData): void {
    apicd.moveInProgress = false;
    if (apicd.prevVector === 0) return;
    const cpu = apicd.prevCpu;
    if (this.#env.online.has(cpu)) {
      this.#cleanup[cpu]!.add(apicd);
      apicd.cleanupPending = true;
      if (this.#timer[cpu]! < 0) this.#timer[cpu] = this.#jiffies + 1;
    } else {
      this.#freeMoved(apicd);
    }
    this.#env.invalidateRoutes();
  }

  /** free_moved_vector. */
  #freeMoved(apicd: ApicData): void {
    const desc = this.#byApic.get(apicd);
    this.#vectorIrq[apicd.prevCpu * NR_VECTORS + apicd.prevVector] = 0;
    this.matrix.free(apicd.prevCpu, apicd.prevVector, desc?.managed ?? false);
    apicd.prevVector = 0;
    apicd.moveInProgress = false;
    if (apicd.cleanupPending) this.#cleanup[apicd.prevCpu]!.delete(apicd);
    apicd.cleanupPending = false;
  }

  /** Advances time by `n` jiffies, running the cleanup timers that expire (vector_cleanup_callback). */
  tick(n: number): number {
    let freed = 0;
    this.#jiffies += n;
    for (let cpu = 0; cpu < this.#env.nrCpus; cpu++) {
      const at = this.#timer[cpu]!;
      if (at < 0 || at > this.#jiffies) continue;
      this.#timer[cpu] = -1;
      freed += this.#runCleanup(cpu);
    }
    if (freed > 0) this.#env.invalidateRoutes();
    return freed;
  }

  /** __vector_cleanup: frees every previous vector queued on `cpu` (the model has no IRR left pending). */
  #runCleanup(cpu: number): number {
    const list = [...this.#cleanup[cpu]!];
    for (const apicd of list) this.#freeMoved(apicd);
    return list.length;
  }

  /**
   * irq_force_complete_move: a CPU going down takes an unfinished move with it: the previous
   * vector is freed now, whether the move completed or not.
   */
  forceCompleteMove(desc: IrqDesc): void {
    const apicd = apicDataOf(desc);
    if (apicd && apicd.prevVector !== 0) this.#freeMoved(apicd);
  }

  /** lapic_offline: the CPU's pending cleanups run, its vectors leave the pool. */
  cpuOffline(cpu: number): void {
    this.#runCleanup(cpu);
    this.#timer[cpu] = -1;
    this.matrix.offline(cpu);
    this.#env.invalidateRoutes();
  }

  /** lapic_online. */
  cpuOnline(cpu: number): void {
    this.matrix.online(cpu);
    this.#env.invalidateRoutes();
  }

  /** Vectors held per CPU (current and previous ones), for resource snapshots. */
  usage(): number[] {
    return Array.from({ length: this.#env.nrCpus }, (_, c) => this.matrix.counts(c).allocated);
  }

  /** Interrupts whose previous vector is still held (moving or queued for cleanup). */
  get pendingCleanups(): number {
    let n = 0;
    for (const set of this.#cleanup) n += set.size;
    for (const a of this.#byApic.keys()) if (a.moveInProgress) n++;
    return n;
  }
}
