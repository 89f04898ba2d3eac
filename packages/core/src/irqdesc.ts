// kernel/irq/irqdesc.c: Linux irq numbers (virqs), their descriptors, per-CPU counts, nr_irqs.
import { ImsimError, checkInt } from "./errors.js";
import type { Cpumask } from "./cpumask.js";
import type { IrqData } from "./irqdomain.js";
import type { MsiDesc } from "./msi-desc.js";

/** An interrupt handler: Linux's irq_handler_t (irq, dev_id). Called on the delivery path. */
export type IrqHandler = (virq: number, devId: unknown) => void;

/** One requested handler of a virq (struct irqaction; its `name` shows in /proc/interrupts). */
export interface IrqAction {
  readonly name: string;
  readonly handler: IrqHandler;
  readonly devId: unknown;
}

/** The flow handler of an interrupt and the name /proc/interrupts prints after its hwirq. */
export type FlowHandler = "handle_edge_irq" | "handle_fasteoi_irq" | "handle_level_irq";

const NO_COUNTS = new Uint32Array(0);

/**
 * Per-virq state (struct irq_desc with its irq_common_data). `data` is the top level of the
 * interrupt's hierarchy (irq_desc::irq_data); the state booleans are the IRQD_* bits of
 * irq_common_data and the IRQS_* bits of istate, kept as fields so the delivery path reads them
 * directly (the views build the kernel's words from them).
 */
export class IrqDesc {
  // The fields the delivery fast path reads come first, so that they share the first cache lines.
  readonly virq: number;
  /** IRQD_IRQ_INPROGRESS: its actions are running; a raise now is marked pending, not nested. */
  inProgress = false;
  /** IRQS_PENDING: arrived while it could not run; replayed once (resend) when it can. */
  pending = false;
  /** IRQD_IRQ_DISABLED. */
  disabled = true;
  /** IRQD_IRQ_STARTED. */
  started = false;
  /**
   * Interrupts handled on the effective CPU by the delivery fast path and not yet added to the
   * per-CPU counts: one field increment instead of a typed-array store per interrupt. Folded into
   * the counts whenever they are read and whenever the effective CPU changes.
   */
  hotCount = 0;
  #effectiveCpu = -1;
  /** kstat_irqs per CPU; allocated when the interrupt is first started. */
  #kstat: Uint32Array = NO_COUNTS;
  /** The action list (irqaction chain); replace it only through `setActions`, which keeps `sole` in step. */
  actions: IrqAction[] = [];
  /** The only action when there is exactly one (the common case the fast path calls directly), else undefined. */
  sole: IrqAction | undefined = undefined;
  /** note_interrupt(): interrupts seen, unhandled ones and when the last was (ms), for /proc/irq/N/spurious. */
  irqCount = 0;
  /** IRQD_IRQ_MASKED: masked at the chip. */
  masked = true;
  /** IRQD_SETAFFINITY_PENDING: a move waits for the next interrupt (pendingMask). */
  moveP = false;
  /** Top level of the hierarchy (the device's domain for MSI). */
  data!: IrqData;
  /** NUMA node (irq_common_data.node); NUMA_NO_NODE (-1) where the device has none. */
  readonly node: number;
  flow: FlowHandler = "handle_edge_irq";
  /** IRQD_LEVEL: level-triggered (IO-APIC lines with fasteoi). */
  level = false;
  /** desc->dev_name: the device the interrupt belongs to (debugfs "device:"). */
  devName: string | undefined = undefined;
  /** The MSI descriptor for MSI/MSI-X/IMS interrupts (irq_common_data.msi_desc). */
  msiDesc: MsiDesc | undefined = undefined;
  /** disable_irq() depth; 1 until the interrupt is started (desc_set_defaults). */
  depth = 1;
  wakeDepth = 0;
  /** IRQD_ACTIVATED: the hierarchy holds real resources (vector, IRTE) and the message is written. */
  activated = false;
  /** IRQD_AFFINITY_MANAGED: spread by the kernel; user space cannot move it. */
  managed = false;
  /** IRQD_MANAGED_SHUTDOWN: every CPU of its mask went offline. */
  managedShutdown = false;
  /** IRQD_CAN_RESERVE: may sit on a reserved vector while not started. */
  canReserve = false;
  /** IRQD_AFFINITY_SET: an affinity was set explicitly. */
  affinitySet = false;
  /** IRQD_MOVE_PCNTXT: may be moved in process context (interrupt remapping sets it). */
  movePcntxt = false;
  /** IRQD_AFFINITY_ON_ACTIVATE: the x86 vector domain defers affinity changes of inactive interrupts to activation. */
  affinityOnActivate = false;
  /** IRQD_SINGLE_TARGET: one CPU at a time (the x86 vector domain). */
  singleTarget = false;
  /** Requested CPUs (irq_common_data.affinity): /proc/irq/N/smp_affinity. */
  affinity: Cpumask;
  /** desc->pending_mask while moveP. */
  pendingMask: Cpumask | undefined = undefined;
  /**
   * The effective affinity when it is not one CPU: an affinity set while the interrupt was not
   * activated is taken as the effective mask until activation (irq_set_affinity_deactivated).
   */
  effectiveMask: Cpumask | undefined = undefined;
  unhandled = 0;
  lastUnhandled = 0;
  /** IRQD_HANDLE_ENFORCE_IRQCTX: set with the x86 vector level (only handled in interrupt context). */
  handleEnforceIrqctx = false;
  /** IRQD_NO_BALANCING (and IRQ_NO_BALANCING): requested with IRQF_NOBALANCING (the timer); user space cannot move it. */
  noBalancing = false;
  /** IRQS_ONESHOT: requested with IRQF_ONESHOT on a chip that is not IRQCHIP_ONESHOT_SAFE (the ACPI SCI on the IO-APIC). */
  oneshot = false;
  /**
   * /proc/irq/N exists: made for every descriptor with a chip at boot (init_irq_proc) and later when
   * the first action is set up (register_irq_proc from __setup_irq); kept until the descriptor goes.
   */
  procDir = false;

