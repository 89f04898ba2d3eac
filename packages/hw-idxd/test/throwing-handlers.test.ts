import { afterEach, describe, expect, test, vi } from "vitest";
import { createSystem, isImsimError, type HandlerErrorRecord } from "@imsim/core";
import * as R from "../src/registers.js";
import { IdxdDevice, IdxdDriver, IdxdUserQueue, IdxdVdev, Memory } from "../src/index.js";
import { STRATEGIES, boot, bootState, type Booted } from "./support/boot.js";

// A handler that throws, or one that calls back into the device, breaks nothing else: every queued
// descriptor completes (stats.completed === stats.interrupts), each interrupt reaches its own
// handler, and the error is kept where core keeps it (system.handlerErrors, or the onHandlerError hook).
// With interrupt remapping only: without it there is no IMS (test/no-ims.test.ts).

const CASES = STRATEGIES.map(([name, strategy]) => [name, strategy, true] as const);

afterEach(() => {
  vi.restoreAllMocks();
});

/** A guest on dedicated WQ `wq` with vector 1 enabled through `handler`; `submit()` queues a no-op with a completion interrupt on it. */
function guest(b: Booted, name: string, wq: number, pasid: number, handler: (v: number) => void) {
  const vdev = IdxdVdev.create(b.driver, { name, wq, pasid, memory: new Memory(1 << 16, name), vectors: 2 });
  vdev.guest.enableVector(1, handler);
  const handle = vdev.guest.requestIntHandle(1).handle;
  return { vdev, submit: () => vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_RCI, intHandle: handle }) };
}

function captured(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}

function counts(device: IdxdDevice) {
  return { completed: device.stats.completed, interrupts: device.stats.interrupts };
}

function occupancies(device: IdxdDevice): number[] {
  return Array.from({ length: device.caps.numWqs }, (_, w) => device.occupancy(w));
}

