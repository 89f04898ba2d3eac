import type { StrategyFactory } from "@imsim/core";
import { createStrategy as createSubdevice } from "@imsim/strategy-subdevice";
import { createStrategy as createFlat } from "@imsim/strategy-flat";

/** The two IMS storage designs: A (subdevices) and B (flat per-queue storage). */
export const STRATEGY_NAMES = ["subdevice", "flat"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The two hardware models the matrix runs on. */
export const HARDWARE_NAMES = ["idxd", "ntb"] as const;
export type HardwareName = (typeof HARDWARE_NAMES)[number];

/** Design letter as the Linux thread named them. */
export const DESIGN_LETTER: Record<StrategyName, "A" | "B"> = { subdevice: "A", flat: "B" };

export const STRATEGIES: Record<StrategyName, StrategyFactory> = {
  subdevice: createSubdevice,
  flat: createFlat,
};

export function isStrategyName(value: string): value is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(value);
}
export function isHardwareName(value: string): value is HardwareName {
  return (HARDWARE_NAMES as readonly string[]).includes(value);
}

/** Every cell of {subdevice, flat} × {idxd, ntb}, hardware-major so that a hardware's two designs run back to back. */
export function matrixCells(): { strategy: StrategyName; hardware: HardwareName }[] {
  const out: { strategy: StrategyName; hardware: HardwareName }[] = [];
  for (const hardware of HARDWARE_NAMES) for (const strategy of STRATEGY_NAMES) out.push({ strategy, hardware });
  return out;
}
