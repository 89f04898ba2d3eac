import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import { IdxdUserQueue, IdxdVdev, Memory, encodeDescriptor, readCompletionRecord } from "../src/index.js";
import { boot } from "./support/boot.js";

function setup() {
  const b = boot();
  const gmem = new Memory(1 << 20, "guest");
  const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x50, memory: gmem, vectors: 2 });
  let guestIrqs = 0;
  vdev.guest.enableVector(1, () => guestIrqs++);
  const handle = vdev.guest.requestIntHandle(1).handle;
  const cr = gmem.alloc(32, 32);
  const buf = gmem.alloc(4096);
  const submit = (d: Parameters<typeof vdev.guest.submit>[0]) => {
    gmem.write(cr, new Uint8Array(32));
    vdev.guest.submit(d);
    b.device.run();
    return readCompletionRecord(gmem, cr);
  };
  return { ...b, gmem, vdev, handle, cr, buf, submit, guestIrqs: () => guestIrqs };
}

const CR = R.OP_FLAG_CRAV | R.OP_FLAG_RCR | R.OP_FLAG_RCI;

describe("bad input gets the hardware's status, never an exception or corrupted state", () => {
  test("descriptor errors land in the completion record with their status codes", () => {
    const s = setup();
    const base = { flags: CR, completionAddr: s.cr, intHandle: s.handle };
    expect(s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: s.buf + 64, xferSize: 8, reserved: { dword0: 1 } }).status).toBe(R.COMP_NOZERO_RESERVE);
    expect(s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: s.buf + 64, xferSize: 8, reserved: { rsvd1: 0x100 } }).status).toBe(R.COMP_NOZERO_RESERVE);
    expect(s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: s.buf + 64, xferSize: 8, crcSeed: 5 }).status).toBe(R.COMP_NOZERO_RESERVE);
    expect(s.submit({ ...base, opcode: R.OPCODE_BATCH }).status).toBe(R.COMP_BAD_OPCODE);
    expect(s.submit({ ...base, opcode: 0x7f }).status).toBe(R.COMP_BAD_OPCODE);
    const inv = s.submit({ ...base, flags: CR | 0x100000, opcode: R.OPCODE_NOOP });
    expect([inv.status, inv.invalidFlags]).toEqual([R.COMP_INVALID_FLAGS, 0x100000]);
    expect(s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: s.buf + 64, xferSize: 0 }).status).toBe(R.COMP_XFER_ERANGE);
    const rf = s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: (1 << 20) - 4, dst: s.buf, xferSize: 8 });
    expect([rf.status, rf.faultOnWrite, rf.faultAddr]).toEqual([R.COMP_PAGE_FAULT_NOBOF, false, BigInt(1 << 20)]);
    const wf = s.submit({ ...base, opcode: R.OPCODE_MEMFILL, pattern: 1, dst: 2 ** 40, xferSize: 8 });
    expect([wf.status, wf.faultOnWrite, wf.faultAddr]).toEqual([R.COMP_PAGE_FAULT_NOBOF, true, 2n ** 40n]);
    // Addresses beyond 2^53 (not exact as JS numbers) are reported exactly.
    const hf = s.submit({ ...base, opcode: R.OPCODE_CRCGEN, src: 2n ** 63n + 0x40n, xferSize: 8 });
    expect([hf.status, hf.faultOnWrite, hf.faultAddr]).toEqual([R.COMP_PAGE_FAULT_NOBOF, false, 2n ** 63n + 0x40n]);
    const hw = s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: 0xfffffffffffff000n, xferSize: 8 });
    expect([hw.status, hw.faultOnWrite, hw.faultAddr]).toEqual([R.COMP_PAGE_FAULT_NOBOF, true, 0xfffffffffffff000n]);
    // Every one of them still interrupted the guest once (RCI), and nothing went to SWERR.
    expect(s.guestIrqs()).toBe(11);
    expect(s.device.stats.softwareErrors).toBe(0);
    // An invalid or foreign interrupt handle: status INT_HANDLE_INVAL and no interrupt.
    expect(s.submit({ ...base, opcode: R.OPCODE_NOOP, intHandle: 2047 }).status).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(s.submit({ ...base, opcode: R.OPCODE_NOOP, intHandle: 0xffff }).status).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(s.guestIrqs()).toBe(11);
    // The device still works.
    s.gmem.write(s.buf, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(s.submit({ ...base, opcode: R.OPCODE_MEMMOVE, src: s.buf, dst: s.buf + 64, xferSize: 8 }).status).toBe(R.COMP_SUCCESS);
    expect(s.gmem.read(s.buf + 64, 8)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(s.guestIrqs()).toBe(12);
  });

  test("a guest cannot fire another PASID's IMS entry with its handle", () => {
    const s = setup();
    const umem = new Memory(1 << 20, "process");
    const user = IdxdUserQueue.open(s.driver, { wq: 1, pasid: 7, memory: umem });
    const r = s.submit({ opcode: R.OPCODE_NOOP, flags: CR, completionAddr: s.cr, intHandle: user.handle() });
    expect(r.status).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(user.interrupts()).toBe(0);
    expect(s.system.faults.total).toBe(0);
  });

  test("errors without a usable completion record go to SWERR, raise the misc vector and are acknowledged", () => {
    const s = setup();
    const d = s.device;
    // RCR without CRAV: invalid flags, nowhere to write.
    s.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_RCR });
    d.run();
    expect(s.driver.miscInterrupts).toBe(1);
    expect(s.driver.softwareErrors[0]).toMatchObject({ error: R.COMP_INVALID_FLAGS, wq: 2, operation: R.OPCODE_NOOP, pasid: 0x50, invalidFlags: R.OP_FLAG_RCR, overflow: false });
    expect(d.read(R.IDXD_SWERR, 4) & R.SWERR_VALID).toBe(0); // acknowledged by the handler
    // A misaligned completion record address.
    s.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_CRAV | R.OP_FLAG_RCR, completionAddr: s.cr + 8 });
    d.run();
    expect(s.driver.softwareErrors[1]).toMatchObject({ error: R.COMP_CRA_ALIGN });
    // A completion record outside the guest's memory.
    s.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_CRAV | R.OP_FLAG_RCR, completionAddr: 1 << 21 });
    d.run();
    expect(s.driver.softwareErrors[2]).toMatchObject({ error: R.COMP_CRA_XLAT });
    // A portal write that is not one 64-byte descriptor is dropped and recorded.
    expect(() => s.vdev.guest.submitRaw(new Uint8Array(32))).not.toThrow();
    expect(s.driver.softwareErrors[3]).toMatchObject({ error: R.SWERR_IMSIM_BAD_PORTAL_WRITE, wq: 2 });
    expect(s.driver.miscInterrupts).toBe(4);
  });

  test("a second software error before acknowledgement sets SWERR.overflow and keeps the first", () => {
    const s = setup();
    s.device.write(R.IDXD_GENCTRL, 4, 0); // no misc interrupt: nobody acknowledges
    s.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_RCR });
    s.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_CRAV | R.OP_FLAG_RCR, completionAddr: 8 });
    s.device.run();
    const q0 = s.device.read(R.IDXD_SWERR, 8);
    expect(Number(q0 & 3n)).toBe(R.SWERR_VALID | R.SWERR_OVERFLOW);
    expect(Number((q0 >> 8n) & 0xffn)).toBe(R.COMP_INVALID_FLAGS);
    expect(s.device.read(R.IDXD_INTCAUSE, 4) & R.INTC_ERR).toBe(R.INTC_ERR);
    expect(s.driver.miscInterrupts).toBe(0);
  });

  test("descriptors to a disabled dedicated WQ are dropped with a SWERR; to a disabled shared WQ they get retry", () => {
    const s = setup();
    const desc = encodeDescriptor({ opcode: R.OPCODE_NOOP });
    expect(s.device.submit(R.portalOffset(3, true, true), desc)).toBe(0);
    expect(s.driver.softwareErrors.at(-1)).toMatchObject({ error: R.SWERR_IMSIM_WQ_DISABLED, wq: 3 });
    expect(s.device.submit(R.portalOffset(1, false, true), desc, 5)).toBe(1);
    expect(s.device.submit(R.portalOffset(9, false, true), desc, 5)).toBe(1);
    expect(s.device.submit(-5, desc)).toBe(1);
    expect(s.device.stats.submitted).toBe(0);
  });
});
