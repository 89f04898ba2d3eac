import { ImsimError, checkInt, describe } from "@imsim/core";
import type { Memory } from "./memory.js";
import {
  COMP_RECORD_SIZE,
  COMP_STATUS_MASK,
  COMP_STATUS_WRITE,
  CR_BYTES_COMPLETED,
  CR_CRC_VAL,
  CR_FAULT_ADDR,
  CR_FAULT_INFO,
  CR_INVALID_FLAGS,
  CR_RESULT,
  CR_STATUS,
  DESC_SIZE,
} from "./registers.js";

/**
 * Byte layout of the 64-byte DSA work descriptor (struct dsa_hw_desc, include/uapi/linux/idxd.h;
 * offsets computed from its field order, the struct is packed):
 *   0  u32  pasid 19:0, reserved 30:20, priv 31
 *   4  u32  flags 23:0, opcode 31:24
 *   8  u64  completion_addr
 *  16  u64  src_addr | pattern (fill)
 *  24  u64  dst_addr | src2_addr (compare)
 *  32  u32  xfer_size
 *  36  u16  int_handle
 *  38  u16  reserved
 *  40  24 bytes of operation-specific fields: expected_res (u8 at 40, compare), crc_seed (u32 at 40, CRC)
 */
export const D_PASID = 0;
export const D_FLAGS = 4;
export const D_OPCODE = 7;
export const D_COMPLETION = 8;
export const D_SRC = 16;
export const D_DST = 24;
export const D_XFER = 32;
export const D_INT_HANDLE = 36;
export const D_RSVD1 = 38;
export const D_OP_SPECIFIC = 40;
export const D_PASID_MASK = 0xfffff;
export const D_RSVD0_MASK = 0x7ff00000;
export const D_PRIV = 0x80000000;

/** A descriptor as fields. Addresses are numbers below 2^53 or bigints (the fields are u64). */
export interface DescriptorInit {
  opcode: number;
  flags?: number;
  pasid?: number;
  priv?: boolean;
  completionAddr?: number | bigint;
  /** Source address; for memory fill, use `pattern` instead. */
  src?: number | bigint;
  /** 8-byte fill pattern (shares bytes 16-23 with src). */
  pattern?: number | bigint;
  /** Destination address; for compare, use `src2`. */
  dst?: number | bigint;
  /** Second source of compare (shares bytes 24-31 with dst). */
  src2?: number | bigint;
  xferSize?: number;
  intHandle?: number;
  /** CRC seed (CRC generation). */
  crcSeed?: number;
  /** Expected result of compare (with the check-result flag). */
  expectedResult?: number;
  /** Raw bytes to put in reserved fields, for malformed-descriptor tests: bits 30:20 of dword 0 and bytes 38-39. */
  reserved?: { dword0?: number; rsvd1?: number };
}

export interface Descriptor {
  opcode: number;
  flags: number;
  pasid: number;
  priv: boolean;
  completionAddr: bigint;
  src: bigint;
  dst: bigint;
  xferSize: number;
  intHandle: number;
  crcSeed: number;
  expectedResult: number;
}

function u64(value: number | bigint | undefined, what: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value === "bigint") {
    if (value < 0n || value > 0xffffffffffffffffn) throw new ImsimError("EINVAL", `${what} must fit 64 bits, got ${value}n`);
    return value;
  }
  checkInt(value, 0, Number.MAX_SAFE_INTEGER, what);
  return BigInt(value);
}

