import { describe, expect, it } from "vitest";
import v8 from "node:v8";
import { Entry16Store, MSI_SECONDARY_DOMAIN, createSystem, type DeliveryResult } from "../src/index.js";

// "The hot path allocates nothing per interrupt": measured as the growth of V8's young generation
// over a run of deliveries. One boxed number or object per interrupt would be ≥ 16 bytes each,
// 160 KB over 10,000; the allowance below is for the measuring code itself. The full path a raise
// takes once after each change to its store or system (decode, remapping checks) reads addresses
// above 2^31 through the store's accessors, which V8 may box when its feedback is polymorphic.
const RUN = 10_000;
const ALLOWANCE = 16 * 1024;

function youngBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_used_size;
}

/** Bytes allocated by `RUN` calls of `op`, after warming it up; retried when a scavenge hid the count. */
function allocatedBy(op: (i: number) => DeliveryResult): number {
  for (let i = 0; i < 4 * RUN; i++) op(i & 31);
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = youngBytes();
    for (let i = 0; i < RUN; i++) op(i & 31);
    const after = youngBytes();
    if (after >= before) return after - before;
  }
  throw new Error("a scavenge ran during every measurement");
}

describe.each([false, true])("delivery allocates nothing per interrupt (interrupt remapping %s)", (ir) => {
  const system = createSystem({ cpus: 4, interruptRemapping: ir });
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "IMS", size: 64, requesterId: dev.requesterId, pasid: true });
  const domain = system.createMsiDomain(dev, ir ? { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" } : { domainId: 0, store, kind: "msix" });
  const hits = new Uint32Array(64);
  for (const m of domain.allocRange(0, 31)) system.requestIrq(m.virq, "hot", (_virq, id) => hits[id as number]!++, m.index);
  const lo = Int32Array.from({ length: 32 }, (_, i) => store.addressLo(i));
  const data = Int32Array.from({ length: 32 }, (_, i) => store.data(i));

  it("a raise of a store entry, once its route is known", () => {
    expect(allocatedBy((i) => system.raise(store, i))).toBeLessThan(ALLOWANCE);
    expect(hits[0]).toBeGreaterThan(RUN / 32);
  });

  it("a bare interrupt write, as an NTB peer's", () => {
    expect(allocatedBy((i) => system.msiWrite(lo[i]!, 0, data[i]!, dev.requesterId, -1))).toBeLessThan(ALLOWANCE);
  });

  it("a raise held by a disabled interrupt", () => {
    system.disableIrq(system.irqDesc(domain.getVirq(0))!.virq);
    expect(allocatedBy(() => system.raise(store, 0))).toBeLessThan(ALLOWANCE);
  });
});
