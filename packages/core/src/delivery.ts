// The path of an interrupt write (arch/x86/kernel/irq.c common_interrupt, with the VT-d checks of
// the remapping hardware in front of it): a device raises a store entry or a peer writes a
// message; the write is decoded, validated, mapped to a CPU's vector and handled.
import { ImsimError, describe } from "./errors.js";
import type { IrqContext } from "./context.js";
import type { IrqDesc } from "./irqdesc.js";
import type { MessageStore } from "./message-store.js";
import { PASID_MAX } from "./message-store.js";
import { compatApicId, compatVector, isMsiAddress, isRemappable, remappableIndex } from "./msi-message.js";
import type { FaultReason } from "./fault-log.js";
import { sourceIdMatches, type RemapUnit } from "./remapping.js";
import { DELIVERED, FAULTED, HELD, SPURIOUS, handleEdgeIrq, runActions, type DeliveryResult } from "./chip.js";
import { FIRST_SYSTEM_VECTOR, apicDataOf } from "./vector.js";

/** Address bits 1:0 are reserved in both formats; with SHV the data's upper half must be zero (VT-d §5.1.4). */
const ADDR_RESERVED = 0x3;

/** True for a 32-bit word, signed or unsigned (what a register or message field holds). */
function isU32(v: number): boolean {
  return (v | 0) === v || v >>> 0 === v;
}

/**
 * The validated route of each entry of one store: the interrupt its raise reached through the full
 * path when nothing has changed since. Like VT-d's interrupt entry cache, it is dropped wholesale on
 * any change: the store's version or the system's epoch.
 */
class RouteCache {
  readonly irq: (IrqDesc | undefined)[];
  version = -1;
  epoch = -1;
  constructor(readonly store: MessageStore) {
    this.irq = new Array<IrqDesc | undefined>(store.size).fill(undefined);
  }
  reset(version: number, epoch: number): void {
    this.irq.fill(undefined);
    this.version = version;
    this.epoch = epoch;
  }
}

/** Raise and write: the delivery path of one system. */
export class Delivery {
  readonly #ctx: IrqContext;
  readonly #stats: IrqContext["stats"];
  /** The remapping unit whose scope a requester id's bus falls in; undefined without remapping. */
  readonly #unitOf: (requesterId: number) => RemapUnit | undefined;
  readonly #routes = new WeakMap<MessageStore, RouteCache>();
  #last: RouteCache | undefined;
  /** Changes with anything that can change where an interrupt goes. */
  #epoch = 0;
  /** CPU and vector the last #resolve reached; read right after it, before any handler runs. */
  #cpu = 0;
  #vector = 0;

  constructor(ctx: IrqContext, unitOf: (requesterId: number) => RemapUnit | undefined) {
    this.#ctx = ctx;
    this.#stats = ctx.stats;
    this.#unitOf = unitOf;
  }

  invalidate(): void {
    this.#epoch++;
  }

  /**
   * The device raises entry `index` of `store`: held in the store's pending bit while the entry is
   * masked, else written to the entry's address with the store's requester id.
   */
  raise(store: MessageStore, index: number): DeliveryResult {
    // Fast path, kept small so that it inlines: a route validated since the last change, to an
    // interrupt that is idle (not running, nothing pending). The integer check also keeps "0" or
    // 0.5 from reading the cache as 0.
    const routes = this.#last;
    if (routes !== undefined && routes.store === store && index >>> 0 === index && routes.version === store.version && routes.epoch === this.#epoch) {
      const irq = routes.irq[index];
      if (irq !== undefined && !irq.inProgress && !irq.pending) {
        // Counted on the effective CPU: a route is cached only for a delivery there (below).
        irq.hotCount++;
        this.#stats.delivered++;
        return runActions(this.#ctx, irq);
      }
    }
    return this.#raiseSlow(store, index);
  }

  #raiseSlow(store: MessageStore, index: number): DeliveryResult {
    if (typeof store !== "object" || store === null || typeof store.isMasked !== "function" || typeof store.size !== "number") {
      throw new ImsimError("EINVAL", `raise needs a message store, got ${describe(store)}`);
    }
    if (index >>> 0 !== index || index >= store.size) {
      throw new ImsimError("EINVAL", `entry to raise must be an integer in [0, ${store.size - 1}] of ${store.chipName}, got ${describe(index)}`);
    }
    let routes = this.#last;
    if (routes === undefined || routes.store !== store) routes = this.#routesOf(store);
    const version = store.version;
    const epoch = this.#epoch;
    if ((routes.version !== version || routes.epoch !== epoch) && typeof version === "number") routes.reset(version, epoch);
    if (store.isMasked(index)) {
      store.setPending(index, true);
      this.#ctx.stats.held++;
      return HELD;
    }
    // "| 0": addresses above 2^31 would otherwise travel as boxed doubles.
    const virq = this.#resolve(store.addressLo(index) | 0, store.addressHi(index) | 0, store.data(index) | 0, store.requesterId);
    if (virq <= 0) return -virq as DeliveryResult;
    const irq = this.#ctx.descs.get(virq)!;
    const cpu = this.#cpu;
    const vector = this.#vector;
    // Settled before any handler runs, so a handler that raises, frees, allocates or moves cannot
    // leave another interrupt in this entry's slot. Only a route that would run now without ack
    // work (a move to complete or apply) is kept; every change to that bumps the epoch.
    if (routes.epoch === epoch && routes.version === store.version && cpu === irq.effectiveCpu && !irq.disabled && irq.started && !irq.moveP && irq.actions.length > 0) {
      const apicd = apicDataOf(irq);
      if (apicd === undefined || (!apicd.moveInProgress && apicd.vector === vector)) routes.irq[index] = irq;
    }
    return handleEdgeIrq(this.#ctx, irq, cpu, vector);
  }

  #routesOf(store: MessageStore): RouteCache {
    let routes = this.#routes.get(store);
    if (routes === undefined) {
      routes = new RouteCache(store);
      this.#routes.set(store, routes);
    }
    this.#last = routes;
    return routes;
  }

