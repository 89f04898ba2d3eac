// What the modules of core share: one system's CPUs, descriptors, vector domain, statistics and
// logs. IrqSystem builds it; chip.ts, manage.ts, cpuhotplug.ts, delivery.ts and msi.ts act on it.
import type { Cpumask } from "./cpumask.js";
import type { FaultLog } from "./fault-log.js";
import type { HandlerErrorLog } from "./handler-errors.js";
import type { IrqAction, IrqDesc } from "./irqdesc.js";
import type { IrqDescTable } from "./irqdesc-table.js";
import type { VectorDomain } from "./vector.js";

/** Points where a test can make the next Nth operation fail with EIO. */
export type FaultPoint = "store-write" | "vector-alloc" | "irte-alloc";

export interface DeliveryStats {
  delivered: number;
  held: number;
  faulted: number;
  spurious: number;
  /**
   * Requester-id resolutions the kernel would make: one per IRTE allocation (set_msi_sid), or one
   * when a caller resolves once for a child device and passes the result down. Queries and message
   * rewrites do not resolve.
   */
  sourceIdResolutions: number;
  /** Messages written into device stores (irq_write_msi_msg). */
  messageWrites: number;
}

/** Per-CPU counts of the architecture rows of /proc/interrupts the model produces. */
export interface ArchCounts {
  /** SPU: interrupts that reached a system-range vector nobody owns (spurious_interrupt), per CPU. */
  readonly spurious: Uint32Array;
}

export interface IrqContext {
  readonly name: string;
  readonly nrCpus: number;
  /** cpu_online_mask; replaced (immutable masks) when CPUs go down or up. */
  online: Cpumask;
  /** cpu_possible_mask: every CPU. */
  readonly allCpus: Cpumask;
  /** irq_default_affinity. */
  readonly defaultAffinity: Cpumask;
  readonly descs: IrqDescTable;
  readonly vector: VectorDomain;
  readonly stats: DeliveryStats;
  readonly arch: ArchCounts;
  readonly faults: FaultLog;
  readonly handlerErrors: HandlerErrorLog;
  /** Drops every cached delivery route: called by anything that changes where an interrupt goes. */
  invalidateRoutes(): void;
  /** Throws the injected EIO when a fault is armed at `point`. */
  maybeFail(point: FaultPoint): void;
  /** irq_move_irq: applies a pending affinity move at an interrupt's ack. */
  moveIrq(desc: IrqDesc): void;
  /** Reports an error a handler threw (hook or log). */
  handlerFailed(desc: IrqDesc, action: IrqAction, error: unknown): void;
}
