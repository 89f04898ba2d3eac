import { describe, expect, test } from "vitest";
import { DELIVERED, FAULTED, SysfsView, procInterrupts, type StrategyFactory } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { NtbTransport, WRITE_DEFERRED, WRITE_DROPPED, createNtbPair, type NtbPairOptions, type NtbTransportOptions } from "../src/index.js";
import { code } from "./support/error-code.js";
import { takeIrtes } from "./support/irte-filler.js";
import { msix } from "./support/msix-design.js";


/** A pair with a transport on each side and the same clients on both; handler hits recorded per host. */
function setup(factory: StrategyFactory, options: NtbPairOptions = {}, ir = true, transport: NtbTransportOptions = {}) {
  const pair = createNtbPair({ a: { interruptRemapping: ir, ...options.a }, b: { interruptRemapping: ir, ...options.b }, ...(options.mwAlign ? { mwAlign: options.mwAlign } : {}) });
  const empty = [pair.a.system.snapshot(), pair.b.system.snapshot()] as const;
  const hits = { A: [] as string[], B: [] as string[] };
  const ta = new NtbTransport(pair.a, factory, { vectorsPerQp: 4, ...transport });
  const tb = new NtbTransport(pair.b, factory, { vectorsPerQp: 4 });
  for (const [t, host] of [[ta, "A"], [tb, "B"]] as const) {
    t.createClient("net", { queuePairs: 3, handler: (qp, v) => hits[host].push(`net${qp}.${v}`) });
    t.createClient("perf", { queuePairs: 2, vectors: 2, handler: (qp, v) => hits[host].push(`perf${qp}.${v}`) });
  }
  return { pair, ta, tb, hits, empty };
}

/** Interrupts delivered on a transport's host so far. */
function pairCount(t: NtbTransport): number {
  return t.ntb.system.stats.delivered;
}

