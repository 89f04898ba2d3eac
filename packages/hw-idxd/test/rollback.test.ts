import { describe, expect, test } from "vitest";
import { isImsimError, type FaultPoint, type ImsimErrorCode } from "@imsim/core";
import { failAtEveryStep as failAtEachStep } from "@imsim/conformance";
import * as R from "../src/registers.js";
import { IdxdDriver, IdxdUserQueue, IdxdVdev, Memory } from "../src/index.js";
import { STRATEGIES, boot, deviceState, registerState, workCounters, type Booted } from "./support/boot.js";

// A failed driver operation leaves every register (WQCFG, CMD, CMDSTS, MSIXPERM, the IMS and MSI-X
// tables), every driver and strategy structure and the system's resources and work counters
// exactly as they were: see deviceState in support/boot.ts for what is compared.

// With interrupt remapping only: without it there is no IMS (test/no-ims.test.ts).
const CASES = STRATEGIES.map(([name, strategy]) => [name, strategy, true] as const);

function refused(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  throw new Error("the call was expected to fail and succeeded");
}

/** Arms `point` at every step of `call` until it succeeds (at most 64 steps); each failure must be EIO and leave deviceState() as it was. */
function failAtEveryStep<T>(b: Booted, point: FaultPoint, call: () => T): { result: T; failures: number } {
  return failAtEachStep(b.system, point, () => deviceState(b), call, { maxSteps: 64 });
}

const wqcfgMode = (b: Booted, wq: number) => b.device.read(b.device.wqcfgOffset + wq * R.WQCFG_SIZE + R.WQCFG_MODE_PASID, 4);