/** Builds a 64-byte descriptor (into `out` at `offset` when given). EINVAL for values that do not fit their fields. */
export function encodeDescriptor(d: DescriptorInit, out: Uint8Array = new Uint8Array(DESC_SIZE), offset = 0): Uint8Array {
  if (typeof d !== "object" || d === null) throw new ImsimError("EINVAL", `descriptor must be an object, got ${describe(d)}`);
  checkInt(d.opcode, 0, 0xff, "descriptor opcode");
  const flags = checkInt(d.flags ?? 0, 0, 0xffffff, "descriptor flags");
  const pasid = checkInt(d.pasid ?? 0, 0, D_PASID_MASK, "descriptor PASID");
  const rsvd0 = checkInt(d.reserved?.dword0 ?? 0, 0, 0x7ff, "reserved bits 30:20");
  const rsvd1 = checkInt(d.reserved?.rsvd1 ?? 0, 0, 0xffff, "reserved bytes 38-39");
  if (d.src !== undefined && d.pattern !== undefined) throw new ImsimError("EINVAL", "src and pattern share bytes 16-23: give one");
  if (d.dst !== undefined && d.src2 !== undefined) throw new ImsimError("EINVAL", "dst and src2 share bytes 24-31: give one");
  const view = new DataView(out.buffer, out.byteOffset + offset, DESC_SIZE);
  out.fill(0, offset, offset + DESC_SIZE);
  view.setUint32(D_PASID, (pasid | (rsvd0 << 20) | (d.priv ? D_PRIV : 0)) >>> 0, true);
  view.setUint32(D_FLAGS, (flags | (d.opcode << 24)) >>> 0, true);
  view.setBigUint64(D_COMPLETION, u64(d.completionAddr, "completion address"), true);
  view.setBigUint64(D_SRC, u64(d.src ?? d.pattern, d.pattern !== undefined ? "fill pattern" : "source address"), true);
  view.setBigUint64(D_DST, u64(d.dst ?? d.src2, d.src2 !== undefined ? "second source address" : "destination address"), true);
  view.setUint32(D_XFER, checkInt(d.xferSize ?? 0, 0, 0xffffffff, "transfer size"), true);
  view.setUint16(D_INT_HANDLE, checkInt(d.intHandle ?? 0, 0, 0xffff, "interrupt handle"), true);
  view.setUint16(D_RSVD1, rsvd1, true);
  if (d.crcSeed !== undefined && d.expectedResult !== undefined) throw new ImsimError("EINVAL", "crcSeed and expectedResult share byte 40: give one");
  if (d.crcSeed !== undefined) view.setUint32(D_OP_SPECIFIC, checkInt(d.crcSeed, 0, 0xffffffff, "CRC seed"), true);
  if (d.expectedResult !== undefined) view.setUint8(D_OP_SPECIFIC, checkInt(d.expectedResult, 0, 0xff, "expected result"));
  return out;
}

/** Reads the fields of a 64-byte descriptor. */
export function decodeDescriptor(bytes: Uint8Array, offset = 0): Descriptor {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, DESC_SIZE);
  const dw0 = view.getUint32(D_PASID, true);
  const dw1 = view.getUint32(D_FLAGS, true);
  return {
    opcode: dw1 >>> 24,
    flags: dw1 & 0xffffff,
    pasid: dw0 & D_PASID_MASK,
    priv: (dw0 & D_PRIV) !== 0,
    completionAddr: view.getBigUint64(D_COMPLETION, true),
    src: view.getBigUint64(D_SRC, true),
    dst: view.getBigUint64(D_DST, true),
    xferSize: view.getUint32(D_XFER, true),
    intHandle: view.getUint16(D_INT_HANDLE, true),
    crcSeed: view.getUint32(D_OP_SPECIFIC, true),
    expectedResult: view.getUint8(D_OP_SPECIFIC),
  };
}

/** A completion record as the device wrote it (struct dsa_completion_record). */
export interface CompletionRecord {
  /** Full status byte, bit 7 = the fault was a write. */
  rawStatus: number;
  /** Status code (bits 6:0): COMP_SUCCESS, COMP_BAD_OPCODE, ... */
  status: number;
  faultOnWrite: boolean;
  /** Compare: 0 equal, 1 different. */
  result: number;
  faultInfo: number;
  bytesCompleted: number;
  faultAddr: bigint;
  /** CRC generation result (low 32 bits of crc_val). */
  crc: number;
  /** Invalid flags (status COMP_INVALID_FLAGS); shares bytes with crc. */
  invalidFlags: number;
}

/** Reads the 32-byte completion record at `address` of `memory`. */
export function readCompletionRecord(memory: Memory, address: number): CompletionRecord {
  const b = memory.read(address, COMP_RECORD_SIZE);
  const view = new DataView(b.buffer, b.byteOffset, COMP_RECORD_SIZE);
  const raw = b[CR_STATUS]!;
  return {
    rawStatus: raw,
    status: raw & COMP_STATUS_MASK,
    faultOnWrite: (raw & COMP_STATUS_WRITE) !== 0,
    result: b[CR_RESULT]!,
    faultInfo: b[CR_FAULT_INFO]!,
    bytesCompleted: view.getUint32(CR_BYTES_COMPLETED, true),
    faultAddr: view.getBigUint64(CR_FAULT_ADDR, true),
    crc: view.getUint32(CR_CRC_VAL, true),
    invalidFlags: view.getUint32(CR_INVALID_FLAGS, true) & 0xffffff,
  };
}
