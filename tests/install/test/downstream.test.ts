import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PUBLISHED, makeProject, node, ours, packAll, repo, tempRoot } from "./support.js";

// A downstream project as users meet imsim: packed tarballs, installed with npm outside the
// workspace (no links), used from ESM, CJS and node:test.
let root: string;
let tarballs: Map<string, string>;
let app: string;

const USES = ["@imsim/core", "@imsim/strategy-subdevice", "@imsim/strategy-flat", "@imsim/strategy-mainline", "@imsim/conformance", "@imsim/hw-idxd"];

const esmScript = (strategy: string) => `import { procInterrupts } from "@imsim/core";
import { createStrategy } from "${strategy}";
import { idxdAdapter } from "@imsim/hw-idxd";

const hw = idxdAdapter.create(createStrategy);
const queue = hw.createQueue({ name: "wq1.0", nvec: 2 });
let handled = 0;
for (const irq of hw.strategy.irqs(queue)) hw.system.requestIrq(irq.virq, \`idxd-q\${irq.index}\`, () => handled++);
hw.raise(queue, 0);
hw.raise(queue, 1);
hw.raise(queue, 1);
process.stdout.write(procInterrupts(hw.system));
console.log(\`strategy \${hw.strategy.name} handled \${handled}\`);
hw.teardown();
`;

const cjsScript = `const { procInterrupts, isImsimError } = require("@imsim/core");
const { createStrategy } = require("@imsim/strategy-flat");
const { idxdAdapter } = require("@imsim/hw-idxd");

const hw = idxdAdapter.create(createStrategy);
const queue = hw.createQueue({ name: "wq1.0", nvec: 1 });
let handled = 0;
hw.system.requestIrq(hw.strategy.irqs(queue)[0].virq, "idxd-cjs", () => handled++);
hw.raise(queue, 0);
process.stdout.write(procInterrupts(hw.system));
try { hw.strategy.allocIrq(queue, -1); } catch (e) { console.log("error recognised", isImsimError(e, "EINVAL")); }
console.log("cjs handled " + handled);
hw.teardown();
`;

const conformanceTest = (strategy: string) => `import { test } from "node:test";
import { runConformance } from "@imsim/conformance";
import { idxdAdapter } from "@imsim/hw-idxd";
import { createStrategy } from "${strategy}";

runConformance(test, { strategy: createStrategy, hardware: idxdAdapter, operations: 2000 });
`;

// A strategy written in the downstream project: design A with one deliberate bug.
const brokenTest = `import { test } from "node:test";
import { runConformance } from "@imsim/conformance";
import { idxdAdapter } from "@imsim/hw-idxd";
import { createStrategy as real } from "@imsim/strategy-subdevice";

const broken = (system, host, store, options) => {
  const s = real(system, host, store, options);
  return { ...s, irqs: (queue) => s.irqs(queue).slice(1) }; // forgets each queue's first interrupt
};
runConformance(test, { strategy: broken, hardware: idxdAdapter, operations: 500, groups: ["storage"] });
`;

