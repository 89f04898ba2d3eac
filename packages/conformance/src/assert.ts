import { isImsimError, type ImsimErrorCode } from "@imsim/core";

/**
 * The suite's own assertions: it imports no runner, so it throws plain `Error`s whose messages say
 * what was checked, what was expected and what came back. Any runner reports them as failures.
 */
export class ConformanceAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceAssertionError";
  }
}

/** A short, stable text form of a value for failure messages. */
export function show(value: unknown, depth = 0): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
  if (typeof value !== "object") return String(value);
  if (depth > 4) return Array.isArray(value) ? "[…]" : "{…}";
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (Array.isArray(value)) return `[${value.map((v) => show(v, depth + 1)).join(", ")}]`;
  if (ArrayBuffer.isView(value)) return `[${Array.from(value as unknown as ArrayLike<number>).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${show(v, depth + 1)}`);
  return `{ ${entries.join(", ")} }`;
}

export function fail(message: string): never {
  throw new ConformanceAssertionError(message);
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/** Strict equality (Object.is). */
export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** The path of the first difference between two plain values, or undefined when they are equal. */
export function firstDifference(actual: unknown, expected: unknown, path = ""): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  const here = path || "(root)";
  if (typeof actual !== "object" || typeof expected !== "object" || actual === null || expected === null) {
    return `${here}: expected ${show(expected)}, got ${show(actual)}`;
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) return `${here}: expected ${show(expected)}, got ${show(actual)}`;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) return `${path}.length: expected ${expected.length}, got ${actual.length} (expected ${show(expected)}, got ${show(actual)})`;
    for (let i = 0; i < actual.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
  for (const k of [...keys].sort()) {
    if (!(k in a)) return `${path}.${k}: expected ${show(e[k])}, but the key is missing`;
    if (!(k in e)) return `${path}.${k}: unexpected key with ${show(a[k])}`;
    const d = firstDifference(a[k], e[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

/** Structural equality of plain data (objects, arrays, primitives). */
export function deepEqual(actual: unknown, expected: unknown, what: string): void {
  const d = firstDifference(actual, expected);
  if (d !== undefined) fail(`${what}: differs at ${d}`);
}

/**
 * Calls `fn` and expects an imsim error with `code` (checked with isImsimError, so errors of any
 * copy of @imsim/core count). Returns the error.
 */
export function throwsCode(fn: () => unknown, code: ImsimErrorCode, what: string): Error {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (isImsimError(e, code)) return e;
    if (isImsimError(e)) fail(`${what}: expected an ImsimError ${code}, got ${e.code} (${e.message})`);
    fail(`${what}: expected an ImsimError ${code}, got a non-imsim ${show(e)}`);
  }
  return fail(`${what}: expected an ImsimError ${code}, but the call returned ${show(result)}`);
}
