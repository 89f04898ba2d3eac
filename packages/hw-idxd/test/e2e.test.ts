import { describe, expect, test } from "vitest";
import {
  COMP_SUCCESS,
  IdxdUserQueue,
  IdxdVdev,
  Memory,
  OPCODE_CRCGEN,
  OPCODE_MEMFILL,
  OPCODE_MEMMOVE,
  OP_FLAG_CRAV,
  OP_FLAG_RCR,
  crc32c,
  readCompletionRecord,
  type CompletionRecord,
} from "../src/index.js";
import { STRATEGIES, boot, bootState, pattern } from "./support/boot.js";

describe.each(STRATEGIES)("end to end with the %s strategy", (_name, strategy) => {
  test("kernel, guest and user WQs complete correctly and each completion interrupt reaches only its own handler, once", () => {
    const { system, device, driver, memory } = boot(strategy);
    const before = system.snapshot();

    // Kernel WQ 0: memmove through MSI-X vector 1.
    const src = memory.alloc(4096);
    const dst = memory.alloc(4096);
    const data = pattern(4096, 7);
    memory.write(src, data);
    const kernelRecords: CompletionRecord[] = [];
    const sub = driver.submit(0, { opcode: OPCODE_MEMMOVE, src, dst, xferSize: 4096 }, (r) => kernelRecords.push(r));

    // A guest on WQ 2 with its own PASID and memory; it enables vector 1 first, later vector 2.
    const guestMem = new Memory(1 << 20, "guest memory");
    const vdev = IdxdVdev.create(driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: guestMem, vectors: 3 });
    const guestSeen: number[] = [];
    vdev.guest.enableVector(1, (v) => guestSeen.push(v));
    expect(vdev.guest.enabledVectors()).toEqual([1]);
    expect(driver.strategy.irqs(vdev.queue)).toHaveLength(1);
    vdev.guest.enableVector(2, (v) => guestSeen.push(v));
    const backing = driver.strategy.irqs(vdev.queue);
    expect(backing).toHaveLength(2);
    for (const irq of backing) expect(device.ims!.pasid(irq.storeIndex)).toBe(0x42);
    const gdst = guestMem.alloc(256);
    const gcr = guestMem.alloc(32, 32);
    const h2 = vdev.guest.requestIntHandle(2);
    expect(h2.err).toBe(0);
    vdev.guest.submit({ opcode: OPCODE_MEMFILL, flags: OP_FLAG_CRAV | OP_FLAG_RCR | 0x10, pattern: 0x0123456789abcdefn, dst: gdst, xferSize: 256, completionAddr: gcr, intHandle: h2.handle });

    // A user client of shared WQ 1 with PASID 7.
    const userMem = new Memory(1 << 20, "process memory");
    const user = IdxdUserQueue.open(driver, { wq: 1, pasid: 7, memory: userMem });
    const ubuf = userMem.alloc(1000);
    const ucr = userMem.alloc(32, 32);
    const udata = new TextEncoder().encode("123456789");
    userMem.write(ubuf, udata);
    expect(user.submit({ opcode: OPCODE_CRCGEN, flags: OP_FLAG_CRAV | OP_FLAG_RCR, src: ubuf, xferSize: udata.length, completionAddr: ucr })).toBe(0);

    expect(device.run()).toBe(3);

    // Results.
    expect(sub.done).toBe(true);
    expect(kernelRecords).toHaveLength(1);
    expect(kernelRecords[0]!.status).toBe(COMP_SUCCESS);
    expect(memory.read(dst, 4096)).toEqual(data);
    const fill = guestMem.read(gdst, 256);
    for (let i = 0; i < 256; i++) expect(fill[i]).toBe(Number((0x0123456789abcdefn >> BigInt(8 * (i % 8))) & 0xffn));
    expect(readCompletionRecord(guestMem, gcr).status).toBe(COMP_SUCCESS);
    const urec = readCompletionRecord(userMem, ucr);
    expect(urec.status).toBe(COMP_SUCCESS);
    expect(urec.crc).toBe(0xe3069283);
    expect(urec.crc).toBe(crc32c(udata));

    // Interrupts: each to its own handler, once.
    expect(driver.kernelWq(0).interrupts).toBe(1);
    expect(guestSeen).toEqual([2]);
    expect(vdev.guest.interrupts(1)).toBe(0);
    expect(vdev.guest.interrupts(2)).toBe(1);
    expect(user.interrupts(0)).toBe(1);
    expect(driver.miscInterrupts).toBe(0);
    const irqOf = (virq: number) => system.irqDesc(virq)!.total;
    expect(irqOf(driver.kernelWq(0).virq)).toBe(1);
    expect(irqOf(backing[0]!.virq)).toBe(0);
    expect(irqOf(backing[1]!.virq)).toBe(1);
    expect(irqOf(user.irqs()[0]!.virq)).toBe(1);
    expect(system.stats.delivered).toBe(3);
    expect(system.faults.total).toBe(0);

    vdev.close();
    user.close();
    driver.remove();
    expect(system.snapshot()).toEqual(bootState(system, 1));
    system.removeDevice(device.pci);
    expect(system.snapshot()).toEqual(bootState(system));
    expect(before.actions - system.bootSnapshot.actions).toBe(2); // idxd-misc and wq0.0's idxd-portal
  });
});
