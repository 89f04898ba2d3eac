import { ImsimError } from "./errors.js";
import { busOf } from "./pci-id.js";
import type { Device } from "./device.js";

// Source-id verification types of an IRTE (VT-d spec §9.10; drivers/iommu/intel/irq_remapping.c SVT_*).
export const SVT_NO_VERIFY = 0;
/** Compare the requester id with SID under the SQ mask (SQ 0 = all 16 bits). */
export const SVT_VERIFY_SID_SQ = 1;
/** The requester id's bus must lie in [SID 15:8, SID 7:0]. */
export const SVT_VERIFY_BUS = 2;

/** How an IRTE checks the requester id of writes that use it. */
export interface SourceId {
  readonly svt: number;
  readonly sid: number;
  /** Requester id the writes are expected to carry (the device's own or the alias that IR verifies). */
  readonly requesterId: number;
}

/**
 * Resolves what an IRTE must verify for interrupts of `device`, following the rules of
 * drivers/iommu/intel/irq_remapping.c (set_msi_sid with pci_for_each_dma_alias): the device's own
 * id; an alias on another bus is verified by its full id; two or more aliases all on one bus
 * (NTB proxy ids) are verified by bus only. Non-PCI devices resolve through their parent chain to
 * the PCI function whose requester id their DMA carries; ENODEV when there is none.
 */
export function resolveSourceId(device: Device): SourceId {
  const fn = device.pciFunction;
  if (!fn) throw new ImsimError("ENODEV", `${device.name} has no PCI function above it: its interrupts carry no requester id`);
  const own = fn.requesterId;
  const aliases = fn.dmaAliases;
  if (aliases.length === 0) return Object.freeze({ svt: SVT_VERIFY_SID_SQ, sid: own, requesterId: own });
  const aliasBus = busOf(aliases[0]!);
  if (aliases.length >= 2 && aliases.every((a) => busOf(a) === aliasBus)) {
    return Object.freeze({ svt: SVT_VERIFY_BUS, sid: (aliasBus << 8) | aliasBus, requesterId: aliases[0]! });
  }
  const foreign = aliases.filter((a) => busOf(a) !== busOf(own));
  if (foreign.length > 0) {
    const alias = foreign[foreign.length - 1]!;
    return Object.freeze({ svt: SVT_VERIFY_SID_SQ, sid: alias, requesterId: alias });
  }
  return Object.freeze({ svt: SVT_VERIFY_SID_SQ, sid: own, requesterId: own });
}

/** True when a write carrying `requesterId` passes the check (hot path). */
export function sourceIdMatches(svt: number, sid: number, requesterId: number): boolean {
  if (svt === SVT_NO_VERIFY) return true;
  if (svt === SVT_VERIFY_SID_SQ) return sid === requesterId;
  const bus = busOf(requesterId);
  return bus >= sid >>> 8 && bus <= (sid & 0xff);
}

/**
 * The interrupt-remapping table: one IRTE per remapped interrupt (VT-d spec §9.10). Each entry holds
 * present, vector, destination APIC id, source-id check and, in this model, the PASID the writes
 * must carry (-1: none). Columns are typed arrays, so validation on delivery allocates nothing.
 */
export class IrteTable {
  readonly size: number;
  readonly present: Uint8Array;
  readonly vector: Uint8Array;
  readonly destination: Uint32Array;
  readonly svt: Uint8Array;
  readonly sid: Uint16Array;
  readonly pasid: Int32Array;
  readonly virq: Int32Array;
  #inUse = 0;
  #hint = 0;

  constructor(size: number) {
    this.size = size;
    this.present = new Uint8Array(size);
    this.vector = new Uint8Array(size);
    this.destination = new Uint32Array(size);
    this.svt = new Uint8Array(size);
    this.sid = new Uint16Array(size);
    this.pasid = new Int32Array(size).fill(-1);
    this.virq = new Int32Array(size);
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Takes the lowest free entry (Linux: alloc_irte's bitmap search); the entry is not present until programmed. */
  alloc(virq: number): number {
    for (let i = this.#hint; i < this.size; i++) {
      if (this.virq[i] === 0) {
        this.virq[i] = virq;
        this.#inUse++;
        this.#hint = i + 1;
        return i;
      }
    }
    throw new ImsimError("ENOSPC", `interrupt-remapping table is full (${this.size} entries)`);
  }

  program(index: number, vector: number, destination: number, source: SourceId, pasid: number): void {
    this.vector[index] = vector;
    this.destination[index] = destination;
    this.svt[index] = source.svt;
    this.sid[index] = source.sid;
    this.pasid[index] = pasid;
    this.present[index] = 1;
  }

  free(index: number): void {
    if (this.virq[index] === 0) throw new ImsimError("ENOENT", `IRTE ${index} is not allocated`);
    this.present[index] = 0;
    this.vector[index] = 0;
    this.destination[index] = 0;
    this.svt[index] = 0;
    this.sid[index] = 0;
    this.pasid[index] = -1;
    this.virq[index] = 0;
    this.#inUse--;
    if (index < this.#hint) this.#hint = index;
  }
}