  constructor(virq: number, affinity: Cpumask, node: number) {
    this.virq = virq;
    this.affinity = affinity;
    this.node = node;
  }

  /** The deepest level (the root domain's irq data), or undefined before allocation. */
  get bottom(): IrqData | undefined {
    let d: IrqData | undefined = this.data as IrqData | undefined;
    while (d?.parent) d = d.parent;
    return d;
  }
  /** The vector held at the VECTOR level (apic_chip_data::vector), 0 while none (reserved or shut down). */
  get vector(): number {
    const c = this.bottom?.chipData as { vector?: unknown } | undefined;
    return typeof c?.vector === "number" ? c.vector : 0;
  }
  /** The IRTE index at the remapping level, -1 without remapping. */
  get irte(): number {
    for (let d: IrqData | undefined = this.data as IrqData | undefined; d; d = d.parent) {
      const c = d.chipData as { irte?: unknown } | undefined;
      if (typeof c?.irte === "number") return c.irte;
    }
    return -1;
  }
  get chipName(): string {
    return this.data.chip.name;
  }
  /** hwirq of the top level: the MSI index for device interrupts. */
  get hwirq(): number {
    return this.data.hwirq;
  }
  get enabled(): boolean {
    return this.started && this.depth === 0;
  }
  get total(): number {
    const counts = this.counts;
    let n = 0;
    for (let i = 0; i < counts.length; i++) n += counts[i]!;
    return n;
  }
  /** Replaces the action list (a new array each time: a running flow keeps iterating the old one). */
  setActions(actions: IrqAction[]): void {
    this.actions = actions;
    this.sole = actions.length === 1 ? actions[0] : undefined;
  }

  /** The CPU the interrupt targets now (effective affinity, a single CPU on x86); -1 while none. */
  get effectiveCpu(): number {
    return this.#effectiveCpu;
  }
  set effectiveCpu(cpu: number) {
    this.#foldHotCount();
    this.#effectiveCpu = cpu;
  }

