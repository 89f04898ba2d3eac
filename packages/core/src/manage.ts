// kernel/irq/manage.c (and the x86 side of kernel/irq/migration.c): request_irq/free_irq,
// disable/enable, and affinity: irq_set_affinity, irq_do_set_affinity, irq_setup_affinity and the
// pending move applied at the next interrupt.
import { ImsimError, describe } from "./errors.js";
import { Cpumask } from "./cpumask.js";
import type { IrqContext } from "./context.js";
import type { IrqAction, IrqDesc, IrqHandler } from "./irqdesc.js";
import { activateIrq, checkIrqResend, deactivateIrq, enableIrq, maskIrq, shutdownIrq, startupIrq, unmaskIrq } from "./chip.js";

import { IRQCHIP_AFFINITY_PRE_STARTUP } from "./msi-flags.js";

/**
 * irq_do_set_affinity: asks the top level's chip to target `mask` (x86: a vector on one of its
 * online CPUs); on success the requested affinity becomes `mask`. Throws the chip's error (EBUSY
 * while a previous move is still being cleaned up, ENOSPC without a free vector).
 */
export function doSetAffinity(ctx: IrqContext, desc: IrqDesc, mask: Cpumask, force: boolean): void {
  const data = desc.data;
  const set = data.domain.ops.setAffinity;
  if (!set) throw new ImsimError("EINVAL", `virq ${desc.virq} (${data.chip.name}) cannot be moved`);
  set(data, mask, force);
  desc.affinity = mask;
  ctx.invalidateRoutes();
}

/**
 * irq_setup_affinity: at startup a non-managed interrupt takes the default affinity unless one was
 * set (IRQD_AFFINITY_SET), restricted to online CPUs (all online ones when that is empty).
 */
export function setupAffinity(ctx: IrqContext, desc: IrqDesc): void {
  // __irq_can_set_affinity: nothing to set up for a chip that cannot move (the legacy PIC's).
  if (!desc.data.domain.ops.setAffinity) return;
  let set = ctx.defaultAffinity;
  if (desc.managed || desc.affinitySet) {
    if (desc.affinity.intersects(ctx.online)) set = desc.affinity;
    else desc.affinitySet = false;
  }
  let mask = set.and(ctx.online);
  if (mask.isEmpty) mask = ctx.online;
  doSetAffinity(ctx, desc, mask, false);
}

/**
 * irq_startup: a managed interrupt with no online CPU stays shut down (IRQD_MANAGED_SHUTDOWN,
 * restarted when one comes up); otherwise activate, set up the affinity (before startup, as the
 * x86 MSI chips ask with IRQCHIP_AFFINITY_PRE_STARTUP), start, and replay a pending interrupt.
 */
export function irqStartup(ctx: IrqContext, desc: IrqDesc, resend: boolean): void {
  desc.depth = 0;
  if (desc.started) {
    enableIrq(ctx, desc);
  } else if (desc.managed) {
    desc.managedShutdown = false;
    if (!desc.affinity.intersects(ctx.online)) {
      desc.managedShutdown = true;
      ctx.invalidateRoutes();
      return;
    }
    activateIrq(ctx, desc, false);
    doSetAffinity(ctx, desc, desc.affinity, false);
    startupIrq(ctx, desc);
  } else {
    const pre = (desc.data.chip.flags & IRQCHIP_AFFINITY_PRE_STARTUP) !== 0;
    if (pre) setupAffinity(ctx, desc);
    startupIrq(ctx, desc);
    if (!pre) setupAffinity(ctx, desc);
  }
  if (resend) checkIrqResend(ctx, desc);
}

/** The actions API of one system: request_irq, free_irq, disable_irq, enable_irq, irq_set_affinity. */
export class IrqManager {
  readonly #ctx: IrqContext;
  constructor(ctx: IrqContext) {
    this.#ctx = ctx;
  }

  /**
   * request_irq(): adds an action. The first one activates the interrupt (a real vector, a present
   * IRTE, the message written) and starts it; a raise held before is replayed. Activation can fail
   * (ENOSPC: no vector), and then nothing changed.
   */
  request(desc: IrqDesc, name: string, handler: IrqHandler, devId: unknown): void {
    if (typeof name !== "string" || name.length === 0 || name.length > 64) throw new ImsimError("EINVAL", `action name must be a 1-64 character string, got ${describe(name)}`);
    if (typeof handler !== "function") throw new ImsimError("EINVAL", `handler for virq ${desc.virq} must be a function, got ${describe(handler)}`);
    if (desc.actions.some((a) => a.name === name)) throw new ImsimError("EBUSY", `virq ${desc.virq} already has an action named ${name}`);
    const action: IrqAction = { name, handler, devId };
    const ctx = this.#ctx;
    if (desc.actions.length > 0) {
      desc.setActions([...desc.actions, action]);
      ctx.invalidateRoutes();
      return;
    }
    // irq_activate (non-managed): may fail, before anything is visible.
    const before = { depth: desc.depth, affinity: desc.affinity, affinitySet: desc.affinitySet, managedShutdown: desc.managedShutdown };
    const wasActivated = desc.activated;
    const undo = desc.managed ? () => undefined : activateIrq(ctx, desc, false);
    desc.setActions([action]);
    try {
      irqStartup(ctx, desc, false);
    } catch (e) {
      desc.setActions([]);
      shutdownIrq(ctx, desc);
      undo();
      // A managed interrupt's deactivation is exact: back to its managed reservation.
      if (desc.managed && desc.activated && !wasActivated) deactivateIrq(ctx, desc);
      Object.assign(desc, before);
      throw e;
    }
    // register_irq_proc (__setup_irq): /proc/irq/N from the first action on, kept after free_irq.
    desc.procDir = true;
    // Outside the rollback: what a replayed handler does is not part of the request.
    checkIrqResend(ctx, desc);
  }

