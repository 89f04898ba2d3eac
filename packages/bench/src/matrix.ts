import type { StrategyFactory } from "@imsim/core";
import { createStrategy as createSubdevice } from "@imsim/strategy-subdevice";
import { createStrategy as createFlat } from "@imsim/strategy-flat";
import { createStrategy as createMainline } from "@imsim/strategy-mainline";

/**
 * The three IMS storage designs: A (subdevices) and B (flat per-queue storage) of the Linux
 * thread, and mainline, what Linux v6.2-v6.9 shipped (IMS as the PCI device's secondary domain).
 */
export const STRATEGY_NAMES = ["subdevice", "flat", "mainline"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The two hardware models the matrix runs on. */
export const HARDWARE_NAMES = ["idxd", "ntb"] as const;
export type HardwareName = (typeof HARDWARE_NAMES)[number];

/** Design letter: A and B as the Linux thread named them, M for mainline. */
export type DesignLetter = "A" | "B" | "M";
export const DESIGN_LETTER: Record<StrategyName, DesignLetter> = { subdevice: "A", flat: "B", mainline: "M" };

export const STRATEGIES: Record<StrategyName, StrategyFactory> = {
  subdevice: createSubdevice,
  flat: createFlat,
  mainline: createMainline,
};

export function isStrategyName(value: string): value is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(value);
}
export function isHardwareName(value: string): value is HardwareName {
  return (HARDWARE_NAMES as readonly string[]).includes(value);
}

/** Every cell of {subdevice, flat, mainline} × {idxd, ntb}, hardware-major so that a hardware's designs run back to back. */
export function matrixCells(): { strategy: StrategyName; hardware: HardwareName }[] {
  const out: { strategy: StrategyName; hardware: HardwareName }[] = [];
  for (const hardware of HARDWARE_NAMES) for (const strategy of STRATEGY_NAMES) out.push({ strategy, hardware });
  return out;
}
