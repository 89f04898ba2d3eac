import { describe, expect, test } from "vitest";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, SPAD_NUM_MWS, SPAD_NUM_QPS, SPAD_VERSION, TRANSPORT_VERSION, createNtbPair as createPair, defaultMsiDoorbellBit, type NtbPairOptions } from "../src/index.js";

/** A pair whose hosts have interrupt remapping, which the IMS designs need. */
function createNtbPair(options: NtbPairOptions = {}) {
  return createPair({ ...options, a: { interruptRemapping: true }, b: { interruptRemapping: true } });
}

describe("ntb_transport scratchpad and doorbell layout", () => {
  test("descriptors sit at msi_spad_offset = MW0_SZ_HIGH + 2 * data windows: the MSI window has no size pair", () => {
    const pair = createNtbPair({ memoryWindows: 2 });
    const ta = new NtbTransport(pair.a, flat);
    const tb = new NtbTransport(pair.b, flat);
    expect(ta.spadOffset).toBe(6);
    ta.createClient("net", { queuePairs: 3 });
    tb.createClient("net", { queuePairs: 3 });
    // vectorsPerQp 1: queue pair n's descriptor at spad qp*2 + msi_spad_offset (addr_offset), next = data.
    for (let qp = 0; qp < 3; qp++) {
      const d = tb.client("net").peerDescriptor(qp, 0)!;
      expect([pair.a.spadRead(6 + 2 * qp), pair.a.spadRead(7 + 2 * qp)]).toEqual([d.addrOffset, d.data]);
    }
    expect(new NtbTransport(createNtbPair({ memoryWindows: 4 }).a, flat).spadOffset).toBe(10);
  });

  test("the header (VERSION, NUM_QPS, NUM_MWS) is written into the peer's scratchpads, NUM_MWS counting data windows", () => {
    const pair = createNtbPair({ memoryWindows: 3 });
    const ta = new NtbTransport(pair.a, flat);
    pair.b.linkEnable(); // no transport on B: only A writes
    expect(pair.isLinkUp).toBe(true);
    expect([pair.b.spadRead(SPAD_VERSION), pair.b.spadRead(SPAD_NUM_QPS), pair.b.spadRead(SPAD_NUM_MWS)]).toEqual([TRANSPORT_VERSION, ta.maxQueuePairs, 2]);
    expect([pair.a.spadRead(SPAD_VERSION), pair.a.spadRead(SPAD_NUM_MWS)]).toEqual([0, 0]);
  });

  test("the descriptors-changed doorbell is ntb_transport's msi_db_mask: bit ilog2(valid mask) - 1", () => {
    expect(defaultMsiDoorbellBit(0xffff)).toBe(14);
    expect(defaultMsiDoorbellBit(0xff)).toBe(6);
    expect(defaultMsiDoorbellBit(0x7fffffff)).toBe(29);
    const pair = createNtbPair({ doorbells: 8 });
    const ta = new NtbTransport(pair.a, flat, { vectorsPerQp: 2 });
    const tb = new NtbTransport(pair.b, flat, { vectorsPerQp: 2 });
    expect([ta.msiDbBit, tb.msiDbBit]).toEqual([6, 6]);
    const rung: number[] = [];
    pair.b.onDoorbell((bits) => rung.push(bits));
    ta.createClient("net", { queuePairs: 1 });
    tb.createClient("net", { queuePairs: 1 });
    ta.client("net").grow(0);
    expect(rung.length).toBeGreaterThan(0);
    for (const bits of rung) expect(bits).toBe(1 << 6);
    expect(tb.client("net").peerDescriptor(0, 1)).toBeDefined();
  });
});

describe("descriptors-changed doorbells", () => {
  test("rings before the peer next needs the descriptors are served by one re-read of its scratchpads", () => {
    const pair = createNtbPair();
    const ta = new NtbTransport(pair.a, flat, { vectorsPerQp: 4 });
    const tb = new NtbTransport(pair.b, flat, { vectorsPerQp: 4 });
    ta.createClient("net", { queuePairs: 2 });
    tb.createClient("net", { queuePairs: 2 });
    const before = tb.stats.peerRefreshes;
    for (let n = 0; n < 3; n++) ta.client("net").grow(0); // three publications, three rings
    expect(tb.stats.peerRefreshes).toBe(before);
    const d = tb.client("net").peerDescriptor(0, 3); // B needs them now: one pass
    expect(d).toBeDefined();
    expect(tb.stats.peerRefreshes).toBe(before + 1);
    expect([pair.a.spadRead(ta.spadOffset + 2 * ta.client("net").peerSlot(0, 3)), pair.a.spadRead(ta.spadOffset + 2 * ta.client("net").peerSlot(0, 3) + 1)]).toEqual([d!.addrOffset, d!.data]);
    tb.client("net").peerDescriptor(0, 1);
    expect(tb.stats.peerRefreshes).toBe(before + 1);
  });
});