for (const [name, factory] of [["subdevice", subdevice], ["flat", flat]] as const) {
  describe(`end to end with the ${name} strategy`, () => {
    test("both directions, many queues: each trigger runs exactly the peer's handler of that queue pair and vector", () => {
      const { ta, tb, hits } = setup(factory);
      for (let qp = 0; qp < 3; qp++) expect(tb.client("net").trigger(qp, 0)).toBe(DELIVERED);
      for (let qp = 0; qp < 2; qp++) for (let v = 0; v < 2; v++) expect(ta.client("perf").trigger(qp, v)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net0.0", "net1.0", "net2.0"]);
      expect(hits.B).toEqual(["perf0.0", "perf0.1", "perf1.0", "perf1.1"]);
      // The virqs the handlers ran on are the owners' own, counted once each.
      const virq = ta.client("net").virq(1, 0);
      expect(ta.ntb.system.irqDesc(virq)!.total).toBe(1);
      // A vector never allocated has no descriptor on the peer.
      expect(code(() => tb.client("net").trigger(0, 1))).toBe("ENOENT");
    });

    test("on-demand growth publishes the new descriptor; live interrupts are not rewritten", () => {
      const { ta, tb, hits } = setup(factory);
      const net = ta.client("net");
      const live = ta.ntb.system.irqDesc(net.virq(1, 0))!.msiDesc!;
      const writes = live.writes;
      const msg = { ...live.msg };
      expect(tb.client("net").peerDescriptor(1, 1)).toBeUndefined();
      const irq = net.grow(1);
      expect(irq.index).toBe(1);
      expect(tb.client("net").peerDescriptor(1, 1)).toBeDefined();
      expect(tb.client("net").trigger(1, 1)).toBe(DELIVERED);
      expect(tb.client("net").trigger(1, 0)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net1.1", "net1.0"]);
      expect(live.writes).toBe(writes);
      expect(live.msg).toEqual(msg);
      net.grow(1);
      net.grow(1);
      expect(code(() => net.grow(1))).toBe("ENOSPC");
      expect(tb.client("net").trigger(1, 3)).toBe(DELIVERED);
    });

    test("link flap: triggers fail with ENOLINK while down, posts are kept and delivered once, descriptors come back", () => {
      const { pair, ta, tb, hits } = setup(factory);
      const net = tb.client("net");
      expect(net.trigger(0, 0)).toBe(DELIVERED);
      const published = ta.stats.published;
      pair.disconnect();
      expect(code(() => net.trigger(0, 0))).toBe("ENOLINK");
      expect(net.peerDescriptor(0, 0)).toBeUndefined();
      expect(pair.a.window(1).translated).toBe(false);
      expect(net.post(0, 0)).toBe(WRITE_DEFERRED);
      expect(net.post(0, 0)).toBe(WRITE_DEFERRED);
      expect(net.post(2, 0)).toBe(WRITE_DEFERRED);
      expect(hits.A).toEqual(["net0.0"]);
      pair.connect();
      expect(ta.stats.published).toBeGreaterThan(published);
      expect(hits.A.sort()).toEqual(["net0.0", "net0.0", "net2.0"]);
      expect(tb.pendingPosts()).toBe(0);
      expect(net.trigger(0, 0)).toBe(DELIVERED);
      expect(hits.A.filter((h) => h === "net0.0")).toHaveLength(3);
      pair.flap();
      expect(hits.A).toHaveLength(4);
    });

    test("a trigger naming a queue pair or vector outside the client is refused, never landing on another queue pair's or client's interrupt", () => {
      const { ta, tb, hits } = setup(factory);
      ta.client("net").grow(1); // net qp1 vector 1 exists, so slot arithmetic alone would find it
      const net = tb.client("net");
      for (const [qp, v] of [[0, 4], [0, 5], [3, 0], [-1, 4], [0, -3], [0, 1.5], ["0" as unknown as number, 0]] as const) {
        expect(code(() => net.trigger(qp, v))).toBe("EINVAL");
      }
      expect(hits.A).toEqual([]);
      expect(pairCount(ta)).toBe(0);
      expect(net.trigger(1, 1)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net1.1"]);
    });

    test("on-demand growth across link flaps: grown while up or down, the new descriptors are re-published on link up", () => {
      const { pair, ta, tb, hits } = setup(factory);
      const net = ta.client("net");
      net.grow(0); // while up: vector 1
      pair.disconnect();
      const grown = net.grow(2); // while down: vector 1 of qp2, registered, not yet published
      expect(grown.index).toBe(1);
      expect(tb.client("net").peerDescriptor(2, 1)).toBeUndefined();
      expect(code(() => tb.client("net").trigger(2, 1))).toBe("ENOLINK");
      pair.connect();
      expect(tb.client("net").peerDescriptor(0, 1)).toBeDefined();
      expect(tb.client("net").peerDescriptor(2, 1)).toBeDefined();
      expect([tb.client("net").trigger(0, 1), tb.client("net").trigger(2, 1), tb.client("net").trigger(2, 0)]).toEqual([DELIVERED, DELIVERED, DELIVERED]);
      pair.flap();
      expect(tb.client("net").trigger(2, 1)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net0.1", "net2.1", "net2.0", "net2.1"]);
    });

    test("a stale descriptor is refused by interrupt remapping and reaches no handler", () => {
      const { pair, ta, tb, hits } = setup(factory);
      const stale = tb.client("net").peerDescriptor(0, 0)!;
      ta.client("net").release(0, 0);
      expect(tb.client("net").peerDescriptor(0, 0)).toBeUndefined();
      expect(code(() => tb.client("net").trigger(0, 0))).toBe("ENOENT");
      // A peer that kept the old values and writes them anyway:
      const before = pair.a.system.faults.count("not-present");
      expect(pair.a.inboundWrite(1, stale.addrOffset, stale.data, pair.a.wireRequesterId, -1)).toBe(FAULTED);
      expect(pair.a.system.faults.count("not-present")).toBe(before + 1);
      expect(hits.A).toEqual([]);
    });

    test("a forged descriptor or a foreign requester id is refused with a remapping fault", () => {
      const { pair, tb, hits } = setup(factory);
      const d = tb.client("net").peerDescriptor(0, 0)!;
      // Data selecting an IRTE nobody owns.
      expect(pair.a.inboundWrite(1, d.addrOffset, 0x7ff, pair.a.wireRequesterId, -1)).toBe(FAULTED);
      // The right descriptor carrying a requester id on another bus.
      expect(pair.a.inboundWrite(1, d.addrOffset, d.data, 0x4008, -1)).toBe(FAULTED);
      expect(pair.a.system.faults.count("source-id-mismatch")).toBe(1);
      expect(pair.a.system.faults.count("not-present")).toBe(1);
      // Beyond the window: nothing.
      expect(pair.a.inboundWrite(1, 0x100000, d.data, pair.a.wireRequesterId, -1)).toBe(WRITE_DROPPED);
      expect(hits.A).toEqual([]);
      expect(tb.client("net").trigger(0, 0)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net0.0"]);
    });

    test("two proxy ids on one bus are verified by bus (set_msi_sid): another devfn of that bus passes, an id on another bus faults", () => {
      const { pair, tb, hits } = setup(factory);
      const d = tb.client("net").peerDescriptor(0, 0)!;
      expect(pair.a.pciFunction.dmaAliases).toEqual([0x0508, 0x0509]);
      // 05:02.0 is neither the function nor an alias, but on its bus: the IRTE checks the bus only.
      expect(pair.a.inboundWrite(1, d.addrOffset, d.data, 0x0510, -1)).toBe(DELIVERED);
      expect(pair.a.inboundWrite(1, d.addrOffset, d.data, 0x0608, -1)).toBe(FAULTED);
      expect(pair.a.system.faults.count("source-id-mismatch")).toBe(1);
      expect(hits.A).toEqual(["net0.0"]);
    });

    test("without the proxy ids as DMA aliases every peer write is blocked (source-id mismatch)", () => {
      const { pair, tb, ta, hits } = setup(factory, { a: { registerProxyIds: false } });
      expect(pair.a.pciFunction.dmaAliases).toEqual([]);
      expect(tb.client("net").trigger(0, 0)).toBe(FAULTED);
      expect(pair.a.system.faults.count("source-id-mismatch")).toBe(1);
      expect(pair.a.system.faults.describeLast()).toContain("05:01.0");
      expect(hits.A).toEqual([]);
      // The other direction, with aliases, works.
      expect(ta.client("net").trigger(0, 0)).toBe(DELIVERED);
      expect(hits.B).toEqual(["net0.0"]);
    });

    test("tearing down one side while the other triggers: ENOLINK, nothing delivered, the torn side back to its start", () => {
      const { pair, ta, tb, hits, empty } = setup(factory);
      const d = tb.client("net").peerDescriptor(0, 0)!;
      ta.dispose();
      expect(code(() => tb.client("net").trigger(0, 0))).toBe("ENOLINK");
      expect(code(() => ta.createClient("x", { queuePairs: 1 }))).toBe("ENODEV");
      // Even a raw write of the old descriptor reaches nothing: the window is cleared.
      pair.b.linkEnable();
      expect(pair.a.inboundWrite(1, d.addrOffset, d.data, pair.a.wireRequesterId, -1)).toBe(WRITE_DROPPED);
      expect(hits.A).toEqual([]);
      expect(pair.a.system.snapshot()).toEqual(empty[0]);
      // B still owns its interrupts until it goes too.
      expect(pair.b.system.snapshot().virqs).toBe(pair.b.system.bootSnapshot.virqs + 7);
      tb.dispose();
      expect(pair.b.system.snapshot()).toEqual(empty[1]);
      pair.dispose();
      expect(pair.a.system.snapshot()).toEqual(pair.a.system.bootSnapshot);
      expect(pair.b.system.snapshot()).toEqual(pair.b.system.bootSnapshot);
    });

    test("hot-unplug of one side's NTB function while the peer triggers", () => {
      const { pair, tb, hits } = setup(factory);
      expect(tb.client("net").trigger(0, 0)).toBe(DELIVERED);
      pair.a.system.removeDevice(pair.a.pciFunction);
      expect(code(() => tb.client("net").trigger(0, 0))).toBe("ENOLINK");
      expect(hits.A).toEqual(["net0.0"]);
      expect(pair.a.system.snapshot()).toEqual(pair.a.system.bootSnapshot);
      tb.dispose();
      pair.dispose();
      expect(pair.b.system.snapshot()).toEqual(pair.b.system.bootSnapshot);
    });

    test("/proc/interrupts and sysfs of both hosts show each host's own interrupts and counts", () => {
      const { pair, ta, tb } = setup(factory);
      tb.client("net").trigger(2, 0);
      tb.client("net").trigger(2, 0);
      ta.client("perf").trigger(1, 1);
      const procA = procInterrupts(pair.a.system);
      const procB = procInterrupts(pair.b.system);
      // Every queue pair's interrupt is requested as "ntb_transport" (KBUILD_MODNAME): find rows by virq.
      const lineOf = (proc: string, virq: number) => proc.split("\n").find((l) => l.startsWith(`${String(virq).padStart(3)}:`));
      const sum = (line: string) => line.split(":")[1]!.trim().split(/\s+/).slice(0, 4).map(Number).reduce((x, y) => x + y, 0);
      const a = lineOf(procA, ta.client("net").virq(2, 0))!;
      expect(a.endsWith("  ntb_transport")).toBe(true);
      expect(sum(a)).toBe(2);
      // Design A's child device is no PCI function: its chip over the MSI-X table slice is MSIX-<child>.
      expect(a).toContain(name === "subdevice" ? " IR-MSIX-net-qp2 " : " IR-PCI-MSIX-0000:05:00.1 ");
      expect(sum(lineOf(procB, tb.client("perf").virq(1, 1))!)).toBe(1);
      expect(sum(lineOf(procA, ta.client("perf").virq(1, 1))!)).toBe(0);
      for (const [t, host] of [[ta, pair.a], [tb, pair.b]] as const) {
        const view = new SysfsView(host.system);
        const net = t.client("net");
        const dir = t.strategy.queueSysfsDir(net.queue(2));
        const name = host.pciFunction.name;
        expect(view.list(dir)).toEqual([String(net.virq(2, 0))]);
        expect(view.read(`/sys/kernel/irq/${net.virq(2, 0)}/actions`)).toBe("ntb_transport\n");
        // The ntb bus device is named after its PCI function and sits under it; ntb_transport is its driver.
        expect(view.read(`/sys/bus/ntb/devices/${name}/uevent`)).toBe("DRIVER=ntb_transport\n");
        expect(view.list(`${host.pciFunction.sysfsPath}`)).toContain(name);
        expect(view.links().get(`${host.pciFunction.sysfsPath}/${name}/driver`)).toBe("../../../../bus/ntb/drivers/ntb_transport");
        expect(view.read(`/sys/bus/pci/devices/${name}/uevent`)).toContain("DRIVER=ntb_hw_intel\nPCI_CLASS=68000\nPCI_ID=8086:201C\n");
      }
    });

    test("with interrupt remapping an affinity change touches only the IRTE: the descriptor stays valid", () => {
      const { pair, ta, tb, hits } = setup(factory);
      const virq = ta.client("net").virq(0, 0);
      const desc = pair.a.system.irqDesc(virq)!;
      const before = tb.client("net").peerDescriptor(0, 0)!;
      const target = (desc.effectiveCpu + 1) % 4;
      pair.a.system.setAffinity(virq, 1 << target);
      expect(tb.client("net").peerDescriptor(0, 0)).toEqual(before);
      expect(ta.stats.republished).toBe(0);
      expect(tb.client("net").trigger(0, 0)).toBe(DELIVERED);
      expect(desc.counts[target]).toBe(1);
      expect(hits.A).toEqual(["net0.0"]);
    });

    test("ntb_msi_setup_mws asks for max(32 KiB, size_max): a window whose maximum is below 32 KiB cannot be set up", () => {
      const pair = createNtbPair({ a: { interruptRemapping: true }, b: { interruptRemapping: true }, mwAlign: { addrAlign: 0x1000, sizeAlign: 0x1000, sizeMax: 0x1000 } });
      const ta = new NtbTransport(pair.a, factory);
      new NtbTransport(pair.b, factory);
      const snap = pair.a.system.snapshot();
      expect(code(() => ta.createClient("net", { queuePairs: 1 }))).toBe("EINVAL");
      expect(pair.a.system.snapshot()).toEqual(snap);
      expect(ta.clients()).toEqual([]);
    });

    test("with interrupt remapping the window offset is the IRTE handle's: an interrupt on IRTE 1024 or above cannot be published (Linux: EFAULT)", () => {
      const { pair, ta, tb, hits } = setup(factory);
      // Remappable format: handle bits 14:0 in address bits 19:5, so handle h sits at offset h * 32
      // (plus the format and SHV bits) and the first 32 KiB of the window hold handles below 1024.
      const inUse = pair.a.system.snapshot().irtes;
      const giveBack = takeIrtes(pair.a.system, 1024 - inUse + 1);
      const net = ta.client("net");
      const before = { snap: pair.a.system.snapshot(), spads: Array.from({ length: pair.a.spadCount }, (_, i) => pair.a.spadRead(i)), published: ta.stats.published };
      const err = code(() => net.grow(0));
      expect(err).toBe("EINVAL");
      expect({ snap: pair.a.system.snapshot(), spads: Array.from({ length: pair.a.spadCount }, (_, i) => pair.a.spadRead(i)), published: ta.stats.published }).toEqual(before);
      expect(tb.client("net").peerDescriptor(0, 1)).toBeUndefined();
      // Once the IRTEs are back, the same growth lands below handle 1024 and is published.
      giveBack();
      const irq = net.grow(0);
      expect(pair.a.system.irqDesc(irq.virq)!.irte).toBeLessThan(1024);
      expect(tb.client("net").trigger(0, 1)).toBe(DELIVERED);
      expect(hits.A).toEqual(["net0.1"]);
    });
  });
}

// Without interrupt remapping an IMS design is refused (rollback.test.ts). Linux's ntb_msi itself
// runs on the function's PCI MSI-X vectors, which need no remapping: with them (test/support/
// msix-design.ts) the message names the APIC id and vector, changes with the affinity, and is
// re-published through the write_msi_msg callback.
describe("end to end on the NTB function's own MSI-X vectors, without interrupt remapping", () => {
  test("an affinity change rewrites the message when the next interrupt arrives, and the descriptor is re-published", () => {
    const { pair, ta, tb, hits } = setup(msix, {}, false);
    const virq = ta.client("net").virq(0, 0);
    const desc = pair.a.system.irqDesc(virq)!;
    const before = tb.client("net").peerDescriptor(0, 0)!;
    const from = desc.effectiveCpu;
    const target = (from + 1) % 4;
    pair.a.system.setAffinity(virq, 1 << target);
    // Without remapping an MSI moves from its own interrupt (irq_move_irq): until then the old
    // message stands, and the peer's trigger is delivered where it always was.
    expect(tb.client("net").peerDescriptor(0, 0)).toEqual(before);
    expect(tb.client("net").trigger(0, 0)).toBe(DELIVERED);
    expect(desc.counts[from]).toBe(1);
    // That interrupt moved it: a new vector on the target CPU, a new message, re-published through
    // the write_msi_msg callback (ntb_msi_write_msg -> desc_changed) and read by the peer.
    expect(desc.effectiveCpu).toBe(target);
    const after = tb.client("net").peerDescriptor(0, 0)!;
    expect(after).not.toEqual(before);
    expect(ta.stats.republished).toBe(1);
    expect(tb.client("net").trigger(0, 0)).toBe(DELIVERED);
    expect(desc.counts[target]).toBe(1);
    expect(hits.A).toEqual(["net0.0", "net0.0"]);
  });

  /** Requests an interrupt on `cpu` in queue pair 0 of A's "net" (vector 1) and tries to publish it; undoes both. */
  function publishOn(t: NtbTransport, cpu: number): string {
    const q = t.client("net").queue(0);
    const irq = t.strategy.allocIrq(q, 1, { affinity: [cpu] });
    try {
      // ntb_msi reads the message after request_irq: request first.
      t.ntb.system.requestIrq(irq.virq, "late", () => {});
      try {
        return code(() => t.publish(irq.storeIndex));
      } finally {
        t.ntb.system.freeIrq(irq.virq, "late");
      }
    } finally {
      t.strategy.freeIrq(q, 1);
    }
  }

  test("a message outside the 32 KiB MSI window cannot be published (Linux: EFAULT), and nothing is written", () => {
    const align = { addrAlign: 0x100000, sizeAlign: 0x1000, sizeMax: 0x8000 };
    // Host A's interrupts on CPUs 0-7 (the least loaded CPU of 16 would be beyond them).
    const { pair, ta, tb } = setup(msix, { a: { cpus: 16 }, mwAlign: align }, false, { strategyOptions: { affinity: "0-7" } });
    // Window = 32 KiB from 0xFEE00000: APIC ids 0-7 (compatibility format, destination id in bits 19:12).
    expect([pair.a.window(1).xlatAddress, pair.a.window(1).xlatSize]).toEqual([0xfee00000, 0x8000]);
    const snap = [pair.a.system.snapshot(), Array.from({ length: pair.a.spadCount }, (_, i) => pair.a.spadRead(i)), { ...ta.stats }];
    expect(publishOn(ta, 9)).toBe("EINVAL");
    expect([pair.a.system.snapshot(), Array.from({ length: pair.a.spadCount }, (_, i) => pair.a.spadRead(i)), { ...ta.stats }]).toEqual(snap);
    // Growth through the client (its CPUs 0-7) lands inside the window and is published.
    const ok = ta.client("net").grow(0);
    expect(pair.a.system.irqDesc(ok.virq)!.effectiveCpu).toBeLessThan(8);
    expect(tb.client("net").trigger(0, 1)).toBe(DELIVERED);
  });

  test("with a 1 MiB window a message beyond its first 32 KiB still cannot be published (Linux: end_addr = base + 32 KiB)", () => {
    const { pair, ta } = setup(msix, { a: { cpus: 16 } }, false, { strategyOptions: { affinity: "0-7" } });
    expect(pair.a.window(1).xlatSize).toBe(0x100000);
    const snap = pair.a.system.snapshot();
    // APIC id 9: compatibility address 0xfee09000, inside the translation but past 32 KiB.
    expect(publishOn(ta, 9)).toBe("EINVAL");
    expect(publishOn(ta, 7)).toBe("none");
    expect(pair.a.system.snapshot()).toEqual(snap);
  });
});
