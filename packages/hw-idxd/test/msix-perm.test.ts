import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import { IdxdVdev, Memory, encodeDescriptor, readCompletionRecord } from "../src/index.js";
import { STRATEGIES, boot } from "./support/boot.js";

const CR_RCI = R.OP_FLAG_CRAV | R.OP_FLAG_RCR | R.OP_FLAG_RCI;

/** MSI-X permission entry `vector` as the device holds it. */
const perm = (b: ReturnType<typeof boot>, vector: number): number => b.device.read(b.device.msixPermOffset + vector * R.MSIX_PERM_SIZE, 4);

/**
 * Sends a no-op with a completion record in `memory` and an interrupt on MSI-X handle `handle`
 * through WQ `wq`'s MSI-X portal, submitted under `pasid` (ENQCMD; a dedicated WQ uses its WQCFG
 * PASID instead). Returns the completion status.
 */
function noopOnMsix(b: ReturnType<typeof boot>, memory: Memory, wq: number, handle: number, pasid: number): number {
  const cr = memory.alloc(R.COMP_RECORD_SIZE, R.COMP_RECORD_ALIGN);
  const bytes = encodeDescriptor({ opcode: R.OPCODE_NOOP, flags: CR_RCI, completionAddr: cr, intHandle: handle });
  b.device.submit(R.portalOffset(wq, false, false), bytes, pasid);
  b.device.run();
  return readCompletionRecord(memory, cr).status;
}

describe.each(STRATEGIES)("the MSI-X permissions table (%s)", (_name, strategy) => {
  test("a user's descriptor (PASID 7, shared WQ) naming the kernel WQ's MSI-X handle gets an invalid-handle status and fires no kernel vector", () => {
    const b = boot(strategy);
    const user = new Memory(1 << 16, "process");
    b.device.bindPasid(7, user);
    const release = b.driver.acquireWq(1, "user", -1);
    const k = b.driver.kernelWq(0);
    expect(perm(b, k.vector)).toBe(0); // no kernel PASID: Linux leaves the entry at 0
    expect(noopOnMsix(b, user, 1, k.handle, 7)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(b.driver.kernelWq(0).interrupts).toBe(0);
    expect(b.device.stats.interrupts).toBe(0);
    expect(b.device.msix.isPending(k.vector)).toBe(false);
    release();
    b.driver.remove();
  });

  test("a guest's dedicated WQ (WQCFG PASID 0x42) cannot raise the kernel's MSI-X vector either", () => {
    const b = boot(strategy);
    const memory = new Memory(1 << 16, "guest");
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory, vectors: 2 });
    const k = b.driver.kernelWq(0);
    expect(noopOnMsix(b, memory, 2, k.handle, -1)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(b.driver.kernelWq(0).interrupts).toBe(0);
    expect(b.device.stats.interrupts).toBe(0);
    vdev.close();
    b.driver.remove();
  });

  test("the kernel WQ still completes with its interrupt when the entry is left at 0", () => {
    const b = boot(strategy);
    let status = -1;
    const sub = b.driver.submit(0, { opcode: R.OPCODE_NOOP }, (r) => (status = r.status));
    b.device.run();
    expect(sub.done).toBe(true);
    expect(status).toBe(R.COMP_SUCCESS);
    expect(b.driver.kernelWq(0).interrupts).toBe(1);
    b.driver.remove();
  });

  test("with a kernel PASID the driver programs the kernel vectors' entries as Linux does; the kernel path completes, other PASIDs and PASID-less descriptors are refused", () => {
    const b = boot(strategy, { driver: { kernelPasid: 5 } });
    const k = b.driver.kernelWq(0);
    expect(b.driver.kernelPasid).toBe(5);
    expect(perm(b, 0)).toBe(0); // idxd-misc: never written
    expect(perm(b, k.vector)).toBe((R.MSIX_PERM_PASID_EN | (5 << R.MSIX_PERM_PASID_SHIFT)) >>> 0);
    const mode = b.device.read(b.device.wqcfgOffset + 0 * R.WQCFG_SIZE + R.WQCFG_MODE_PASID, 4);
    expect(mode & R.WQCFG_PASID_EN).not.toBe(0);
    expect((mode >>> R.WQCFG_PASID_SHIFT) & 0xfffff).toBe(5);

    let status = -1;
    b.driver.submit(0, { opcode: R.OPCODE_NOOP }, (r) => (status = r.status));
    b.device.run();
    expect(status).toBe(R.COMP_SUCCESS);
    expect(b.driver.kernelWq(0).interrupts).toBe(1);

    const user = new Memory(1 << 16, "process");
    b.device.bindPasid(7, user);
    const release = b.driver.acquireWq(1, "user", -1);
    expect(noopOnMsix(b, user, 1, k.handle, 7)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(noopOnMsix(b, b.device.memory, 1, k.handle, -1)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(b.driver.kernelWq(0).interrupts).toBe(1);
    release();

    // Releasing the kernel WQ clears its entry (idxd_device_clear_perm_entry); remove unbinds the PASID.
    b.driver.disableWq(0);
    expect(perm(b, k.vector)).toBe(0);
    b.driver.remove();
    expect(b.device.boundPasids).toBe(1); // only the user's PASID 7, bound by this test
  });

  test("a kernel shared WQ submits under the kernel PASID and completes with its interrupt", () => {
    const b = boot(strategy, { driver: { kernelPasid: 5, wqs: [{ id: 0, type: "kernel", mode: "shared", size: 8, group: 0 }] } });
    let status = -1;
    b.driver.submit(0, { opcode: R.OPCODE_NOOP }, (r) => (status = r.status));
    b.device.run();
    expect(status).toBe(R.COMP_SUCCESS);
    expect(b.driver.kernelWq(0).interrupts).toBe(1);
    b.driver.remove();
  });

  test("Ignore = 1 suppresses the completion interrupt and leaves nothing pending; the completion record is still written", () => {
    const b = boot(strategy);
    const k = b.driver.kernelWq(0);
    b.device.write(b.device.msixPermOffset + k.vector * R.MSIX_PERM_SIZE, 4, R.MSIX_PERM_IGNORE);
    const sub = b.driver.submit(0, { opcode: R.OPCODE_NOOP });
    b.device.run();
    expect(readCompletionRecord(b.device.memory, sub.completionAddr).status).toBe(R.COMP_SUCCESS);
    expect(b.driver.kernelWq(0).interrupts).toBe(0);
    expect(b.device.stats.interrupts).toBe(0);
    expect(b.device.msix.isPending(k.vector)).toBe(false);
    // Cleared again, the next completion interrupts as usual (and reaps both records).
    b.device.write(b.device.msixPermOffset + k.vector * R.MSIX_PERM_SIZE, 4, 0);
    b.driver.submit(0, { opcode: R.OPCODE_NOOP });
    b.device.run();
    expect(b.driver.kernelWq(0).interrupts).toBe(1);
    expect(sub.done).toBe(true);
    b.driver.remove();
  });

  test("Ignore does not affect interrupts other than descriptor completions (vector 0, idxd-misc)", () => {
    const b = boot(strategy);
    b.device.write(b.device.msixPermOffset, 4, R.MSIX_PERM_IGNORE);
    const before = b.driver.miscInterrupts;
    b.device.write(R.IDXD_CMD, 4, ((R.CMD_DRAIN_ALL << R.CMD_CODE_SHIFT) | R.CMD_INT_REQ) >>> 0);
    expect(b.driver.miscInterrupts).toBe(before + 1);
    b.driver.remove();
  });
});