  /**
   * free_irq(): removes the named action; the last one shuts the interrupt down and deactivates it
   * (the vector level takes back a real vector in reservation mode; the message is cleared).
   * EBUSY from the interrupt's own handler (synchronize_irq would wait for itself).
   */
  free(desc: IrqDesc, name: string): void {
    if (!desc.actions.some((a) => a.name === name)) throw new ImsimError("ENOENT", `virq ${desc.virq} has no action named ${describe(name)}`);
    if (desc.inProgress) throw new ImsimError("EBUSY", `free_irq(${desc.virq}, ${name}) from the interrupt's own handler would wait for itself (synchronize_irq)`);
    desc.setActions(desc.actions.filter((a) => a.name !== name));
    this.#ctx.invalidateRoutes();
    if (desc.actions.length === 0) this.shutdownAndDeactivate(desc);
  }

  /** irq_shutdown_and_deactivate. */
  shutdownAndDeactivate(desc: IrqDesc): void {
    shutdownIrq(this.#ctx, desc);
    deactivateIrq(this.#ctx, desc);
  }

  /**
   * disable_irq_nosync(): nests. Lazy, as for MSI in Linux: only the state changes; the entry is
   * masked when an interrupt arrives while disabled (handle_edge_irq), so the device holds later ones.
   */
  disable(desc: IrqDesc): void {
    if (desc.depth === 0xffff) throw new ImsimError("EINVAL", `virq ${desc.virq} disabled too deeply`);
    if (desc.depth++ === 0) {
      desc.disabled = true;
      this.#ctx.invalidateRoutes();
    }
  }

  /** enable_irq(): at depth 0 the interrupt is unmasked (the device sends what it held) and a pending one is resent. */
  enable(desc: IrqDesc): void {
    if (desc.depth === 0 || !desc.started) throw new ImsimError("EINVAL", `unbalanced enable for virq ${desc.virq} (${desc.started ? "not disabled" : "not requested"})`);
    if (--desc.depth === 0) irqStartup(this.#ctx, desc, true);
  }

  /**
   * irq_set_affinity(): EPERM for a managed interrupt (as writing /proc/irq/N/smp_affinity is);
   * an inactive interrupt just stores it (IRQD_AFFINITY_ON_ACTIVATE); with remapping the move is
   * immediate (only the IRTE changes), without it the move waits for the next interrupt
   * (IRQD_SETAFFINITY_PENDING); a move while the previous one is still being cleaned up waits too.
   */
  setAffinity(desc: IrqDesc, mask: Cpumask): void {
    const ctx = this.#ctx;
    // irq_can_set_affinity_usr (kernel/irq/manage.c): not for managed or IRQD_NO_BALANCING interrupts.
    if (desc.managed) throw new ImsimError("EPERM", `virq ${desc.virq} is a managed interrupt: its affinity cannot be changed`);
    if (desc.noBalancing) throw new ImsimError("EPERM", `virq ${desc.virq} was requested with IRQF_NOBALANCING: its affinity cannot be changed`);
    if (!desc.data.domain.ops.setAffinity) throw new ImsimError("EPERM", `virq ${desc.virq} (${desc.chipName}) cannot be moved: its chip has no affinity setting`);
    if (!mask.intersects(ctx.online)) throw new ImsimError("EINVAL", `affinity ${mask.toList()} for virq ${desc.virq} names no online CPU`);
    if (!desc.activated && desc.affinityOnActivate) {
      desc.affinity = mask;
      desc.effectiveMask = mask;
      desc.affinitySet = true;
      ctx.invalidateRoutes();
      return;
    }
    if (desc.movePcntxt && !desc.moveP) {
      try {
        doSetAffinity(ctx, desc, mask, false);
      } catch (e) {
        if (!(e instanceof ImsimError) || e.code !== "EBUSY") throw e;
        this.#setPending(desc, mask);
      }
    } else {
      this.#setPending(desc, mask);
    }
    desc.affinitySet = true;
  }

  #setPending(desc: IrqDesc, mask: Cpumask): void {
    desc.moveP = true;
    desc.pendingMask = mask;
    this.#ctx.invalidateRoutes();
  }

  /** irq_move_irq at the ack: the pending move happens with the entry masked; EBUSY keeps it pending. */
  moveIrq(desc: IrqDesc): void {
    const ctx = this.#ctx;
    if (desc.disabled || !desc.moveP) return;
    const wasMasked = desc.masked;
    if (!wasMasked) desc.data.chip.mask?.(desc.data);
    desc.moveP = false;
    const mask = desc.pendingMask ?? desc.affinity;
    try {
      if (mask.intersects(ctx.online)) doSetAffinity(ctx, desc, mask, false);
      desc.pendingMask = undefined;
    } catch (e) {
      if (e instanceof ImsimError && e.code === "EBUSY") desc.moveP = true;
      else desc.pendingMask = undefined;
    } finally {
      if (!wasMasked) {
        desc.masked = true;
        unmaskIrq(ctx, desc);
      }
      ctx.invalidateRoutes();
    }
  }

  /** Drops every action without the handler's cooperation (device removal: devres frees them). */
  dropActions(desc: IrqDesc): void {
    if (desc.actions.length === 0) return;
    desc.setActions([]);
    this.shutdownAndDeactivate(desc);
  }

  /** Masks the entry (used by the flow when it holds a raise). */
  mask(desc: IrqDesc): void {
    maskIrq(this.#ctx, desc);
  }
}
