import { isImsimError, type ImsimErrorCode } from "@imsim/core";

/** The ImsimError code `fn` throws; "none" when it returns, "not-imsim" for any other throw. */
export function code(fn: () => unknown): ImsimErrorCode | "none" | "not-imsim" {
  try {
    fn();
  } catch (e) {
    return isImsimError(e) ? e.code : "not-imsim";
  }
  return "none";
}
