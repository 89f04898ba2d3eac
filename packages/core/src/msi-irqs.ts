// kernel/irq/msi.c, the part below the descriptors: how a device domain's interrupt is allocated
// through the hierarchy and activated early (__msi_domain_alloc_irqs, msi_init_virq), freed
// (msi_domain_free_locked), and how its level composes and writes messages (msi_domain_activate,
// msi_domain_deactivate, msi_domain_set_affinity).
import { ImsimError } from "./errors.js";
import type { Cpumask } from "./cpumask.js";
import type { IrqContext } from "./context.js";
import { IRQ_SET_MASK_OK_DONE, allocLevel, allocParent, composeMsg, freeLevel, freeParent, irqDataAt, type IrqDomainOps } from "./irqdomain.js";
import type { IrqDesc } from "./irqdesc.js";
import type { MsiDesc } from "./msi-desc.js";
import type { MsiDomain } from "./msi-domain.js";
import type { MsiEnv } from "./msi-env.js";
import type { MsiMsg } from "./msi-message.js";
import { MSI_FLAG_ACTIVATE_EARLY } from "./msi-flags.js";
import { PASID_MAX } from "./message-store.js";
import { checkInt } from "./errors.js";
import { activateIrq, deactivateIrq } from "./chip.js";
import type { IrqManager } from "./manage.js";

/** NUMA_NO_NODE: what dev_to_node() gives a PCI device of a host without NUMA information. */
export const NUMA_NO_NODE = -1;

/** The MSI side of one system: implements what its device domains need (MsiEnv). */
export class MsiIrqs implements MsiEnv {
  readonly #ctx: IrqContext;
  readonly #manager: IrqManager;
  readonly #pendingCleared: (store: MsiDomain["store"], index: number) => void;
  readonly #atomically: <T>(op: () => T) => T;

  readonly #raise: (store: MsiDomain["store"], index: number) => void;

  constructor(
    ctx: IrqContext,
    manager: IrqManager,
    clearPending: (store: MsiDomain["store"], index: number) => void,
    atomically: <T>(op: () => T) => T,
    raise: (store: MsiDomain["store"], index: number) => void,
  ) {
    this.#raise = raise;
    this.#ctx = ctx;
    this.#manager = manager;
    this.#pendingCleared = clearPending;
    this.#atomically = atomically;
  }

  get nrCpus(): number {
    return this.#ctx.nrCpus;
  }
  get allCpus(): Cpumask {
    return this.#ctx.allCpus;
  }
  atomically<T>(op: () => T): T {
    return this.#atomically(op);
  }

  allocIrq(domain: MsiDomain, msi: MsiDesc, affinity: Cpumask | undefined, managed: boolean): IrqDesc {
    const ctx = this.#ctx;
    // alloc_descs: an affinity gives the node of its first CPU (one node here: 0), else the device's.
    const [desc] = ctx.descs.alloc([affinity ?? ctx.defaultAffinity], affinity ? 0 : NUMA_NO_NODE);
    const irq = desc!;
    irq.msiDesc = msi;
    irq.devName = domain.device.name;
    if (managed) {
      irq.managed = true;
      irq.managedShutdown = true;
    }
    irq.affinitySet = affinity !== undefined;
    msi.virq = irq.virq;
    const arg = { requester: { sourceOf: () => domain.device }, resolvedSource: domain.sourceId };
    try {
      allocLevel(domain.irqDomain, [irq], arg);
      // msi_init_virq: early activation, on a reserved vector in reservation mode.
      const reserve = domain.reservationMode;
      if (!reserve) irq.canReserve = false;
      if ((domain.flags & MSI_FLAG_ACTIVATE_EARLY) !== 0) {
        if (!reserve && managed && !irq.affinity.intersects(ctx.online)) {
          irq.managedShutdown = true;
        } else {
          activateIrq(ctx, irq, reserve);
          if (reserve) irq.activated = false;
        }
      }
    } catch (e) {
      if (irq.data !== undefined && irqDataAt(irq, domain.irqDomain)) freeLevel(domain.irqDomain, [irq]);
      ctx.descs.free(irq);
      msi.virq = 0;
      throw e;
    }
    ctx.invalidateRoutes();
    return irq;
  }

