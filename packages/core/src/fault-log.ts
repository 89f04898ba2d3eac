// Interrupt-remapping faults as VT-d reports them (VT-d spec §7.1, fault reasons 0x20-0x26;
// the strings of drivers/iommu/intel/dmar.c irq_remap_fault_reasons[]), and writes that were no
// interrupt at all.
import { formatRequesterId } from "./pci-id.js";

/** Why a write was refused: a VT-d interrupt-remapping fault, or (not an IOMMU fault) no interrupt address. */
export type FaultReason =
  | "bad-request"
  | "index-beyond-table"
  | "not-present"
  | "compat-format-blocked"
  | "source-id-mismatch"
  | "not-msi-address";

/** VT-d fault reason codes; -1 for writes that are not interrupt requests (no IOMMU fault record). */
export const FAULT_REASON_CODE: Readonly<Record<FaultReason, number>> = Object.freeze({
  "bad-request": 0x20,
  "index-beyond-table": 0x21,
  "not-present": 0x22,
  "compat-format-blocked": 0x25,
  "source-id-mismatch": 0x26,
  "not-msi-address": -1,
});

/** What the DMAR driver prints for each reason. */
export const FAULT_REASON_TEXT: Readonly<Record<FaultReason, string>> = Object.freeze({
  "bad-request": "Detected reserved fields in the decoded interrupt-remapped request",
  "index-beyond-table": "Interrupt index exceeded the interrupt-remapping table size",
  "not-present": "Present field in the IRTE entry is clear",
  "compat-format-blocked": "Blocked a compatibility format interrupt request",
  "source-id-mismatch": "Blocked an interrupt request due to source-id verification failure",
  "not-msi-address": "Not an interrupt request (address outside 0xFEExxxxx)",
});

export interface FaultRecord {
  reason: FaultReason;
  /** VT-d fault reason code (0x20-0x26), -1 when no IOMMU fault was recorded. */
  code: number;
  /** DMAR unit that recorded it, -1 without one. */
  unit: number;
  irte: number;
  requesterId: number;
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
  record(reason: FaultReason, unit: number, irte: number, requesterId: number, address: number): void {
    this.#total++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    const code = FAULT_REASON_CODE[reason];
    let slot = this.#ring[this.#next];
    if (!slot) {
      slot = { reason, code, unit, irte, requesterId, address };
      this.#ring[this.#next] = slot;
    } else {
      slot.reason = reason;
      slot.code = code;
      slot.unit = unit;
      slot.irte = irte;
      slot.requesterId = requesterId;
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
  /** The latest fault, as dmar_fault_do_one() logs an INTR-REMAP fault. */
  describeLast(): string | undefined {
    if (this.#total === 0) return undefined;
    return describeFault(this.#ring[(this.#next + this.capacity - 1) % this.capacity]!);
  }
}

/** "DMAR: [INTR-REMAP] Request device [6a:01.0] fault index 0x15 [fault reason 0x26] …". */
export function describeFault(f: FaultRecord): string {
  if (f.code < 0) return `${FAULT_REASON_TEXT[f.reason]}: write to 0x${f.address.toString(16)} from [${formatRequesterId(f.requesterId)}]`;
  return `DMAR: [INTR-REMAP] Request device [${formatRequesterId(f.requesterId)}] fault index 0x${Math.max(f.irte, 0).toString(16)} [fault reason 0x${f.code.toString(16).padStart(2, "0")}] ${FAULT_REASON_TEXT[f.reason]}`;
}