describe.each(CASES)("throwing and re-entrant handlers (%s)", (_name, strategy, ir) => {
  test("a guest handler that throws does not stop device.run(): every descriptor completes, every interrupt reaches its handler, the error is kept and warned about once", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const b = boot(strategy, { ir });
    const seen: string[] = [];
    const a = guest(b, "vdsa0", 2, 0x42, () => {
      seen.push("A");
      throw new Error("guest A's handler failed");
    });
    const g = guest(b, "vdsa1", 3, 0x43, () => seen.push("B"));
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process") });
    user.onInterrupt = () => seen.push("U");
    const before = counts(b.device);
    for (let i = 0; i < 3; i++) a.submit();
    g.submit();
    g.submit();
    user.submit({ opcode: R.OPCODE_NOOP });

    expect(b.device.run()).toBe(6);

    expect(occupancies(b.device)).toEqual(new Array(b.device.caps.numWqs).fill(0));
    expect(b.device.stats.completed - before.completed).toBe(6);
    expect(b.device.stats.interrupts - before.interrupts).toBe(6);
    expect(seen.filter((s) => s === "A")).toHaveLength(3);
    expect(seen.filter((s) => s === "B")).toHaveLength(2);
    expect(seen.filter((s) => s === "U")).toHaveLength(1);
    expect(a.vdev.guest.interrupts(1)).toBe(3);
    const errors = b.system.handlerErrors.entries();
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e.action).toBe("vfio-msix[1](vdsa0)");
      expect((e.error as Error).message).toBe("guest A's handler failed");
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(b.system.faults.total).toBe(0);
    b.driver.remove();
  });

  test("with an onHandlerError hook the hook gets each error, with the action that threw", () => {
    const hooked: HandlerErrorRecord[] = [];
    const b = boot(strategy, { ir, onHandlerError: (r) => hooked.push(r) });
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process"), nvec: 2 });
    user.onInterrupt = (index) => {
      if (index === 1) throw new Error(`user interrupt ${index} failed`);
    };
    user.submit({ opcode: R.OPCODE_NOOP }, 0);
    user.submit({ opcode: R.OPCODE_NOOP }, 1);
    user.submit({ opcode: R.OPCODE_NOOP }, 1);
    expect(b.device.run()).toBe(3);
    expect([user.interrupts(0), user.interrupts(1)]).toEqual([1, 2]);
    expect(hooked.map((r) => [r.action, (r.error as Error).message])).toEqual([
      [user.actionName, "user interrupt 1 failed"],
      [user.actionName, "user interrupt 1 failed"],
    ]);
    expect(hooked.map((r) => r.virq)).toEqual([user.irqs()[1]!.virq, user.irqs()[1]!.virq]);
    b.driver.remove();
  });

  test("a kernel completion callback that throws does not keep the other records of the same interrupt from being reaped", () => {
    const hooked: HandlerErrorRecord[] = [];
    const b = boot(strategy, { ir, onHandlerError: (r) => hooked.push(r) });
    const virq = b.driver.kernelWq(0).virq;
    const done: number[] = [];
    // Three completions while the vector is disabled: the interrupt is held, and its one replay
    // finds all three records written.
    b.system.disableIrq(virq);
    const subs = [0, 1, 2].map((i) =>
      b.driver.submit(0, { opcode: R.OPCODE_NOOP }, () => {
        done.push(i);
        if (done.length === 1) throw new Error("first callback failed");
      }),
    );
    expect(b.device.run()).toBe(3);
    expect(done).toEqual([]);
    b.system.enableIrq(virq);
    // The first callback reaped threw; the two after it in the same handler call still ran.
    expect([...done].sort()).toEqual([0, 1, 2]);
    expect(subs.map((s) => s.done)).toEqual([true, true, true]);
    expect(b.driver.kernelWq(0).outstanding).toBe(0);
    expect(hooked.map((r) => [r.action, (r.error as Error).message])).toEqual([["idxd-portal", "first callback failed"]]);
    b.driver.remove();
  });

  test("an onHandlerError hook that throws: run() still completes every descriptor and raises every interrupt, then rethrows the hook's error", () => {
    let hookCalls = 0;
    const b = boot(strategy, {
      ir,
      onHandlerError: (r) => {
        hookCalls++;
        throw new Error(`hook: ${(r.error as Error).message}`);
      },
    });
    const seen: string[] = [];
    const a = guest(b, "vdsa0", 2, 0x42, () => {
      seen.push("A");
      throw new Error("A failed");
    });
    const g = guest(b, "vdsa1", 3, 0x43, () => seen.push("B"));
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process") });
    user.onInterrupt = () => seen.push("U");
    const before = counts(b.device);
    a.submit();
    g.submit();
    g.submit();
    user.submit({ opcode: R.OPCODE_NOOP });

    expect(() => b.device.run()).toThrow("hook: A failed");

    expect(hookCalls).toBe(1);
    expect(occupancies(b.device)).toEqual(new Array(b.device.caps.numWqs).fill(0));
    expect(b.device.stats.completed - before.completed).toBe(4);
    expect(b.device.stats.interrupts - before.interrupts).toBe(4);
    expect([...seen].sort()).toEqual(["A", "B", "B", "U"]);
    // The error belonged to that call: the next one has nothing to rethrow.
    expect(b.device.run()).toBe(0);
    g.submit();
    expect(b.device.run()).toBe(1);
    expect(seen.filter((s) => s === "B")).toHaveLength(3);
  });

  test("issue 11: guest A's handler runs device.run(), which completes guest B's descriptor; A's later completions still run A's handler", () => {
    const b = boot(strategy, { ir });
    const seen: string[] = [];
    let nested = true;
    let innerRan = -1;
    const g: { submit: () => unknown } = { submit: () => undefined };
    const a = guest(b, "vdsa0", 2, 0x42, () => {
      seen.push("A");
      if (nested) {
        nested = false;
        g.submit();
        innerRan = b.device.run();
      }
    });
    Object.assign(g, guest(b, "vdsa1", 3, 0x43, () => seen.push("B")));

    a.submit();
    expect(b.device.run()).toBe(1);
    expect(innerRan).toBe(1);
    expect(seen).toEqual(["A", "B"]);
    a.submit();
    b.device.run();
    expect(seen).toEqual(["A", "B", "A"]);
    g.submit();
    b.device.run();
    a.submit();
    a.submit();
    b.device.run();
    expect(seen).toEqual(["A", "B", "A", "B", "A", "A"]);
    expect(b.device.stats.completed).toBe(b.device.stats.interrupts);
    expect(b.system.handlerErrors.total).toBe(0);
    expect(b.system.faults.total).toBe(0);
    b.driver.remove();
  });

  test("a handler that submits and runs its own next descriptor is not nested: the raise is held and replayed once the handler returns", () => {
    const b = boot(strategy, { ir });
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    const results: number[] = [];
    const a = guest(b, "vdsa0", 2, 0x42, () => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      calls++;
      if (calls < 3) {
        a.submit();
        results.push(b.device.run());
        results.push(b.device.lastDelivery);
      }
      depth--;
    });
    const before = counts(b.device);
    a.submit();
    expect(b.device.run()).toBe(1);
    expect(calls).toBe(3);
    expect(maxDepth).toBe(1);
    // Each inner run executed one descriptor whose interrupt was held (HELD = 1) for the replay.
    expect(results).toEqual([1, 1, 1, 1]);
    expect(b.device.stats.completed - before.completed).toBe(3);
    expect(b.device.stats.interrupts - before.interrupts).toBe(3);
    expect(a.vdev.guest.interrupts(1)).toBe(3);
    b.driver.remove();
  });

  test("closing a queue, disabling a vector or its WQ, or removing the driver from an interrupt's own handler is EBUSY and changes nothing", () => {
    const b = boot(strategy, { ir });
    const errors: unknown[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
        errors.push(undefined);
      } catch (e) {
        errors.push(e);
      }
    };
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process") });
    let inside: unknown;
    let first = true;
    const a = guest(b, "vdsa0", 2, 0x42, () => {
      if (!first) return;
      first = false;
      const before = { snapshot: b.system.snapshot(), queues: b.driver.strategy.queues().map((q) => q.name), cmd: b.device.read(R.IDXD_CMD, 4) };
      attempt(() => a.vdev.close());
      attempt(() => a.vdev.guest.disableVector(1));
      attempt(() => a.vdev.guest.disableMsix());
      attempt(() => b.driver.disableWq(2));
      attempt(() => b.driver.remove());
      inside = { before, after: { snapshot: b.system.snapshot(), queues: b.driver.strategy.queues().map((q) => q.name), cmd: b.device.read(R.IDXD_CMD, 4) } };
    });
    user.onInterrupt = () => {
      if (user.interrupts() === 1) attempt(() => user.close());
    };
    a.submit();
    user.submit({ opcode: R.OPCODE_NOOP });
    expect(b.device.run()).toBe(2);

    expect(errors).toHaveLength(6);
    for (const e of errors) expect(isImsimError(e, "EBUSY"), String(e)).toBe(true);
    const { before, after } = inside as { before: unknown; after: unknown };
    expect(after).toEqual(before);
    expect([a.vdev.closed, user.closed, b.driver.removed]).toEqual([false, false, false]);
    // Everything still works, and the same calls succeed outside the handlers.
    a.submit();
    user.submit({ opcode: R.OPCODE_NOOP });
    expect(b.device.run()).toBe(2);
    expect([a.vdev.guest.interrupts(1), user.interrupts()]).toEqual([2, 2]);
    user.close();
    a.vdev.close();
    b.driver.remove();
    expect(b.system.snapshot()).toEqual(bootState(b.system, 1));
  });
});

