// kernel/irq/chip.c (with kernel/irq/handle.c, resend.c, spurious.c, migration.c): the edge flow
// handler, startup and shutdown, masking, resend, and the accounting of handled interrupts.
import { activateLevel, deactivateLevel } from "./irqdomain.js";
import type { IrqContext } from "./context.js";
import type { IrqAction, IrqDesc } from "./irqdesc.js";
import { apicDataOf } from "./vector.js";

/** Outcome of one interrupt write (numbers, so the hot path returns without allocating). */
export const DELIVERED = 0;
/** Held: the store entry was masked (pending bit set) or the interrupt could not run (IRQS_PENDING). */
export const HELD = 1;
/** Refused by interrupt remapping or not an interrupt address; see the fault log. */
export const FAULTED = 2;
/** Reached a CPU vector nobody owns. */
export const SPURIOUS = 3;
export type DeliveryResult = typeof DELIVERED | typeof HELD | typeof FAULTED | typeof SPURIOUS;

/** mask_irq: masks at the top level's chip (the device's store entry). */
export function maskIrq(ctx: IrqContext, desc: IrqDesc): void {
  if (desc.masked) return;
  desc.data.chip.mask?.(desc.data);
  desc.masked = true;
  ctx.invalidateRoutes();
}

/** unmask_irq: the device then sends what its pending bit held. */
export function unmaskIrq(ctx: IrqContext, desc: IrqDesc): void {
  if (!desc.masked) return;
  desc.masked = false;
  ctx.invalidateRoutes();
  desc.data.chip.unmask?.(desc.data);
}

/**
 * irq_domain_activate_irq: the hierarchy takes real resources; IRQD_ACTIVATED. Returns the exact
 * undo of what it did (nothing when it was activated already).
 */
export function activateIrq(ctx: IrqContext, desc: IrqDesc, reserve: boolean): () => void {
  if (desc.activated) return () => undefined;
  const undo = activateLevel(desc.data, reserve);
  desc.activated = true;
  ctx.invalidateRoutes();
  return () => {
    undo();
    desc.activated = false;
    ctx.invalidateRoutes();
  };
}

/** irq_domain_deactivate_irq. */
export function deactivateIrq(ctx: IrqContext, desc: IrqDesc): void {
  if (!desc.activated) return;
  deactivateLevel(desc.data);
  desc.activated = false;
  ctx.invalidateRoutes();
}

/**
 * __irq_startup + irq_enable: activates (no-op when activated), clears the disabled state and
 * unmasks. The per-CPU counts are allocated at the first startup.
 */
export function startupIrq(ctx: IrqContext, desc: IrqDesc): void {
  activateIrq(ctx, desc, false);
  desc.ensureCounts(ctx.nrCpus);
  desc.started = true;
  desc.disabled = false;
  ctx.invalidateRoutes();
  unmaskIrq(ctx, desc);
}

/** irq_enable: a started interrupt leaves the disabled state and is unmasked. */
export function enableIrq(ctx: IrqContext, desc: IrqDesc): void {
  desc.disabled = false;
  ctx.invalidateRoutes();
  unmaskIrq(ctx, desc);
}

/**
 * irq_shutdown: masked and disabled, no longer started; the disable depth goes up so that a
 * managed shutdown keeps a user's disable across the CPU coming back.
 */
export function shutdownIrq(ctx: IrqContext, desc: IrqDesc): void {
  if (!desc.started) return;
  desc.depth++;
  desc.disabled = true;
  maskIrq(ctx, desc);
  desc.started = false;
  ctx.invalidateRoutes();
}

/** check_irq_resend: an interrupt marked pending is retriggered (an IPI to its vector on x86). */
export function checkIrqResend(ctx: IrqContext, desc: IrqDesc): void {
  if (!desc.pending || !desc.started || desc.depth !== 0) return;
  const apicd = apicDataOf(desc);
  handleEdgeIrq(ctx, desc, desc.effectiveCpu, apicd?.vector ?? 0);
}

/**
 * handle_edge_irq: an interrupt whose handler is running, that is disabled or has no action is
 * marked pending (IRQS_PENDING) and masked; otherwise it is counted, acked (x86: a move completes
 * or a pending move is applied, irq_complete_move / irq_move_irq) and its actions run, again while
 * a raise arrived meanwhile (unmasking first), so handlers of one interrupt never nest.
 */