  /**
   * A memory write of `data` to (addressHi:addressLo) carrying `requesterId`: decoded as an MSI,
   * validated by interrupt remapping (which checks the requester id; VT-d has no PASID check),
   * dispatched to the CPU's vector. `pasid` is the write's PASID prefix: checked for range, else unused.
   * EINVAL when an argument is not a 32-bit integer (addresses, data), a 16-bit requester id, or a
   * PASID (-1 or 20 bits); nothing is recorded then.
   */
  msiWrite(addressLo: number, addressHi: number, data: number, requesterId: number, pasid: number): DeliveryResult {
    if (!isU32(addressLo) || !isU32(addressHi) || !isU32(data)) {
      throw new ImsimError("EINVAL", `an interrupt write needs 32-bit address and data words, got ${describe(addressLo)}, ${describe(addressHi)}, ${describe(data)}`);
    }
    if (requesterId >>> 0 !== requesterId || requesterId > 0xffff) throw new ImsimError("EINVAL", `requester id must be a 16-bit integer, got ${describe(requesterId)}`);
    if (pasid !== -1 && (pasid >>> 0 !== pasid || pasid > PASID_MAX)) throw new ImsimError("EINVAL", `PASID must be -1 or in [0, ${PASID_MAX}], got ${describe(pasid)}`);
    const virq = this.#resolve(addressLo | 0, addressHi | 0, data | 0, requesterId);
    if (virq <= 0) return -virq as DeliveryResult;
    return handleEdgeIrq(this.#ctx, this.#ctx.descs.get(virq)!, this.#cpu, this.#vector);
  }

  /**
   * An interrupt delivered to `vector` of `cpu` directly (an IPI, or a retrigger): the vector table
   * decides, as common_interrupt does.
   */
  deliverVector(cpu: number, vector: number): DeliveryResult {
    const virq = this.#lookup(cpu, vector);
    if (virq <= 0) return -virq as DeliveryResult;
    return handleEdgeIrq(this.#ctx, this.#ctx.descs.get(virq)!, cpu, vector);
  }

  /**
   * Where a write goes, without running anything: the virq it reaches (CPU and vector kept for the
   * caller), or -FAULTED / -SPURIOUS after recording why.
   */
  #resolve(addressLo: number, addressHi: number, data: number, requesterId: number): number {
    if (!isMsiAddress(addressLo, addressHi)) return this.#fault("not-msi-address", -1, -1, requesterId, addressLo);
    let cpu: number;
    let vector: number;
    const unit = this.#unitOf(requesterId);
    if (unit !== undefined) {
      // Linux enables remapping with compatibility-format interrupts blocked (GCMD.CFI clear).
      if (!isRemappable(addressLo)) return this.#fault("compat-format-blocked", unit.seq, -1, requesterId, addressLo);
      if ((addressLo & ADDR_RESERVED) !== 0 || ((addressLo & 0x8) !== 0 && data >>> 16 !== 0)) {
        return this.#fault("bad-request", unit.seq, -1, requesterId, addressLo);
      }
      const index = remappableIndex(addressLo, data);
      const t = unit.table;
      if (index >= t.size) return this.#fault("index-beyond-table", unit.seq, index, requesterId, addressLo);
      if (t.present[index] === 0) return this.#fault("not-present", unit.seq, index, requesterId, addressLo);
      if (!sourceIdMatches(t.svt[index]!, t.sid[index]!, requesterId)) return this.#fault("source-id-mismatch", unit.seq, index, requesterId, addressLo);
      cpu = t.destination[index]!;
      vector = t.vector[index]!;
    } else {
      // Without remapping the APIC reads the compatibility fields, whatever bit 4 says.
      cpu = compatApicId(addressLo);
      vector = compatVector(data);
    }
    const virq = this.#lookup(cpu, vector);
    if (virq > 0) {
      this.#cpu = cpu;
      this.#vector = vector;
    }
    return virq;
  }

  /** vector_irq lookup; a vector nobody owns is spurious (counted per CPU in SPU when in the system range). */
  #lookup(cpu: number, vector: number): number {
    const ctx = this.#ctx;
    if (cpu < ctx.nrCpus && ctx.online.has(cpu)) {
      const virq = ctx.vector.lookup(cpu, vector);
      if (virq > 0 && ctx.descs.get(virq) !== undefined) return virq;
      if (vector >= FIRST_SYSTEM_VECTOR) ctx.arch.spurious[cpu]!++;
    }
    ctx.stats.spurious++;
    return -SPURIOUS;
  }

  #fault(reason: FaultReason, unit: number, irte: number, requesterId: number, address: number): number {
    this.#ctx.stats.faulted++;
    this.#ctx.faults.record(reason, unit, irte, requesterId, address >>> 0);
    return -FAULTED;
  }
}

export { DELIVERED, FAULTED, HELD, SPURIOUS };
