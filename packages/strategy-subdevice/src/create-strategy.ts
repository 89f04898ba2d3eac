import { createQueueStrategy, type StrategyFactory } from "@imsim/core";
import { SubdeviceDesign } from "./subdevice-design.js";

/** Design A on `host`'s `store`: each queue becomes a child device with its own IMS domain. */
export const createStrategy: StrategyFactory = (system, host, store, options) =>
  createQueueStrategy(system, host, store, (s, h, st) => new SubdeviceDesign(s, h, st), options);
