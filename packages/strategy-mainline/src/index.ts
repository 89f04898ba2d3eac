export { createStrategy } from "./create-strategy.js";
export { MainlineDesign, NO_PASID_COOKIE, cookieOfPasid, pasidOfCookie } from "./mainline-design.js";
