import { describe, expect, test } from "vitest";
import { isImsimError } from "@imsim/core";
import { Doorbell, ScratchpadBank, createNtbPair } from "../src/index.js";
import { code } from "./support/error-code.js";


describe("scratchpads", () => {
  test("the local side writes, the peer reads the same register", () => {
    const pair = createNtbPair({ spads: 16 });
    pair.a.linkEnable();
    pair.b.linkEnable();
    pair.a.spadWrite(3, 0xdeadbeef);
    expect(pair.b.peerSpadRead(3)).toBe(0xdeadbeef);
    expect(pair.b.spadRead(3)).toBe(0);
    pair.b.peerSpadWrite(4, 5);
    expect(pair.a.spadRead(4)).toBe(5);
    expect(code(() => pair.a.spadRead(16))).toBe("EINVAL");
  });

  test("peer scratchpad access fails with ENOLINK while the link is down", () => {
    const pair = createNtbPair();
    pair.a.linkEnable();
    expect(pair.isLinkUp).toBe(false);
    expect(code(() => pair.a.peerSpadRead(0))).toBe("ENOLINK");
    expect(code(() => pair.a.peerDbSet(1))).toBe("ENOLINK");
    const bank = new ScratchpadBank(2);
    bank.write(1, -1);
    expect(bank.read(1)).toBe(0xffffffff);
  });
});

describe("doorbells", () => {
  test("a masked bit stays set and raises its event once unmasked", () => {
    const db = new Doorbell(16);
    const seen: number[] = [];
    db.onEvent((bits) => seen.push(bits));
    db.setMask(0x4);
    db.set(0x4);
    expect(seen).toEqual([]);
    expect(db.read()).toBe(0x4);
    db.set(0x1);
    expect(seen).toEqual([0x1]);
    db.clear(0x1);
    db.clearMask(0x4);
    expect(seen).toEqual([0x1, 0x4]);
    db.clear(0x4);
    expect(db.read()).toBe(0);
  });

  test("bits outside the valid mask are refused", () => {
    const db = new Doorbell(4);
    expect(db.validMask).toBe(0xf);
    expect(code(() => db.set(0x10))).toBe("EINVAL");
    expect(code(() => db.setMask(0x100))).toBe("EINVAL");
  });

  test("ringing the peer reaches the peer's doorbell, not the local one", () => {
    const pair = createNtbPair();
    pair.a.linkEnable();
    pair.b.linkEnable();
    const onB: number[] = [];
    pair.b.onDoorbell((bits) => onB.push(bits));
    pair.a.peerDbSet(0x8);
    expect(onB).toEqual([0x8]);
    expect(pair.b.dbRead()).toBe(0x8);
    expect(pair.a.dbRead()).toBe(0);
  });
});

describe("link", () => {
  test("the link is up only with the cable connected and both sides enabled; both sides see each change once", () => {
    const pair = createNtbPair({ connected: false });
    const events: string[] = [];
    pair.a.onLinkEvent((up) => events.push(`A:${up}`));
    pair.b.onLinkEvent((up) => events.push(`B:${up}`));
    pair.a.linkEnable();
    pair.b.linkEnable();
    expect(pair.isLinkUp).toBe(false);
    pair.connect();
    expect(pair.isLinkUp).toBe(true);
    pair.flap();
    pair.b.linkDisable();
    expect(events).toEqual(["A:true", "B:true", "A:false", "B:false", "A:true", "B:true", "A:false", "B:false"]);
    expect(pair.a.linkIsUp).toBe(false);
  });

  test("removing one side's NTB function takes the link down", () => {
    const pair = createNtbPair();
    pair.a.linkEnable();
    pair.b.linkEnable();
    const events: boolean[] = [];
    pair.b.onLinkEvent((up) => events.push(up));
    pair.a.system.removeDevice(pair.a.pciFunction);
    expect(events).toEqual([false]);
    expect(pair.a.system.device("0000:05:00.1", "ntb")).toBeUndefined();
    expect(code(() => pair.a.linkEnable())).toBe("ENODEV");
  });

  test("each host has the NTB device on the ntb bus under its PCI function, with the proxy ids as DMA aliases", () => {
    const pair = createNtbPair();
    expect(pair.a.device.bus).toBe("ntb");
    expect(pair.a.device.parent).toBe(pair.a.pciFunction);
    expect(pair.a.pciFunction.name).toBe("0000:05:00.1");
    expect(pair.b.pciFunction.name).toBe("0000:82:00.1");
    expect(pair.a.pciFunction.dmaAliases).toEqual([0x0508, 0x0509]);
    expect(pair.a.wireRequesterId).toBe(0x0508);
    expect(pair.a.system.name).toBe("hostA");
    expect(pair.b.system.name).toBe("hostB");
  });

  test("registered proxy ids must lie on the function's bus (pci_add_dma_alias takes devfns of it): EINVAL otherwise; unregistered ones may be anywhere", () => {
    const err = (() => {
      try {
        createNtbPair({ a: { proxyIds: [0x0508, 0x0608] } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isImsimError(err, "EINVAL")).toBe(true);
    expect(String(err)).toContain("0x0608");
    const pair = createNtbPair({ a: { proxyIds: [0x0608], registerProxyIds: false } });
    expect(pair.a.pciFunction.dmaAliases).toEqual([]);
    expect(pair.a.wireRequesterId).toBe(0x0608);
  });
});
