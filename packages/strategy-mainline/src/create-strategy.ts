import { createQueueStrategy, type StrategyFactory } from "@imsim/core";
import { MainlineDesign } from "./mainline-design.js";

/** The v6.2-v6.9 design on `host`'s `store`: IMS as its secondary domain, the PASID as each interrupt's cookie. */
export const createStrategy: StrategyFactory = (system, host, store, options) =>
  createQueueStrategy(system, host, store, (s, h, st) => new MainlineDesign(s, h, st), options);
