import { test } from "vitest";
import { runConformance } from "@imsim/conformance";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { ntbAdapter } from "../src/index.js";

runConformance(test, { strategy: subdevice, hardware: ntbAdapter });
runConformance(test, { strategy: flat, hardware: ntbAdapter });
