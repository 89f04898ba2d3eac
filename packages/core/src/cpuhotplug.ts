// kernel/irq/cpuhotplug.c with the x86 steps around it (arch/x86/kernel/smpboot.c
// cpu_disable_common, apic/vector.c lapic_can_unplug_cpu / lapic_offline / lapic_online):
// taking a CPU down moves its interrupts off it, shuts managed ones down when none of their CPUs
// is left, and bringing one up restarts the managed interrupts it serves.
import { ImsimError } from "./errors.js";
import type { IrqContext } from "./context.js";
import type { IrqDesc } from "./irqdesc.js";
import type { IrqManager } from "./manage.js";
import { doSetAffinity, irqStartup } from "./manage.js";
import { maskIrq, unmaskIrq } from "./chip.js";

/** What a CPU going down did to each interrupt, kept to undo it if a later step fails. */
interface Migration {
  desc: IrqDesc;
  undo: () => void;
}

/**
 * Takes `cpu` offline. EBUSY for the last online CPU; ENOSPC when the other CPUs lack the vectors
 * its interrupts need (lapic_can_unplug_cpu). A failure of a later step (an injected one) puts
 * everything back and leaves the CPU online.
 */
export function cpuOffline(ctx: IrqContext, manager: IrqManager, cpu: number): void {
  if (!ctx.online.has(cpu)) return;
  if (ctx.online.weight === 1) throw new ImsimError("EBUSY", `CPU${cpu} is the last online CPU`);
  const tomove = ctx.vector.matrix.allocatedOn(cpu);
  const available = ctx.vector.matrix.availableWithout(cpu);
  if (available < tomove) throw new ImsimError("ENOSPC", `CPU${cpu} has ${tomove} vectors, ${available} available on the other CPUs: it cannot go offline`);
  const before = ctx.online;
  ctx.online = before.without(cpu);
  ctx.invalidateRoutes();
  const done: Migration[] = [];
  try {
    for (const desc of ctx.descs.all()) {
      const m = migrateOne(ctx, manager, desc, cpu);
      if (m) done.push(m);
    }
  } catch (e) {
    ctx.online = before;
    for (const m of done.reverse()) m.undo();
    ctx.invalidateRoutes();
    throw new ImsimError(e instanceof ImsimError ? e.code : "EIO", `CPU${cpu} cannot go offline: ${(e as Error).message}`);
  }
  ctx.vector.cpuOffline(cpu);
}

/**
 * migrate_one_irq: a started interrupt whose effective CPU is going moves to its (pending)
 * affinity's online CPUs; with none left, a managed one shuts down and another takes every
 * online CPU (affinity broken). The entry is masked across the move where the move is not atomic.
 */
function migrateOne(ctx: IrqContext, manager: IrqManager, desc: IrqDesc, cpu: number): Migration | undefined {
  if (!desc.started || desc.effectiveCpu !== cpu) {
    // irq_fixup_move_pending(desc, false): a pending move to CPUs that are all gone is dropped.
    if (desc.moveP && desc.pendingMask && !desc.pendingMask.intersects(ctx.online)) {
      desc.moveP = false;
      desc.pendingMask = undefined;
    }
    return undefined;
  }
  ctx.vector.forceCompleteMove(desc);
  const oldAffinity = desc.affinity;
  let affinity = desc.affinity;
  if (desc.moveP && desc.pendingMask && desc.pendingMask.intersects(ctx.online)) affinity = desc.pendingMask;
  desc.moveP = false;
  desc.pendingMask = undefined;
  if (!affinity.intersects(ctx.online)) {
    if (desc.managed) {
      manager.shutdownAndDeactivate(desc);
      desc.managedShutdown = true;
      ctx.invalidateRoutes();
      return { desc, undo: () => irqStartup(ctx, desc, true) };
    }
    affinity = ctx.online;
  }
  const maskChip = !desc.movePcntxt && !desc.masked;
  if (maskChip) maskIrq(ctx, desc);
  try {
    doSetAffinity(ctx, desc, affinity, true);
  } finally {
    if (maskChip) unmaskIrq(ctx, desc);
  }
  return {
    desc,
    undo: () => {
      desc.affinity = oldAffinity;
    },
  };
}

/**
 * Brings `cpu` online: its vectors join the pool, then every managed interrupt whose mask holds
 * it and that was shut down for lack of CPUs starts again (irq_affinity_online_cpu), with a held
 * interrupt resent.
 */
export function cpuOnline(ctx: IrqContext, cpu: number): void {
  if (ctx.online.has(cpu)) return;
  ctx.online = ctx.online.with(cpu);
  ctx.vector.cpuOnline(cpu);
  for (const desc of ctx.descs.all()) {
    if (!desc.managed || desc.actions.length === 0 || !desc.affinity.has(cpu) || !desc.managedShutdown) continue;
    irqStartup(ctx, desc, true);
  }
  ctx.invalidateRoutes();
}
