import type { IrqSystem } from "@imsim/core";
import type { NtbDevice, NtbPair, NtbTransport } from "../../src/index.js";

/** `system.stats` without the delivery outcomes (delivered, held, faulted, spurious): the work counters. */
export function workCounters(system: IrqSystem): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(system.stats)) if (!["delivered", "held", "faulted", "spurious"].includes(k)) out[k] = v;
  return out;
}

/** Counts db_event calls on each host: a ring of the peer's doorbell leaves no other trace once its transport cleared the bit. */
export function countRings(pair: NtbPair): { a: number; b: number } {
  const rings = { a: 0, b: 0 };
  pair.a.onDoorbell(() => rings.a++);
  pair.b.onDoorbell(() => rings.b++);
  return rings;
}

function hostState(ntb: NtbDevice, t: NtbTransport): unknown {
  const store = ntb.store;
  return {
    spads: Array.from({ length: ntb.spadCount }, (_, i) => ntb.spadRead(i)),
    windows: Array.from({ length: ntb.mwCount }, (_, i) => [ntb.window(i).translated, ntb.window(i).xlatAddress, ntb.window(i).xlatSize]),
    doorbell: [ntb.dbRead(), ntb.dbReadMask()],
    port: { ...ntb.stats },
    entries: Array.from({ length: store.size }, (_, i) => [store.addressLo(i), store.addressHi(i), store.data(i), store.isMasked(i), store.isPending(i), t.isPublished(i)]),
    snapshot: ntb.system.snapshot(),
    work: workCounters(ntb.system),
    transport: { ...t.stats },
    clients: t.clients().map((c) => c.name),
    posts: t.pendingPosts(),
    queues: t.strategy.queues().map((q) => q.name),
    records: t.strategy.records(),
  };
}

/**
 * Everything a failed operation on either host must leave as it was: each host's scratchpads,
 * windows, doorbell, port statistics, MSI-X entries (with pending bits and publication), resources,
 * work counters, transport statistics, clients, posted triggers and strategy queues; the rings each
 * host's doorbell took (`rings` from countRings); the link.
 */
export function pairState(pair: NtbPair, ta: NtbTransport, tb: NtbTransport, rings: { a: number; b: number }): unknown {
  return { a: hostState(pair.a, ta), b: hostState(pair.b, tb), rings: { ...rings }, link: pair.isLinkUp };
}
