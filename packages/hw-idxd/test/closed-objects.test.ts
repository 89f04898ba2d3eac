import { describe, expect, test } from "vitest";
import { isImsimError } from "@imsim/core";
import * as R from "../src/registers.js";
import { IdxdUserQueue, IdxdVdev, Memory, encodeDescriptor } from "../src/index.js";
import { boot, deviceState, registerState } from "./support/boot.js";

// The README: misuse of the simulation's own API, closed objects included, throws an ImsimError.
// A closed user queue or virtual device, and a removed driver, answer every call but close() /
// remove() (idempotent) with ENODEV, and the call changes nothing.

function code(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    return isImsimError(e) ? e.code : `not an ImsimError: ${String(e)}`;
  }
  return "no error";
}

const NOOP = { opcode: R.OPCODE_NOOP };

describe("closed objects throw ENODEV and change nothing", () => {
  test("a closed user queue: submit, handle, irqs and interrupts are ENODEV (not SUBMIT_RETRY); close() again is a no-op", () => {
    const b = boot();
    const keep = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 6, memory: new Memory(1 << 16, "p0") });
    const user = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "p1") });
    user.close();
    const before = deviceState(b);
    expect(code(() => user.submit(NOOP))).toBe("ENODEV");
    expect(code(() => user.handle())).toBe("ENODEV");
    expect(code(() => user.irqs())).toBe("ENODEV");
    expect(code(() => user.interrupts())).toBe("ENODEV");
    expect(code(() => user.close())).toBe("no error");
    expect(deviceState(b)).toEqual(before);
    expect(b.device.stats.retried).toBe(0);
    // The other client of the shared WQ is untouched.
    expect(keep.submit(NOOP)).toBe(0);
    b.device.run();
    expect(keep.interrupts()).toBe(1);
    b.driver.remove();
  });

  test("a closed virtual device: every guest call is ENODEV; close() again is a no-op", () => {
    const b = boot();
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g"), vectors: 3 });
    vdev.guest.enableVector(1, () => {});
    vdev.close();
    const before = deviceState(b);
    const g = vdev.guest;
    const calls: [string, () => unknown][] = [
      ["submit", () => g.submit({ ...NOOP, flags: R.OP_FLAG_RCI, intHandle: 0 })],
      ["submitRaw", () => g.submitRaw(encodeDescriptor(NOOP))],
      ["enableVector", () => g.enableVector(2, () => {})],
      ["disableVector", () => g.disableVector(1)],
      ["maskVector", () => g.maskVector(1)],
      ["unmaskVector", () => g.unmaskVector(1)],
      ["disableMsix", () => g.disableMsix()],
      ["enabledVectors", () => g.enabledVectors()],
      ["interrupts", () => g.interrupts(1)],
      ["requestIntHandle", () => g.requestIntHandle(1)],
      ["requestIntHandle(0)", () => g.requestIntHandle(0)],
      ["notifyMisc", () => vdev.notifyMisc()],
    ];
    expect(calls.map(([name, call]) => [name, code(call)])).toEqual(calls.map(([name]) => [name, "ENODEV"]));
    expect(code(() => vdev.close())).toBe("no error");
    expect(deviceState(b)).toEqual(before);
    expect(b.device.stats.dropped).toBe(0);
    b.driver.remove();
  });

  test("a removed driver: submit, commands, queues, WQs and new clients are ENODEV; remove() again is a no-op", () => {
    const b = boot();
    const q = b.driver.createImsQueue(1, { name: "q0", slice: { base: 100, count: 4 }, nvec: 1 });
    b.driver.remove();
    const before = { regs: registerState(b), snapshot: b.system.snapshot(), stats: { ...b.device.stats } };
    const memory = new Memory(1 << 16, "m");
    const calls: [string, () => unknown][] = [
      ["submit", () => b.driver.submit(0, NOOP)],
      ["command", () => b.driver.command(R.CMD_ENABLE_WQ, 1)],
      ["kernelWq", () => b.driver.kernelWq(0)],
      ["requestHandle", () => b.driver.requestHandle(3, true)],
      ["disableWq", () => b.driver.disableWq(1)],
      ["createImsQueue", () => b.driver.createImsQueue(1, { name: "q1", slice: { base: 200, count: 4 } })],
      ["destroyImsQueue", () => b.driver.destroyImsQueue(q)],
      ["IdxdUserQueue.open", () => IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory })],
      ["IdxdVdev.create", () => IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory })],
    ];
    expect(calls.map(([name, call]) => [name, code(call)])).toEqual(calls.map(([name]) => [name, "ENODEV"]));
    expect(code(() => b.driver.remove())).toBe("no error");
    expect({ regs: registerState(b), snapshot: b.system.snapshot(), stats: { ...b.device.stats } }).toEqual(before);
  });
});
