import { describe, expect, it } from "vitest";
import {
  Entry16Store,
  MSI_SECONDARY_DOMAIN,
  createQueueStrategy,
  createSystem,
  type Device,
  type IrqSystem,
  type MessageStore,
  type StrategyDesign,
} from "../src/index.js";
import { dumpStore, expectCode } from "./support/helpers.js";

// Every public function validates its input: a typed error with the right code, and nothing changed
// (no delivery, no fault recorded, no statistics moved).

function setup() {
  const system = createSystem({ cpus: 2, interruptRemapping: true });
  const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
  const store = new Entry16Store({ chipName: "IMS", size: 8, requesterId: dev.requesterId, pasid: true });
  const domain = system.createMsiDomain(dev, { domainId: MSI_SECONDARY_DOMAIN, store, kind: "ims" });
  const maps = domain.allocRange(0, 7);
  let handled = 0;
  for (const m of maps) system.requestIrq(m.virq, `h${m.index}`, () => handled++);
  return { system, dev, store, maps, handled: () => handled };
}

function unchanged(system: IrqSystem, store: MessageStore, handled: () => number, fn: () => void): void {
  const stats = { ...system.stats };
  const faults = system.faults.total;
  const entries = dumpStore(store);
  const n = handled();
  fn();
  expect(system.stats).toEqual(stats);
  expect(system.faults.total).toBe(faults);
  expect(dumpStore(store)).toEqual(entries);
  expect(handled()).toBe(n);
}

describe("raise validates the store and the entry", () => {
  const bad: [string, unknown][] = [
    ["-1", -1],
    ["the store size", 8],
    ["2^53", 2 ** 53],
    ["NaN", NaN],
    ["0.5", 0.5],
    ['"0"', "0"],
    ["undefined", undefined],
    ["Infinity", Infinity],
  ];
  for (const [what, index] of bad) {
    it(`entry ${what} is EINVAL, even right after a cached raise of entry 0`, () => {
      const { system, store, handled } = setup();
      system.raise(store, 0);
      system.raise(store, 0);
      unchanged(system, store, handled, () => expectCode(() => system.raise(store, index as number), "EINVAL"));
    });
  }
  for (const [what, s] of [["null", null], ["undefined", undefined], ["an object that is not a store", { size: 8 }], ["a number", 3]] as const) {
    it(`a store that is ${what} is EINVAL`, () => {
      const { system, store, handled } = setup();
      unchanged(system, store, handled, () => expectCode(() => system.raise(s as unknown as MessageStore, 0), "EINVAL"));
    });
  }
});

describe("msiWrite validates the write", () => {
  const cases: [string, unknown[]][] = [
    ["a string address", ["0xfee00000", 0, 0, 0x6a08, -1]],
    ["a fractional data word", [0xfee00018, 0, 0.5, 0x6a08, -1]],
    ["an address above 2^32", [2 ** 32, 0, 0, 0x6a08, -1]],
    ["a 17-bit requester id", [0xfee00018, 0, 0, 0x1_0000, -1]],
    ["a requester id string", [0xfee00018, 0, 0, "6a:01.0", -1]],
    ["a PASID of -2", [0xfee00018, 0, 0, 0x6a08, -2]],
    ["a 21-bit PASID", [0xfee00018, 0, 0, 0x6a08, 1 << 20]],
  ];
  for (const [what, args] of cases) {
    it(`${what} is EINVAL, with no fault recorded`, () => {
      const { system, store, handled } = setup();
      unchanged(system, store, handled, () =>
        expectCode(() => (system.msiWrite as (...a: unknown[]) => unknown)(...args), "EINVAL"),
      );
    });
  }
});

describe("system options and fault injection", () => {
  it("injectFault with an unknown point is EINVAL and arms nothing", () => {
    const { system, store, handled } = setup();
    unchanged(system, store, handled, () => expectCode(() => system.injectFault("bogus" as "store-write"), "EINVAL"));
    expect(() => system.setAffinity(1000, 1)).toThrow(); // sanity: the system still answers
  });
  for (const [what, options] of [
    ["a numeric name", { name: 123 }],
    ["an empty name", { name: "" }],
    ["a name with a slash", { name: "a/b" }],
    ["a non-function onHandlerError", { onHandlerError: "log" }],
  ] as const) {
    it(`createSystem with ${what} is EINVAL`, () => {
      expectCode(() => createSystem(options as never), "EINVAL");
    });
  }
});

describe("a strategy's arguments are checked in core, before any design sees them", () => {
  const notStores: [string, unknown][] = [
    ["null", null],
    ["an empty object", {}],
    ["an object without pasid()", { chipName: "X", size: 4, requesterId: 0, supportsPasid: false, version: 0, writeMessage() {} }],
  ];
  for (const [what, store] of notStores) {
    it(`a store that is ${what} is EINVAL and the design is never made`, () => {
      const system = createSystem({ cpus: 2 });
      const host = system.addPciDevice({ bdf: "0000:01:00.0" });
      let made = false;
      const design = (): StrategyDesign => {
        made = true;
        throw new Error("the design must not be made");
      };
      const before = system.snapshot();
      expectCode(() => createQueueStrategy(system, host, store as MessageStore, design), "EINVAL");
      expect(made).toBe(false);
      expect(system.snapshot()).toEqual(before);
    });
  }
  it("a host that is not a device of the system is ENODEV", () => {
    const system = createSystem({ cpus: 2 });
    const other = createSystem({ cpus: 2 }).addPciDevice({ bdf: "0000:01:00.0" });
    const store = new Entry16Store({ chipName: "IMS", size: 4, requesterId: 0x100, pasid: false });
    expectCode(() => createQueueStrategy(system, other as Device, store, () => ({}) as StrategyDesign), "ENODEV");
  });
});