  freeIrq(domain: MsiDomain, irq: IrqDesc): void {
    const ctx = this.#ctx;
    const msi = irq.msiDesc!;
    if (irq.activated) deactivateIrq(ctx, irq);
    freeLevel(domain.irqDomain, [irq]);
    ctx.descs.free(irq);
    // The entry goes back masked, its message and PASID cleared; a raise it held is dropped, so
    // that it cannot fire into the entry's next owner.
    const store = domain.store;
    store.setMasked(msi.msiIndex, true);
    this.#pendingCleared(store, msi.msiIndex);
    if (msi.hasMessage) {
      store.writeMessage(msi.msiIndex, 0, 0, 0);
      msi.hasMessage = false;
    }
    if (store.supportsPasid && store.pasid(msi.msiIndex) !== -1) store.setPasid(msi.msiIndex, -1);
    msi.virq = 0;
    ctx.invalidateRoutes();
  }

  checkFreeable(irq: IrqDesc): void {
    if (irq.inProgress) throw new ImsimError("EBUSY", `virq ${irq.virq} cannot be freed from its own handler`);
    if (irq.actions.length > 0) {
      throw new ImsimError("EBUSY", `virq ${irq.virq} still has action${irq.actions.length > 1 ? "s" : ""} ${irq.actions.map((a) => a.name).join(", ")}: free_irq() first`);
    }
  }

  dropActions(irq: IrqDesc): void {
    this.#manager.dropActions(irq);
  }

  writeMessage(domain: MsiDomain, irq: IrqDesc, msg: MsiMsg): void {
    const ctx = this.#ctx;
    const msi = irq.msiDesc!;
    const pasid = domain.pasidOf ? domain.pasidOf(msi) : -1;
    if (pasid !== -1) checkInt(pasid, 0, PASID_MAX, `PASID for ${domain.name} index ${msi.msiIndex}`);
    ctx.maybeFail("store-write");
    const store = domain.store;
    store.writeMessage(msi.msiIndex, msg.addressLo, msg.addressHi, msg.data);
    if (store.supportsPasid || pasid !== -1) store.setPasid(msi.msiIndex, pasid);
    msi.msg.addressLo = msg.addressLo >>> 0;
    msi.msg.addressHi = msg.addressHi >>> 0;
    msi.msg.data = msg.data >>> 0;
    msi.pasid = pasid;
    msi.hasMessage = msg.addressLo !== 0 || msg.addressHi !== 0 || msg.data !== 0;
    msi.writes++;
    ctx.stats.messageWrites++;
    ctx.invalidateRoutes();
  }

  deviceSends(domain: MsiDomain, index: number): void {
    this.#raise(domain.store, index);
  }

  rewrite(domain: MsiDomain, irq: IrqDesc): void {
    const msi = irq.msiDesc!;
    if (!msi.hasMessage) return;
    this.writeMessage(domain, irq, { addressLo: msi.msg.addressLo, addressHi: msi.msg.addressHi, data: msi.msg.data });
  }

  msiLevelOps(domain: MsiDomain): IrqDomainOps {
    return {
      alloc: (d, descs, arg) => {
        allocParent(d, descs, arg);
        for (const desc of descs) {
          const data = irqDataAt(desc, d)!;
          data.hwirq = desc.msiDesc!.msiIndex;
          data.chip = domain.chip;
          data.chipData = desc.msiDesc;
        }
      },
      free: (d, descs) => freeParent(d, descs),
      // msi_domain_activate: compose through the hierarchy and write the entry.
      activate: (_d, data) => {
        const msi = data.desc.msiDesc!;
        const old = { ...msi.msg, hasMessage: msi.hasMessage, writes: msi.writes };
        const msg = { addressLo: 0, addressHi: 0, data: 0 };
        composeMsg(data, msg);
        domain.chip.writeMsiMsg!(data, msg);
        return () => {
          domain.chip.writeMsiMsg!(data, old.hasMessage ? old : { addressLo: 0, addressHi: 0, data: 0 });
          msi.writes = old.writes;
        };
      },
      // msi_domain_deactivate: an all-zero message.
      deactivate: (_d, data) => domain.chip.writeMsiMsg!(data, { addressLo: 0, addressHi: 0, data: 0 }),
      // msi_domain_set_affinity: the message changes unless a level below did everything (remapping).
      setAffinity: (data, mask, force) => {
        const parent = data.parent!;
        const undo = this.#ctx.vector.checkpoint(data.desc);
        const ret = parent.domain.ops.setAffinity!(parent, mask, force);
        if (ret !== IRQ_SET_MASK_OK_DONE && data.desc.activated) {
          const msg = { addressLo: 0, addressHi: 0, data: 0 };
          composeMsg(data, msg);
          try {
            domain.chip.writeMsiMsg!(data, msg);
          } catch (e) {
            undo(); // the vector goes back where the message still points
            throw e;
          }
        }
        return ret;
      },
    };
  }
}