beforeAll(() => {
  root = tempRoot();
  tarballs = packAll(join(root, "tarballs"));
  app = makeProject(root, "app", Object.fromEntries(USES.map((n) => [n, `file:${tarballs.get(n)}`])));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("installed from packed tarballs, outside the workspace", () => {
  it("installs real copies, not workspace links", () => {
    expect(ours(app)).toEqual(USES.map((n) => n.slice("@imsim/".length)).sort());
    const core = JSON.parse(readFileSync(join(app, "node_modules/@imsim/core/package.json"), "utf8"));
    expect(core.name).toBe("@imsim/core");
    expect(execFileSync("find", [join(app, "node_modules/@imsim"), "-maxdepth", "1", "-type", "l"], { encoding: "utf8" })).toBe("");
  });

  it("an ESM script builds an IDXD system, allocates, raises and prints /proc/interrupts", () => {
    writeFileSync(join(app, "esm.mjs"), esmScript("@imsim/strategy-subdevice"));
    const r = node(app, ["esm.mjs"]);
    expect(r.output).toContain("strategy subdevice handled 3");
    expect(r.output).toMatch(/^\s+CPU0\s+CPU1/m);
    expect(r.output).toMatch(/IR-PCI-IDXD-\S+\s+1-edge\s+idxd-q1/);
    expect(r.status).toBe(0);
  });

  it("a CJS script does the same with require, and recognises core errors", () => {
    writeFileSync(join(app, "cjs.cjs"), cjsScript);
    const r = node(app, ["cjs.cjs"]);
    expect(r.output).toContain("cjs handled 1");
    expect(r.output).toContain("error recognised true");
    expect(r.output).toMatch(/IR-PCI-IDXD-\S+\s+\d+-edge\s+idxd-cjs/);
    expect(r.status).toBe(0);
  });

  it.each([
    ["@imsim/strategy-flat", "flat"],
    ["@imsim/strategy-mainline", "mainline"],
  ])("swaps design A for %s by changing one import line", (pkg, name) => {
    writeFileSync(join(app, "swap.mjs"), esmScript("@imsim/strategy-subdevice"));
    const a = node(app, ["swap.mjs"]);
    const text = readFileSync(join(app, "swap.mjs"), "utf8");
    const swapped = text.replace('from "@imsim/strategy-subdevice"', `from "${pkg}"`);
    const changed = text.split("\n").filter((line, i) => line !== swapped.split("\n")[i]);
    expect(changed).toHaveLength(1);
    writeFileSync(join(app, "swap.mjs"), swapped);
    const b = node(app, ["swap.mjs"]);
    expect(a.output).toContain("strategy subdevice handled 3");
    expect(b.output).toContain(`strategy ${name} handled 3`);
    expect([a.status, b.status]).toEqual([0, 0]);
  });

  it.each(["@imsim/strategy-subdevice", "@imsim/strategy-flat", "@imsim/strategy-mainline"])("runs @imsim/conformance against %s with node:test", (strategy) => {
    writeFileSync(join(app, "conformance.test.mjs"), conformanceTest(strategy));
    const r = node(app, ["--test", "--test-reporter=tap", "conformance.test.mjs"]);
    const pass = Number(/^# pass (\d+)/m.exec(r.output)?.[1]);
    const fail = Number(/^# fail (\d+)/m.exec(r.output)?.[1]);
    expect(fail).toBe(0);
    expect(pass).toBeGreaterThan(50);
    expect(r.status).toBe(0);
  });

  it("a deliberately broken downstream strategy fails the suite with a readable message", () => {
    writeFileSync(join(app, "broken.test.mjs"), brokenTest);
    const r = node(app, ["--test", "--test-reporter=tap", "broken.test.mjs"]);
    expect(r.status).not.toBe(0);
    expect(Number(/^# fail (\d+)/m.exec(r.output)?.[1])).toBeGreaterThan(0);
    expect(r.output).toMatch(/storage/);
    expect(r.output).toMatch(/expected/i);
  });

  it("installing @imsim/strategy-flat alone pulls in @imsim/core and nothing else of ours", () => {
    // The override stands in for the registry: it says where @imsim/core's tarball is, nothing more.
    const alone = makeProject(root, "flat-alone", { "@imsim/strategy-flat": `file:${tarballs.get("@imsim/strategy-flat")}` }, {
      "@imsim/core": `file:${tarballs.get("@imsim/core")}`,
    });
    expect(ours(alone)).toEqual(["core", "strategy-flat"]);
    writeFileSync(join(alone, "use.mjs"), `import { createStrategy } from "@imsim/strategy-flat";\nimport { createSystem, Entry16Store } from "@imsim/core";\nconst s = createSystem({ interruptRemapping: true });\nconst d = s.addPciDevice({ bdf: "0000:6a:01.0" });\nconst st = createStrategy(s, d, new Entry16Store({ chipName: "IMS", size: 8, requesterId: d.requesterId, pasid: true }));\nconsole.log(st.name, st.irqs(st.createQueue({ name: "q", nvec: 2 })).length);\n`);
    expect(node(alone, ["use.mjs"]).output.trim()).toBe("flat 2");
  });

  it("every published package passes npm publish --dry-run", () => {
    for (const p of PUBLISHED) {
      const out = execFileSync("npm", ["publish", "--dry-run", "--ignore-scripts", "--tag", "dry-run"], {
        cwd: join(repo, "packages", p),
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      expect(typeof out).toBe("string");
    }
  });
});
