import { formatRequesterId } from "./pci-id.js";

/** Why interrupt remapping (or the MSI decoder) refused a write. */
export type FaultReason =
  | "not-msi-address"
  | "compat-format-blocked"
  | "irte-not-present"
  | "source-id-mismatch"
  | "pasid-mismatch"
  | "remappable-without-ir";

export interface FaultRecord {
  reason: FaultReason;
  irte: number;
  requesterId: number;
  pasid: number;
  address: number;
}

/**
 * Interrupt-remapping faults, kept in a fixed ring (the hardware's fault recording registers are a
 * ring too) so recording on the delivery path allocates nothing once the ring is full.
 */
export class FaultLog {
  readonly capacity: number;
  readonly #ring: FaultRecord[] = [];
  #next = 0;
  #total = 0;
  readonly #byReason = new Map<FaultReason, number>();

  constructor(capacity = 256) {
    this.capacity = capacity;
  }
  get total(): number {
    return this.#total;
  }
  count(reason: FaultReason): number {
    return this.#byReason.get(reason) ?? 0;
  }
  record(reason: FaultReason, irte: number, requesterId: number, pasid: number, address: number): void {
    this.#total++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    let slot = this.#ring[this.#next];
    if (!slot) {
      slot = { reason, irte, requesterId, pasid, address };
      this.#ring[this.#next] = slot;
    } else {
      slot.reason = reason;
      slot.irte = irte;
      slot.requesterId = requesterId;
      slot.pasid = pasid;
      slot.address = address;
    }
    this.#next = (this.#next + 1) % this.capacity;
  }
  /** Recorded faults, oldest first (copies). */
  entries(): FaultRecord[] {
    const n = Math.min(this.#total, this.capacity);
    const out: FaultRecord[] = [];
    const start = this.#total > this.capacity ? this.#next : 0;
    for (let i = 0; i < n; i++) out.push({ ...this.#ring[(start + i) % this.capacity]! });
    return out;
  }
  /** The latest fault, as the DMAR driver logs it. */
  describeLast(): string | undefined {
    if (this.#total === 0) return undefined;
    const f = this.#ring[(this.#next + this.capacity - 1) % this.capacity]!;
    const pasid = f.pasid >= 0 ? ` PASID ${f.pasid.toString(16)}` : "";
    return `DMAR: [INTR-REMAP] Request device [${formatRequesterId(f.requesterId)}]${pasid} fault index 0x${Math.max(f.irte, 0).toString(16)} [fault reason ${f.reason}]`;
  }
}
