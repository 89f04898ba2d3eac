import { ImsimError, describe, type IrqSystem } from "@imsim/core";
import type { Memory } from "./memory.js";

// Checks the driver side shares; internal to the package (not re-exported from index.ts).

/**
 * Whether the handler of `virq` is running now. Freeing an interrupt from its own handler is EBUSY
 * in core (Linux's free_irq would wait for itself in synchronize_irq), so an operation that frees
 * interrupts checks this first and fails before it changes anything.
 */
export function virqInHandler(system: IrqSystem, virq: number): boolean {
  return virq > 0 && system.irqDesc(virq)?.inProgress === true;
}

/** EINVAL unless `memory` is a Memory (what the device DMAs to, physically or under a PASID). */
export function checkMemory(memory: unknown, what: string): asserts memory is Memory {
  if (typeof memory !== "object" || memory === null || typeof (memory as Memory).readInto !== "function" || typeof (memory as Memory).inRange !== "function") {
    throw new ImsimError("EINVAL", `${what} must be a Memory, got ${describe(memory)}`);
  }
}