  /** kstat_irqs: interrupts handled per CPU (unsigned 32-bit, wrapping as the kernel's do). */
  get counts(): Uint32Array {
    this.#foldHotCount();
    return this.#kstat;
  }

  #foldHotCount(): void {
    const n = this.hotCount;
    if (n === 0) return;
    this.hotCount = 0;
    const cpu = this.#effectiveCpu;
    if (cpu >= 0 && cpu < this.#kstat.length) this.#kstat[cpu] = (this.#kstat[cpu]! + n) >>> 0;
  }

  /** @internal Allocates the per-CPU counts (kstat) at the first startup. */
  ensureCounts(nrCpus: number): void {
    if (this.#kstat.length === 0) this.#kstat = new Uint32Array(nrCpus);
  }
}

/** NR_IRQS_LEGACY (arch/x86/include/asm/irq_vectors.h): the ISA interrupts 0-15. */
export const NR_IRQS_LEGACY = 16;

/**
 * Linux irq numbers: handed out lowest-free from a lower bound, as irq_find_free_area does over
 * the sparse-irq maple tree (kernel/irq/irqdesc.c). 0 is never valid. `nrIrqs` is the kernel's
 * nr_irqs: set at boot (arch_probe_nr_irqs) and raised when an allocation reaches past it
 * (irq_expand_nr_irqs); /proc/interrupts sizes its first column from it.
 */
export class IrqSpace {
  /** Hard limit: one past the highest virq that may exist (MAX_SPARSE_IRQS here). */
  readonly limit: number;
  #used: Uint8Array;
  #count = 0;
  /** Lowest number with no free number in [lowerBound, hint). */
  #hint: number;
  readonly lowerBound: number;
  #nrIrqs: number;

  constructor(limit: number, lowerBound: number, nrIrqs: number) {
    checkInt(limit, lowerBound + 1, 1 << 26, "virq space size");
    this.limit = limit;
    this.lowerBound = lowerBound;
    this.#hint = lowerBound;
    this.#nrIrqs = nrIrqs;
    this.#used = new Uint8Array(Math.min(limit, Math.max(nrIrqs, 64)));
  }

  get inUse(): number {
    return this.#count;
  }
  get nrIrqs(): number {
    return this.#nrIrqs;
  }
  isAllocated(virq: number): boolean {
    return virq >= 0 && virq < this.#used.length && this.#used[virq] === 1;
  }

  #grow(to: number): void {
    if (to <= this.#used.length) return;
    const next = new Uint8Array(Math.min(this.limit, Math.max(to, this.#used.length * 2)));
    next.set(this.#used);
    this.#used = next;
  }

  /** Claims a fixed number (a legacy interrupt). EBUSY when taken. */
  claim(virq: number): void {
    this.#grow(virq + 1);
    if (this.#used[virq] === 1) throw new ImsimError("EBUSY", `virq ${virq} is already allocated`);
    this.#used[virq] = 1;
    this.#count++;
    if (virq >= this.#nrIrqs) this.#nrIrqs = virq + 1;
  }

  /** Allocates `count` contiguous dynamic numbers (≥ lowerBound), lowest first; returns the first. */
  alloc(count = 1): number {
    let start = this.#hint;
    while (start + count <= this.limit) {
      this.#grow(start + count);
      let run = 0;
      while (run < count && this.#used[start + run] === 0) run++;
      if (run === count) {
        for (let i = 0; i < count; i++) this.#used[start + i] = 1;
        this.#count += count;
        if (start === this.#hint) while (this.#hint < this.#used.length && this.#used[this.#hint] === 1) this.#hint++;
        if (start + count > this.#nrIrqs) this.#nrIrqs = start + count;
        return start;
      }
      start += run + 1;
    }
    throw new ImsimError("ENOSPC", `no ${count} contiguous free virqs below ${this.limit} (${this.#count} in use)`);
  }

  free(virq: number): void {
    if (!this.isAllocated(virq)) throw new ImsimError("ENOENT", `virq ${virq} is not allocated`);
    this.#used[virq] = 0;
    this.#count--;
    if (virq >= this.lowerBound && virq < this.#hint) this.#hint = virq;
  }
}
