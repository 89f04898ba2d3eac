import { test } from "vitest";
import { runConformance } from "@imsim/conformance";
import type { HardwareAdapter } from "@imsim/core";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createNtbAdapter, ntbAdapter } from "../src/index.js";

// Typed with core's contract: this fails to compile if the adapter stops matching it.
const hardware: HardwareAdapter = ntbAdapter;
const withoutIr: HardwareAdapter = createNtbAdapter({ interruptRemapping: false });

runConformance(test, { strategy: subdevice, hardware });
runConformance(test, { strategy: flat, hardware });
runConformance(test, { strategy: subdevice, hardware: withoutIr, operations: 2000 });
runConformance(test, { strategy: flat, hardware: withoutIr, operations: 2000 });
