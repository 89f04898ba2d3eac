import { describe, expect, test } from "vitest";
import * as R from "../src/registers.js";
import { IdxdVdev, Memory, readCompletionRecord } from "../src/index.js";
import { STRATEGIES, boot, bootState, deviceActions } from "./support/boot.js";

const CR = R.OP_FLAG_CRAV | R.OP_FLAG_RCR | R.OP_FLAG_RCI;

describe.each(STRATEGIES)("the guest's virtual MSI-X (%s)", (_name, strategy) => {
  const guest = (b: ReturnType<typeof boot>, name: string, wq: number, pasid: number) => {
    const memory = new Memory(1 << 16, name);
    const vdev = IdxdVdev.create(b.driver, { name, wq, pasid, memory, vectors: 3 });
    const cr = memory.alloc(32, 32);
    const seen: number[] = [];
    const noop = (v: number) => {
      memory.write(cr, new Uint8Array(32));
      vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: CR, completionAddr: cr, intHandle: vdev.guest.requestIntHandle(v).handle });
      b.device.run();
      return readCompletionRecord(memory, cr).status;
    };
    return { vdev, seen, noop };
  };

  test("a masked guest vector holds its completion interrupt and delivers it once on unmask", () => {
    const b = boot(strategy);
    const g = guest(b, "vdsa0", 2, 0x42);
    g.vdev.guest.enableVector(1, (v) => g.seen.push(v));
    g.vdev.guest.maskVector(1);
    expect(g.noop(1)).toBe(R.COMP_SUCCESS);
    expect(g.seen).toEqual([]);
    g.vdev.guest.unmaskVector(1);
    expect(g.seen).toEqual([1]);
    g.vdev.guest.unmaskVector(1);
    expect(g.seen).toEqual([1]);
    expect(b.system.faults.total).toBe(0);
    b.driver.remove();
  });

  test("masking is lazy: the backing IMS entry stays unmasked until a completion arrives; the first is held by the flow and masks it, later ones set its pending bit; unmask delivers once", () => {
    const b = boot(strategy);
    const g = guest(b, "vdsa0", 2, 0x42);
    g.vdev.guest.enableVector(1, (v) => g.seen.push(v));
    const entry = b.driver.strategy.irqs(g.vdev.queue)[0]!.storeIndex;
    const ims = b.device.ims!;
    g.vdev.guest.maskVector(1);
    expect(ims.isMasked(entry)).toBe(false);
    expect(g.noop(1)).toBe(R.COMP_SUCCESS);
    expect([ims.isMasked(entry), ims.isPending(entry)]).toEqual([true, false]);
    expect(g.noop(1)).toBe(R.COMP_SUCCESS);
    expect(g.noop(1)).toBe(R.COMP_SUCCESS);
    expect([ims.isMasked(entry), ims.isPending(entry)]).toEqual([true, true]);
    expect(g.seen).toEqual([]);
    g.vdev.guest.unmaskVector(1);
    expect(g.seen).toEqual([1]);
    expect([ims.isMasked(entry), ims.isPending(entry)]).toEqual([false, false]);
    expect(b.system.faults.total).toBe(0);
    b.driver.remove();
  });

  test("two guests each number their vectors from 1, get their own PASID on the backing entries, and see only their own interrupts", () => {
    const b = boot(strategy);
    const a = guest(b, "vdsa0", 2, 0x42);
    const c = guest(b, "vdsa1", 3, 0x43);
    a.vdev.guest.enableVector(1, (v) => a.seen.push(v));
    c.vdev.guest.enableVector(1, (v) => c.seen.push(v));
    c.vdev.guest.enableVector(2, (v) => c.seen.push(v));
    expect(a.vdev.guest.enabledVectors()).toEqual([1]);
    expect(c.vdev.guest.enabledVectors()).toEqual([1, 2]);
    for (const [g, pasid] of [[a, 0x42], [c, 0x43]] as const) {
      for (const irq of b.driver.strategy.irqs(g.vdev.queue)) expect(b.device.ims!.pasid(irq.storeIndex)).toBe(pasid);
    }
    expect(a.noop(1)).toBe(R.COMP_SUCCESS);
    expect(c.noop(2)).toBe(R.COMP_SUCCESS);
    expect(a.seen).toEqual([1]);
    expect(c.seen).toEqual([2]);
    // Guest A's vector 2 is not enabled: its emulated handle request fails, whatever guest C did.
    expect(a.vdev.guest.requestIntHandle(2).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
    // Guest C's handle used by guest A: the entry carries C's PASID, so the device refuses it.
    const foreign = c.vdev.guest.requestIntHandle(1).handle;
    const memA = a.vdev.memory;
    const cr = memA.alloc(32, 32);
    a.vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: CR, completionAddr: cr, intHandle: foreign });
    b.device.run();
    expect(readCompletionRecord(memA, cr).status).toBe(R.COMP_INT_HANDLE_INVAL);
    expect(c.seen).toEqual([2]);
    b.driver.remove();
  });

  test("guest disables MSI-X, kernel WQ disabled, then unbind: back to the state before probe", () => {
    const b = boot(strategy);
    const g = guest(b, "vdsa0", 2, 0x42);
    g.vdev.guest.enableVector(1, () => {});
    g.vdev.guest.enableVector(2, () => {});
    g.vdev.guest.disableMsix();
    expect(b.driver.strategy.irqs(g.vdev.queue)).toHaveLength(0);
    expect(g.vdev.guest.requestIntHandle(1).err).toBe(R.CMDSTS_ERR_INVAL_INT_IDX);
    b.driver.disableWq(0);
    expect(b.device.wqEnabled(0)).toBe(false);
    expect(deviceActions(b.system)).toBe(1); // idxd-misc only
    b.driver.remove();
    expect(g.vdev.closed).toBe(true);
    expect(b.system.snapshot()).toEqual(bootState(b.system, 1));
    expect(b.device.boundPasids).toBe(0);
  });
});
