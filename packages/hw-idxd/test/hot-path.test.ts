import { afterEach, describe, expect, test } from "vitest";
import { DELIVERED } from "@imsim/core";
import { IdxdUserQueue, Memory, OPCODE_NOOP, OP_FLAG_RCI, encodeDescriptor, idxdAdapter, portalOffset } from "../src/index.js";
import { STRATEGIES, boot } from "./support/boot.js";

/**
 * Counts constructions of the buffer types and BigInt() calls made while `fn` runs, by swapping
 * the globals for counting proxies (module code looks the globals up at call time). Object
 * literals cannot be counted this way; typed arrays, views and bigints are what the delivery path
 * would allocate if it encoded or decoded anything per call.
 */
const saved = { DataView, Uint8Array, ArrayBuffer, BigInt };
afterEach(() => Object.assign(globalThis, saved));

function allocationsDuring(fn: () => void): Record<string, number> {
  const counts: Record<string, number> = { DataView: 0, Uint8Array: 0, ArrayBuffer: 0, BigInt: 0 };
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of ["DataView", "Uint8Array", "ArrayBuffer"] as const) {
    g[name] = new Proxy(saved[name], {
      construct(target, args) {
        counts[name]!++;
        return Reflect.construct(target as never, args) as object;
      },
    });
  }
  g.BigInt = new Proxy(saved.BigInt, {
    apply(target, self, args) {
      counts.BigInt!++;
      return Reflect.apply(target, self, args) as bigint;
    },
  });
  try {
    fn();
  } finally {
    Object.assign(globalThis, saved);
  }
  return counts;
}

const none = { DataView: 0, Uint8Array: 0, ArrayBuffer: 0, BigInt: 0 };

describe.each(STRATEGIES)("the interrupt delivery path allocates nothing (%s)", (_name, strategy) => {
  test("adapter raise → device → core → handler, in steady state", () => {
    const h = idxdAdapter.create(strategy);
    try {
      const q = h.createQueue({ name: "hot", nvec: 2 });
      let hits = 0;
      for (const irq of h.strategy.irqs(q)) h.system.requestIrq(irq.virq, "hot", () => hits++);
      h.raise(q, 0);
      h.raise(q, 1); // warm: handles requested, routes cached
      let ok = 0;
      const counts = allocationsDuring(() => {
        for (let i = 0; i < 100; i++) if (h.raise(q, i & 1) === DELIVERED) ok++;
      });
      expect(ok).toBe(100);
      expect(hits).toBe(102);
      expect(counts).toEqual(none);
    } finally {
      h.teardown();
    }
  });

  test("a posted descriptor with RCI, executed by the engines, raises its IMS entry without allocating", () => {
    const { device, driver } = boot(strategy);
    const user = IdxdUserQueue.open(driver, { wq: 1, pasid: 7, memory: new Memory(1 << 16, "p") });
    const desc = encodeDescriptor({ opcode: OPCODE_NOOP, flags: OP_FLAG_RCI, intHandle: user.handle() });
    const portal = portalOffset(1, false, true);
    device.submit(portal, desc, 7);
    device.run();
    const counts = allocationsDuring(() => {
      for (let i = 0; i < 100; i++) {
        device.submit(portal, desc, 7);
        device.run();
      }
    });
    expect(user.interrupts()).toBe(101);
    expect(counts).toEqual(none);
    driver.remove();
  });
});
