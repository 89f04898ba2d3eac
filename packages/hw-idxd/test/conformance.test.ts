import { test } from "vitest";
import { runConformance, type HardwareAdapter } from "@imsim/conformance";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createIdxdAdapter, idxdAdapter } from "../src/index.js";

// The adapter is typed structurally; this line fails to compile if it stops matching the suite's interface.
const hardware: HardwareAdapter = idxdAdapter;
const withoutIr: HardwareAdapter = createIdxdAdapter({ interruptRemapping: false });

runConformance(test, { strategy: subdevice, hardware });
runConformance(test, { strategy: flat, hardware });
runConformance(test, { strategy: subdevice, hardware: withoutIr, operations: 2000 });
runConformance(test, { strategy: flat, hardware: withoutIr, operations: 2000 });