describe.each(CASES)("failed operations change nothing (%s)", (_name, strategy, ir) => {
  const points: FaultPoint[] = ["store-write", "vector-alloc", "irte-alloc"];

  test("a refused IdxdVdev.create (PASID bound, name taken, WQ taken, no IMS room, bad memory) leaves WQCFG, CMD, CMDSTS and everything else as it was", () => {
    const b = boot(strategy, { ir });
    const vdsa0 = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g0"), vectors: 2 });
    vdsa0.guest.enableVector(1, () => {});
    IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "process") });
    const modeBefore = wqcfgMode(b, 3);
    const before = deviceState(b);
    const memory = new Memory(1 << 16, "g1");
    const cases: [ImsimErrorCode, Parameters<typeof IdxdVdev.create>[1]][] = [
      ["EBUSY", { name: "vdsa1", wq: 3, pasid: 0x42, memory }],
      ["EBUSY", { name: "vdsa1", wq: 3, pasid: 7, memory }],
      ["EEXIST", { name: "vdsa0", wq: 3, pasid: 0x11, memory }],
      ["EBUSY", { name: "vdsa1", wq: 2, pasid: 0x11, memory }],
      ["ENOSPC", { name: "vdsa1", wq: 3, pasid: 0x11, memory, vectors: 2048 }],
      ["EINVAL", { name: "vdsa1", wq: 3, pasid: 0x11, memory: {} as Memory }],
      ["EINVAL", { name: "vdsa1", wq: 1, pasid: 0x11, memory }],
    ];
    for (const [code, options] of cases) {
      const e = refused(() => IdxdVdev.create(b.driver, options));
      expect(isImsimError(e, code), `${JSON.stringify({ ...options, memory: undefined })}: ${String(e)}`).toBe(true);
      // The case: the rejected PASID 0x11 must not reach WQCFG (it read 0x10004211).
      expect(wqcfgMode(b, 3)).toBe(modeBefore);
      expect(deviceState(b)).toEqual(before);
    }
    const vdsa1 = IdxdVdev.create(b.driver, { name: "vdsa1", wq: 3, pasid: 0x11, memory, vectors: 2 });
    expect((wqcfgMode(b, 3) >>> R.WQCFG_PASID_SHIFT) & 0xfffff).toBe(0x11);
    vdsa1.close();
    b.driver.remove();
  });

  test("a vdev whose ENABLE_WQ the device refuses (EIO) puts WQCFG back; only CMD and CMDSTS show the failed command", () => {
    const b = boot(strategy, {
      ir,
      device: { dedicatedMode: false },
      driver: {
        wqs: [
          { id: 1, type: "user", mode: "shared", size: 32, group: 1 },
          { id: 2, type: "vdev", mode: "dedicated", size: 32, group: 2 },
        ],
      },
    });
    const before = deviceState(b) as { bar0: number[] };
    const e = refused(() => IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g") }));
    expect(isImsimError(e, "EIO")).toBe(true);
    expect(b.device.read(R.IDXD_CMDSTS, 4) & R.CMDSTS_ERR_MASK).toBe(R.CMDSTS_ERR_WQ_MODE);
    const after = deviceState(b) as { bar0: number[] };
    const commandRegs = new Set([R.IDXD_CMD / 4, R.IDXD_CMDSTS / 4]);
    const strip = (s: { bar0: number[] }) => ({ ...s, bar0: s.bar0.map((v, i) => (commandRegs.has(i) ? 0 : v)) });
    expect(strip(after)).toEqual(strip(before));
    b.driver.remove();
  });

  test("a failed probe releases everything it took, work counters included", () => {
    const b = boot(strategy, { ir });
    b.driver.remove();
    const before = { snapshot: b.system.snapshot(), work: workCounters(b.system) };
    const e = refused(() => IdxdDriver.probe(b.device, { strategy, wqs: [{ id: 0, type: "kernel", mode: "dedicated", size: 32, group: 7 }] }));
    expect(isImsimError(e, "EINVAL")).toBe(true);
    expect({ snapshot: b.system.snapshot(), work: workCounters(b.system) }).toEqual(before);
    expect(b.device.enabled).toBe(false);
    const again = IdxdDriver.probe(b.device, { strategy });
    expect(again.kernelWq(0).virq).toBeGreaterThan(0);
    again.remove();
  });

  test("closing a guest puts its dedicated WQ's configuration back: no PASID is left in WQCFG", () => {
    const b = boot(strategy, { ir });
    const regs = () => {
      const r = registerState(b);
      return { ...r, bar0: r.bar0.map((v, i) => (i === R.IDXD_CMD / 4 || i === R.IDXD_CMDSTS / 4 ? 0 : v)) };
    };
    const before = regs();
    const snapshot = b.system.snapshot();
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g"), vectors: 3 });
    vdev.guest.enableVector(1, () => {});
    vdev.guest.enableVector(2, () => {});
    expect(wqcfgMode(b, 2) & R.WQCFG_PASID_EN).not.toBe(0);
    vdev.close();
    expect(regs()).toEqual(before);
    expect(b.system.snapshot()).toEqual(snapshot);
    b.driver.remove();
  });

  test.each(points)("IdxdUserQueue.open with a %s failure at every step leaves everything as it was, and the next client keeps its name", (point) => {
    const b = boot(strategy, { ir });
    const first = IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "p0") });
    const memory = new Memory(1 << 16, "p1");
    const e = refused(() => IdxdUserQueue.open(b.driver, { wq: 1, pasid: 7, memory }));
    expect(isImsimError(e, "EBUSY")).toBe(true);
    const { result: user, failures } = failAtEveryStep(b, point, () => IdxdUserQueue.open(b.driver, { wq: 1, pasid: 8, memory, nvec: 3 }));
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(user.name).toBe(`${first.name.slice(0, -1)}1`);
    expect(user.irqs()).toHaveLength(3);
    user.submit({ opcode: R.OPCODE_NOOP }, 2);
    b.device.run();
    expect(user.interrupts(2)).toBe(1);
    b.driver.remove();
  });

  test.each(points)("the first IMS queue of a WQ with a %s failure at every step: no ENABLE_WQ is left behind, nothing changes", (point) => {
    const b = boot(strategy, { ir });
    expect(b.device.wqEnabled(1)).toBe(false);
    const { result: queue, failures } = failAtEveryStep(b, point, () => b.driver.createImsQueue(1, { name: "q0", slice: { base: 100, count: 4 }, nvec: 3 }));
    const irqs = b.driver.strategy.irqs(queue);
    expect(irqs).toHaveLength(3);
    if (point === "store-write") {
      // Allocating writes no IMS entry (the IMS template has no MSI_FLAG_ACTIVATE_EARLY): request_irq does.
      expect(failures).toBe(0);
      for (const irq of irqs) expect([b.device.ims!.addressLo(irq.storeIndex), b.device.ims!.data(irq.storeIndex)]).toEqual([0, 0]);
      const { failures: requestFailures } = failAtEveryStep(b, point, () => b.system.requestIrq(irqs[1]!.virq, "q0", () => {}));
      expect(requestFailures).toBeGreaterThanOrEqual(1);
      expect(b.device.ims!.addressLo(irqs[1]!.storeIndex)).not.toBe(0);
      b.system.freeIrq(irqs[1]!.virq, "q0");
    } else {
      expect(failures).toBeGreaterThanOrEqual(3);
    }
    expect(b.device.wqEnabled(1)).toBe(true);
    b.driver.destroyImsQueue(queue);
    expect(b.device.wqEnabled(1)).toBe(false);
    b.driver.remove();
  });

  test.each(points)("guest.enableVector with a %s failure at every step leaves the vector disabled and everything as it was", (point) => {
    const b = boot(strategy, { ir });
    const vdev = IdxdVdev.create(b.driver, { name: "vdsa0", wq: 2, pasid: 0x42, memory: new Memory(1 << 16, "g"), vectors: 3 });
    let seen = 0;
    const { failures } = failAtEveryStep(b, point, () => vdev.guest.enableVector(2, () => seen++));
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(vdev.guest.enabledVectors()).toEqual([2]);
    vdev.guest.submit({ opcode: R.OPCODE_NOOP, flags: R.OP_FLAG_RCI, intHandle: vdev.guest.requestIntHandle(2).handle });
    b.device.run();
    expect(seen).toBe(1);
    vdev.close();
    b.driver.remove();
  });
});