/** A process address space whose DMA writes fail while `failing` is set (a Memory of the caller's that throws). */
class FailingMemory extends Memory {
  failing = false;
  override writeFrom(address: number, data: Uint8Array, dataOffset: number, length: number): void {
    if (this.failing) throw new Error(`DMA write to 0x${address.toString(16)} failed`);
    super.writeFrom(address, data, dataOffset, length);
  }
}

describe("something the device calls throws: the device's work is never half done", () => {
  test("run(): the descriptor whose DMA threw counts as completed, the others still run, and run() rethrows the error at the end", () => {
    const b = boot();
    const memory = new FailingMemory(1 << 16, "process");
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory });
    const dst = memory.alloc(64);
    const before = counts(b.device);
    user.submit({ opcode: R.OPCODE_MEMFILL, pattern: 0x55n, dst, xferSize: 64 });
    user.submit({ opcode: R.OPCODE_NOOP });
    user.submit({ opcode: R.OPCODE_NOOP });
    memory.failing = true;
    expect(() => b.device.run()).toThrow("DMA write to");
    memory.failing = false;
    expect(occupancies(b.device)).toEqual(new Array(b.device.caps.numWqs).fill(0));
    expect(b.device.stats.completed - before.completed).toBe(3);
    // The failed descriptor raised no interrupt; the two after it did.
    expect(b.device.stats.interrupts - before.interrupts).toBe(2);
    expect(user.interrupts()).toBe(2);
    expect(b.device.run()).toBe(0);
    b.driver.remove();
  });

  test("a kernel WQ drained by disableWq() whose DMA throws: disableWq() finishes (WQ disabled, vector freed), then rethrows", () => {
    const system = createSystem({ cpus: 4, interruptRemapping: true });
    const memory = new FailingMemory(1 << 24, "host memory");
    const device = new IdxdDevice(system, { memory });
    const driver = IdxdDriver.probe(device, { strategy: STRATEGIES[0]![1] });
    const virq = driver.kernelWq(0).virq;
    const src = memory.alloc(64);
    const dst = memory.alloc(64);
    const sub = driver.submit(0, { opcode: R.OPCODE_MEMMOVE, src, dst, xferSize: 64 });
    memory.failing = true;
    expect(() => driver.disableWq(0)).toThrow("DMA write to");
    memory.failing = false;
    expect(device.wqEnabled(0)).toBe(false);
    expect(device.occupancy(0)).toBe(0);
    expect(device.stats.completed).toBe(1);
    expect(sub.done).toBe(false);
    expect(isImsimError(captured(() => driver.kernelWq(0)), "ENOENT")).toBe(true);
    expect(system.irqDesc(virq)).toBeUndefined();
    // The driver goes on: a user queue works, and the driver unbinds cleanly.
    const user = IdxdUserQueue.open(driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process") });
    user.submit({ opcode: R.OPCODE_NOOP });
    expect(device.run()).toBe(1);
    expect(user.interrupts()).toBe(1);
    driver.remove();
    expect(system.snapshot()).toEqual(bootState(system, 1));
  });
});
