import { describe, expectTypeOf, test } from "vitest";
import {
  createQueueStrategy,
  type Device,
  type ImsStrategy,
  type IrqSystem,
  type MessageStore,
  type Queue,
  type QueueOptions,
  type StrategyDesign,
  type StrategyFactory,
} from "../src/index.js";

// A downstream design written against the interface, as a third-party strategy package would.
declare const system: IrqSystem;
declare const host: Device;
declare const store: MessageStore;
declare const design: StrategyDesign;

describe("the strategy seam, as a downstream project types it", () => {
  test("a factory built on createQueueStrategy is a StrategyFactory", () => {
    const factory: StrategyFactory = (s, h, st, options) => createQueueStrategy(s, h, st, design, options);
    expectTypeOf(factory).parameters.toEqualTypeOf<Parameters<StrategyFactory>>();
    expectTypeOf(factory(system, host, store)).toEqualTypeOf<ImsStrategy>();
  });

  test("queue options follow exactOptionalPropertyTypes: an omitted PASID is not an undefined one", () => {
    const ok: QueueOptions = { name: "wq0.0", slice: { base: 0, count: 4 } };
    expectTypeOf(ok.name).toBeString();
    // @ts-expect-error pasid: undefined is not "no PASID" under exactOptionalPropertyTypes
    const bad: QueueOptions = { name: "wq0.0", pasid: undefined };
    expectTypeOf(bad).toMatchTypeOf<QueueOptions>();
  });

  test("a hand-written strategy missing a required method does not type-check", () => {
    const full = createQueueStrategy(system, host, store, design);
    const { setPasid: _dropped, ...partial } = full;
    // @ts-expect-error setPasid is required by ImsStrategy
    const broken: ImsStrategy = partial;
    expectTypeOf(broken.irqs).returns.toBeArray();
    expectTypeOf<ImsStrategy["allocIrq"]>().parameters.toEqualTypeOf<[Queue, (number | undefined)?, (import("../src/index.js").MsiAllocOptions | undefined)?]>();
  });

  test("a design missing a hook is refused by createQueueStrategy", () => {
    const { owns: _owns, ...noOwns } = design;
    // @ts-expect-error owns() is part of StrategyDesign
    createQueueStrategy(system, host, store, noOwns);
    expectTypeOf(design.owns).returns.toBeBoolean();
  });
});
