// ImsimError: one error class for the @imsim packages, with the errno names of include/uapi/asm-generic/errno-base.h
// and errno.h as stable codes.
/**
 * The one error class of the imsim family. `code` is a kernel-style errno name that stays stable
 * across releases; the message says what was wrong and with which value.
 *
 * Errors are branded with `Symbol.for('imsim.error')` so that `isImsimError()` recognises an error
 * thrown by another copy of the package (the CJS build seen from the ESM build, or two installs):
 * `instanceof` cannot do that.
 */
export type ImsimErrorCode =
  | "EINVAL" // bad argument: wrong type, out of range, malformed
  | "ENOSPC" // no free virq, vector, IRTE or store entry
  | "EBUSY" // resource in use (entry already allocated, last CPU, queue still has users)
  | "ENOENT" // no such queue, descriptor, virq or action
  | "ENODEV" // device or domain gone (removed, never created)
  | "EPERM" // operation not allowed in this state or by this caller
  | "EEXIST" // name or index already taken
  | "ENOLINK" // a link (NTB) is down
  | "EFAULT" // an address outside a window or mapping
  | "EOPNOTSUPP" // the platform does not offer it (an IMS domain without a physical remapping parent)
  | "EIO"; // injected or simulated hardware failure

const BRAND = Symbol.for("imsim.error");

export class ImsimError extends Error {
  readonly code: ImsimErrorCode;
  readonly [BRAND] = true;
  constructor(code: ImsimErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "ImsimError";
    this.code = code;
  }
}

/** True for an error thrown by any copy of any imsim package; with `code`, only for that code. */
export function isImsimError(value: unknown, code?: ImsimErrorCode): value is ImsimError {
  if (typeof value !== "object" || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/** Throws EINVAL unless `value` is an integer in [min, max]. `what` names the argument. */
export function checkInt(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ImsimError("EINVAL", `${what} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new ImsimError("EINVAL", `${what} ${value} is outside [${min}, ${max}]`);
  }
  return value;
}

/** A short printable form of any value, for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}
