import { describe, test } from "vitest";
import { createStrategy as subdevice } from "@imsim/strategy-subdevice";
import { createStrategy as flat } from "@imsim/strategy-flat";
import { createStrategy as mainline } from "@imsim/strategy-mainline";
import { runConformance } from "../src/index.js";
import { genericAliased, genericIms, genericProxy } from "./support/generic-hardware.js";

// The suite run against the three real strategies on the generic hardware models of test/support
// (hw-idxd and hw-ntb run it against their own devices).
for (const [name, strategy] of [
  ["subdevice", subdevice],
  ["flat", flat],
  ["mainline", mainline],
] as const) {
  for (const hardware of [genericIms, genericAliased, genericProxy]) {
    describe(`${name} × ${hardware.name}`, () => {
      runConformance(test, { strategy, hardware, label: `${name} × ${hardware.name}` });
    });
  }
}
