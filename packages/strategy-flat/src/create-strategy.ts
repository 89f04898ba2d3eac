import { createQueueStrategy, type StrategyFactory } from "@imsim/core";
import { FlatDesign } from "./flat-design.js";

/** Design B on `host`'s `store`: the host keeps every descriptor; a per-queue table tracks ownership. */
export const createStrategy: StrategyFactory = (system, host, store, options) =>
  createQueueStrategy(system, host, store, (s, h, st) => new FlatDesign(s, h, st), options);
