export { createStrategy } from "./create-strategy.js";
export { FlatDesign } from "./flat-design.js";
