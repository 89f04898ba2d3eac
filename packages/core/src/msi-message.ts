// x86 MSI address/data formats: compatibility format (arch/x86/include/asm/msi.h, struct
// x86_msi_addr_lo / x86_msi_data) and the remappable format of VT-d (spec §5.1.2.2).
import { checkInt } from "./errors.js";

/** An MSI message: what a device writes to raise an interrupt. Linux: `struct msi_msg` (include/linux/msi.h). */
export interface MsiMsg {
  addressLo: number;
  addressHi: number;
  data: number;
}

// x86 MSI formats, arch/x86/include/asm/msi.h and drivers/iommu/intel/irq_remapping.c (fill_msi_msg).
/** Address bits 31:20 are 0xFEE: the local APIC MSI window (X86_MSI_BASE_ADDRESS_LOW). */
export const MSI_ADDR_BASE = 0xfee00000;
const ADDR_DESTID_SHIFT = 12; // destid_0_7: bits 19:12
const ADDR_EXT_DESTID_SHIFT = 5; // virt_destid_8_14: bits 11:5
const ADDR_DEST_MODE_LOGICAL = 1 << 2;
const ADDR_REDIRECT_HINT = 1 << 3;
/** Remappable format: bit 4 = format, bit 3 = SHV (subhandle valid), bit 2 = handle bit 15, bits 19:5 = handle 14:0. */
const ADDR_IR_FORMAT = 1 << 4;
const ADDR_IR_SHV = 1 << 3;
const ADDR_IR_HANDLE15 = 1 << 2;
const ADDR_IR_HANDLE_SHIFT = 5;
const DATA_VECTOR_MASK = 0xff;
const DATA_DELIVERY_SHIFT = 8; // bits 10:8
const DATA_DEST_MODE_LOGICAL = 1 << 11;
const DATA_ACTIVE_LOW = 1 << 14;
const DATA_LEVEL = 1 << 15;

/** Fields of a compatibility-format message (fixed delivery, physical destination, edge). */
export interface CompatFields {
  apicId: number;
  vector: number;
  destModeLogical: boolean;
  redirectHint: boolean;
  deliveryMode: number;
  level: boolean;
  activeLow: boolean;
}

/** Composes the compatibility format as Linux's vector domain does (__irq_msi_compose_msg): physical, fixed, edge. */
export function composeCompat(apicId: number, vector: number): MsiMsg {
  checkInt(apicId, 0, 0x7fff, "APIC id");
  checkInt(vector, 0, 255, "vector");
  const addressLo =
    (MSI_ADDR_BASE | ((apicId & 0xff) << ADDR_DESTID_SHIFT) | (((apicId >> 8) & 0x7f) << ADDR_EXT_DESTID_SHIFT)) >>> 0;
  return { addressLo, addressHi: 0, data: vector };
}

/** True when the address is in the APIC window and uses the remappable format (bit 4). */
export function isRemappable(addressLo: number): boolean {
  return (addressLo & ADDR_IR_FORMAT) !== 0;
}

/** 0xFEE as the top 12 bits of a sign-extended int32 (0xfee00000 >> 20). */
const ADDR_BASE_SIGNED = MSI_ADDR_BASE >> 20;

/**
 * True when the address targets the local APIC MSI window (0xFEExxxxx, upper address 0).
 * Signed shifts only: an unsigned 0xfee00000 is not a small integer and would be boxed on the hot path.
 */
export function isMsiAddress(addressLo: number, addressHi: number): boolean {
  return addressHi === 0 && addressLo >> 20 === ADDR_BASE_SIGNED;
}

/** Destination APIC id of a compatibility-format address (bits 19:12, extended id in bits 11:5). */
export function compatApicId(addressLo: number): number {
  return ((addressLo >>> ADDR_DESTID_SHIFT) & 0xff) | (((addressLo >>> ADDR_EXT_DESTID_SHIFT) & 0x7f) << 8);
}

/** Vector of a compatibility-format data word. */
export function compatVector(data: number): number {
  return data & DATA_VECTOR_MASK;
}

export function decodeCompat(msg: MsiMsg): CompatFields {
  return {
    apicId: compatApicId(msg.addressLo),
    vector: compatVector(msg.data),
    destModeLogical: (msg.addressLo & ADDR_DEST_MODE_LOGICAL) !== 0 || (msg.data & DATA_DEST_MODE_LOGICAL) !== 0,
    redirectHint: (msg.addressLo & ADDR_REDIRECT_HINT) !== 0,
    deliveryMode: (msg.data >>> DATA_DELIVERY_SHIFT) & 7,
    level: (msg.data & DATA_LEVEL) !== 0,
    activeLow: (msg.data & DATA_ACTIVE_LOW) !== 0,
  };
}

/**
 * Composes the remappable format for IRTE `handle` with a sub-handle, as Intel IR's fill_msi_msg:
 * SHV set, data = subhandle; the IRTE used is handle + subhandle.
 */
export function composeRemappable(handle: number, subHandle = 0): MsiMsg {
  checkInt(handle, 0, 0xffff, "IRTE handle");
  checkInt(subHandle, 0, 0xffff, "IRTE sub-handle");
  const addressLo =
    (MSI_ADDR_BASE |
      ((handle & 0x7fff) << ADDR_IR_HANDLE_SHIFT) |
      ADDR_IR_FORMAT |
      ADDR_IR_SHV |
      ((handle & 0x8000) !== 0 ? ADDR_IR_HANDLE15 : 0)) >>>
    0;
  return { addressLo, addressHi: 0, data: subHandle };
}

/** The IRTE index a remappable-format write selects (handle, plus the data's sub-handle when SHV is set). */
export function remappableIndex(addressLo: number, data: number): number {
  let handle = (addressLo >>> ADDR_IR_HANDLE_SHIFT) & 0x7fff;
  if ((addressLo & ADDR_IR_HANDLE15) !== 0) handle |= 0x8000;
  if ((addressLo & ADDR_IR_SHV) !== 0) handle += data & 0xffff;
  return handle;
}

/** "0xfee01000/0x00000021"-style text, for views and error messages. */
export function formatMsg(msg: MsiMsg): string {
  const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
  return `addr ${hex(msg.addressHi)}${(msg.addressLo >>> 0).toString(16).padStart(8, "0")} data ${hex(msg.data)}`;
}
