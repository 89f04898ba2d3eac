export { createStrategy } from "./create-strategy.js";
export { SubdeviceDesign } from "./subdevice-design.js";
