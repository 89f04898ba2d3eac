import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import { IdxdVdev, Memory, encodeDescriptor, readCompletionRecord, type IdxdDriver } from "../src/index.js";
import { STRATEGIES, boot, type Booted } from "./support/boot.js";

// DSA spec rev 3.0 §3.7, §5.4, §9.2.28: an IMS entry's PASID Enable must equal the WQ PASID Enable
// of the WQ a descriptor came through and, when it is 1, the entry's PASID must equal the
// descriptor's; otherwise the descriptor completes with 0x19 and raises nothing.

const CR_RCI = R.OP_FLAG_CRAV | R.OP_FLAG_RCR | R.OP_FLAG_RCI;

/** An IMS client of shared WQ 1 with one interrupt, PASID-less when `pasid` is undefined; counts its interrupts. */
function imsClient(b: Booted, name: string, base: number, pasid?: number) {
  const driver: IdxdDriver = b.driver;
  const queue = driver.createImsQueue(1, { name, slice: { base, count: 1 }, nvec: 1, ...(pasid === undefined ? {} : { pasid }) });
  const irq = driver.strategy.irqs(queue)[0]!;
  const counter = { hits: 0 };
  b.system.requestIrq(irq.virq, name, () => counter.hits++);
  return {
    storeIndex: irq.storeIndex,
    handle: driver.imsHandle(irq.storeIndex),
    counter,
    close: () => {
      b.system.freeIrq(irq.virq, name);
      driver.destroyImsQueue(queue);
    },
  };
}

/**
 * A no-op with a completion record in `memory` and an interrupt on IMS handle `handle`, written to
 * WQ `wq`'s IMS portal under `pasid` (ENQCMD; a dedicated WQ uses its WQCFG PASID instead).
 * Returns the completion status.
 */
function noopOnIms(b: Booted, memory: Memory, wq: number, handle: number, pasid: number): number {
  const cr = memory.alloc(R.COMP_RECORD_SIZE, R.COMP_RECORD_ALIGN);
  const bytes = encodeDescriptor({ opcode: R.OPCODE_NOOP, flags: CR_RCI, completionAddr: cr, intHandle: handle });
  b.device.submit(R.portalOffset(wq, false, true), bytes, pasid);
  b.device.run();
  return readCompletionRecord(memory, cr).status;
}

/** Sets or clears the mask bit (b0) of IMS entry `i` through BAR0, as the irqchip does. */
function maskIms(b: Booted, i: number, masked: boolean): void {
  const at = b.device.imsOffset + i * R.IMS_ENTRY_SIZE + 12;
  const ctrl = b.device.read(at, 4);
  b.device.write(at, 4, masked ? (ctrl | 1) >>> 0 : (ctrl & ~1) >>> 0);
}

describe.each(STRATEGIES)("IMS entry PASID checks (%s)", (_name, strategy) => {
  test("a PASID-less IMS entry refuses a descriptor carrying a PASID: 0x19, no interrupt, nothing pending; a PASID-less descriptor gets exactly one", () => {
    const b = boot(strategy);
    const size = b.device.ims!.size;
    const client = imsClient(b, "nopasid", size - 1);
    expect(b.device.ims!.pasid(client.storeIndex)).toBe(-1);
    const process = new Memory(1 << 16, "process");
    b.device.bindPasid(7, process);

    // Masked, so that a wrongly accepted descriptor would leave the entry pending.
    maskIms(b, client.storeIndex, true);
    expect(noopOnIms(b, process, 1, client.handle, 7)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(b.device.ims!.isPending(client.storeIndex)).toBe(false);
    maskIms(b, client.storeIndex, false);
    expect(noopOnIms(b, process, 1, client.handle, 7)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(client.counter.hits).toBe(0);
    expect(b.device.stats.interrupts).toBe(0);
    expect(b.device.ims!.isPending(client.storeIndex)).toBe(false);

    expect(noopOnIms(b, b.device.memory, 1, client.handle, -1)).toBe(R.COMP_SUCCESS);
    expect(client.counter.hits).toBe(1);
    expect(b.device.stats.interrupts).toBe(1);
    client.close();
    b.driver.remove();
  });

  test("a PASID-enabled IMS entry refuses a PASID-less descriptor and another PASID; its own PASID completes with exactly one interrupt", () => {
    const b = boot(strategy);
    const size = b.device.ims!.size;
    const client = imsClient(b, "pasid7", size - 1, 7);
    expect(b.device.ims!.pasid(client.storeIndex)).toBe(7);
    const seven = new Memory(1 << 16, "process 7");
    const eight = new Memory(1 << 16, "process 8");
    b.device.bindPasid(7, seven);
    b.device.bindPasid(8, eight);

    expect(noopOnIms(b, b.device.memory, 1, client.handle, -1)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(noopOnIms(b, eight, 1, client.handle, 8)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(client.counter.hits).toBe(0);
    expect(b.device.stats.interrupts).toBe(0);
    expect(b.device.ims!.isPending(client.storeIndex)).toBe(false);

    expect(noopOnIms(b, seven, 1, client.handle, 7)).toBe(R.COMP_SUCCESS);
    expect(client.counter.hits).toBe(1);
    expect(b.device.stats.interrupts).toBe(1);
    client.close();
    b.driver.remove();
  });

  test("dedicated WQs: the WQ's PASID Enable (WQCFG) is what the entry is checked against", () => {
    const b = boot(strategy);
    const size = b.device.ims!.size;
    const plain = imsClient(b, "nopasid", size - 1);
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "guest"), vectors: 2 });
    let guestHits = 0;
    vdev.guest.enableVector(1, () => guestHits++);
    const guestHandle = vdev.guest.requestIntHandle(1).handle;

    // The guest's WQ 2 has PASID enabled (0x42): a PASID-less entry is refused, its own entry serves.
    expect(noopOnIms(b, vdev.guest.memory, 2, plain.handle, -1)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(plain.counter.hits).toBe(0);
    expect(noopOnIms(b, vdev.guest.memory, 2, guestHandle, -1)).toBe(R.COMP_SUCCESS);
    expect(guestHits).toBe(1);

    // Kernel WQ 0 (dedicated, no kernel PASID: PASID disabled): the guest's entry is refused, the PASID-less one serves.
    expect(noopOnIms(b, b.device.memory, 0, guestHandle, -1)).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(guestHits).toBe(1);
    expect(noopOnIms(b, b.device.memory, 0, plain.handle, -1)).toBe(R.COMP_SUCCESS);
    expect(plain.counter.hits).toBe(1);
    expect(b.device.stats.interrupts).toBe(2);

    vdev.close();
    plain.close();
    b.driver.remove();
  });
});