export function handleEdgeIrq(ctx: IrqContext, desc: IrqDesc, cpu: number, vector: number): DeliveryResult {
  if (desc.inProgress || desc.disabled || desc.actions.length === 0 || !desc.started) {
    desc.pending = true;
    maskIrq(ctx, desc);
    ctx.stats.held++;
    return HELD;
  }
  desc.counts[cpu]!++;
  ctx.stats.delivered++;
  ackIrq(ctx, desc, cpu, vector);
  return runActions(ctx, desc);
}

/** The x86 ack of an edge interrupt (apic_ack_edge): complete a move, apply a pending move. */
function ackIrq(ctx: IrqContext, desc: IrqDesc, cpu: number, vector: number): void {
  if (!desc.movePcntxt) ctx.vector.completeMove(desc, cpu, vector);
  if (desc.moveP) ctx.moveIrq(desc);
}

/**
 * The loop of handle_edge_irq with handle_irq_event: run every action with IRQD_IRQ_INPROGRESS
 * set; a throwing action does not stop the others or the flow (its error is reported); repeat
 * while a raise arrived meanwhile and the interrupt is still enabled and allocated.
 */
export function runActions(ctx: IrqContext, desc: IrqDesc): DeliveryResult {
  // The common case: one action, nothing pending before or after, no error.
  const a = desc.sole;
  if (a !== undefined && !desc.pending) {
    desc.inProgress = true;
    try {
      a.handler(desc.virq, a.devId);
    } catch (e) {
      desc.inProgress = false;
      return finishAfterThrow(ctx, desc, a, e);
    }
    desc.inProgress = false;
    if (desc.irqCount < 99_999) desc.irqCount++;
    else noteInterrupt(ctx, desc, true);
    return desc.pending ? runActionsLoop(ctx, desc, undefined, false) : DELIVERED;
  }
  return runActionsLoop(ctx, desc, undefined, true);
}

/** The single action threw: report it, count it unhandled, then replay what arrived meanwhile. */
function finishAfterThrow(ctx: IrqContext, desc: IrqDesc, action: IrqAction, error: unknown): DeliveryResult {
  let hookError: unknown = undefined;
  try {
    ctx.handlerFailed(desc, action, error);
  } catch (h) {
    hookError = h;
  }
  noteInterrupt(ctx, desc, false);
  return runActionsLoop(ctx, desc, hookError, false);
}

/** Runs every action (first at once when `runNow`), again while a raise arrived meanwhile. */
function runActionsLoop(ctx: IrqContext, desc: IrqDesc, hookError: unknown, runNow: boolean): DeliveryResult {
  while (runNow || (desc.pending && !desc.disabled && desc.started && ctx.descs.get(desc.virq) === desc)) {
    runNow = false;
    if (desc.pending) {
      desc.pending = false;
      if (!desc.disabled && desc.masked) unmaskIrq(ctx, desc);
    }
    desc.inProgress = true;
    let handled = false;
    const actions = desc.actions;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      try {
        a.handler(desc.virq, a.devId);
        handled = true;
      } catch (e) {
        try {
          ctx.handlerFailed(desc, a, e);
        } catch (h) {
          hookError ??= h;
        }
      }
    }
    desc.inProgress = false;
    noteInterrupt(ctx, desc, handled);
  }
  // An onHandlerError hook that throws reaches the caller, but only once the flow is complete.
  if (hookError !== undefined) throw hookError;
  return DELIVERED;
}

/**
 * note_interrupt (kernel/irq/spurious.c): counts interrupts and unhandled ones (here: every action
 * threw); 99,900 unhandled of 100,000 disable the interrupt, as "nobody cared" does.
 */
function noteInterrupt(ctx: IrqContext, desc: IrqDesc, handled: boolean): void {
  if (!handled) {
    const now = ctx.vector.jiffies;
    // HZ/10 with HZ 250 (Debian): an unhandled interrupt after 25 quiet jiffies starts a new count.
    desc.unhandled = now - desc.lastUnhandled > 25 ? 1 : desc.unhandled + 1;
    desc.lastUnhandled = now;
  }
  if (++desc.irqCount < 100_000) return;
  desc.irqCount = 0;
  if (desc.unhandled > 99_900) {
    desc.depth++;
    desc.disabled = true;
    maskIrq(ctx, desc);
  }
  desc.unhandled = 0;
}
