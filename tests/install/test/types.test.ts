import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, ours, packAll, repo, tempRoot } from "./support.js";

// Published types are self-contained: each package, installed from its tarball with only its own
// dependencies and peers, type-checks in a downstream project, strictly and without skipLibCheck,
// so that a .d.ts importing a package it does not depend on (TS2307) fails here. Each project
// checks one ESM file (the package's `import` types, index.d.ts) and one CJS file (index.d.cts).

const TSC = join(repo, "node_modules", "typescript", "bin", "tsc");

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2023"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    // Check the installed .d.ts files too: an unresolved import in them is the failure looked for.
    skipLibCheck: false,
    noEmit: true,
    // No @types/node in these projects: the packages' types must not need it.
    types: [],
  },
  include: ["*.ts", "*.cts"],
};

interface Case {
  /** Packages installed (besides nothing else of ours). */
  packages: string[];
  /** ESM downstream file. */
  esm: string;
  /** CJS downstream file (`import x = require(...)`). */
  cjs: string;
}

const CORE_ESM = `import { createSystem, Entry16Store, ImsimError, isImsimError, procInterrupts, type HardwareAdapter, type HardwareInstance, type ImsStrategy, type StrategyFactory } from "@imsim/core";

const system = createSystem({ cpus: 2, interruptRemapping: true });
const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
const store = new Entry16Store({ chipName: "IMS", size: 8, requesterId: dev.requesterId, pasid: true });
const text: string = procInterrupts(system);
const err: unknown = new ImsimError("EINVAL", text);
const known: boolean = isImsimError(err, "EINVAL");
declare const factory: StrategyFactory;
const strategy: ImsStrategy = factory(system, dev, store);
declare const adapter: HardwareAdapter;
const instance: HardwareInstance = adapter.create(factory, { cpus: 2 });
const link: boolean = instance.supports.link;
export { known, strategy, link };
`;

const CORE_CJS = `import core = require("@imsim/core");

const system: core.IrqSystem = core.createSystem({ cpus: 2 });
declare const adapter: core.HardwareAdapter;
declare const factory: core.StrategyFactory;
const instance: core.HardwareInstance = adapter.create(factory);
const caps: core.Capabilities = instance.supports;
export = { system, caps };
`;

const strategyEsm = (pkg: string, design: string) => `import { createSystem, Entry16Store, type ImsStrategy, type StrategyFactory } from "@imsim/core";
import { createStrategy, ${design} } from "${pkg}";

const factory: StrategyFactory = createStrategy;
const system = createSystem({ interruptRemapping: true });
const dev = system.addPciDevice({ bdf: "0000:6a:01.0" });
const s: ImsStrategy = factory(system, dev, new Entry16Store({ chipName: "IMS", size: 8, requesterId: dev.requesterId, pasid: true }));
const n: number = s.irqs(s.createQueue({ name: "q", nvec: 2 })).length;
export { n, ${design} };
`;

const strategyCjs = (pkg: string) => `import core = require("@imsim/core");
import strategy = require("${pkg}");

const factory: core.StrategyFactory = strategy.createStrategy;
export = factory;
`;

const HW_IDXD_ESM = `import type { HardwareAdapter, HardwareInstance, StrategyFactory } from "@imsim/core";
import { createIdxdAdapter, idxdAdapter, idxdHardware, IdxdDevice, type IdxdHardwareAdapter, type IdxdHardwareInstance } from "@imsim/hw-idxd";

const adapters: HardwareAdapter[] = [idxdAdapter, idxdHardware, createIdxdAdapter({ cpus: 2, interruptRemapping: false })];
const own: IdxdHardwareAdapter = createIdxdAdapter();
declare const factory: StrategyFactory;
const instance: IdxdHardwareInstance = own.create(factory);
const plain: HardwareInstance = instance;
const device: IdxdDevice = instance.device;
export { adapters, plain, device };
`;

const HW_IDXD_CJS = `import core = require("@imsim/core");
import idxd = require("@imsim/hw-idxd");

const adapters: core.HardwareAdapter[] = [idxd.idxdAdapter, idxd.idxdHardware, idxd.createIdxdAdapter({ cpus: 2 })];
export = adapters;
`;

const HW_NTB_ESM = `import type { HardwareAdapter, HardwareInstance, StrategyFactory } from "@imsim/core";
import { createNtbAdapter, createNtbPair, ntbAdapter, ntbHardware, NtbTransport, type NtbHardwareAdapter } from "@imsim/hw-ntb";

const adapters: HardwareAdapter[] = [ntbAdapter, ntbHardware, createNtbAdapter({ cpus: 2, interruptRemapping: false })];
const own: NtbHardwareAdapter = createNtbAdapter({ msixVectors: 128, spads: 512 });
declare const factory: StrategyFactory;
const instance: HardwareInstance = own.create(factory);
const pair = createNtbPair({ a: { msixVectors: 8 }, b: { msixVectors: 8 } });
const transport = new NtbTransport(pair.a, factory);
export { adapters, instance, transport };
`;

const HW_NTB_CJS = `import core = require("@imsim/core");
import ntb = require("@imsim/hw-ntb");

const adapters: core.HardwareAdapter[] = [ntb.ntbAdapter, ntb.ntbHardware, ntb.createNtbAdapter({ cpus: 2 })];
export = adapters;
`;

const CONFORMANCE_ESM = `import type { HardwareAdapter as CoreAdapter, StrategyFactory } from "@imsim/core";
import { collectConformance, runConformance, storageTests, type Capabilities, type HardwareAdapter, type TestFunction } from "@imsim/conformance";

declare const strategy: StrategyFactory;
declare const hardware: HardwareAdapter;
const same: CoreAdapter = hardware;
const back: HardwareAdapter = same;
const test: TestFunction = (name, fn) => [name, fn];
runConformance(test, { strategy, hardware: back, operations: 100 });
storageTests(test, { strategy, hardware });
const report = collectConformance({ strategy, hardware });
declare const caps: Capabilities;
export { report, caps };
`;

const CONFORMANCE_CJS = `import core = require("@imsim/core");
import conformance = require("@imsim/conformance");

declare const hardware: core.HardwareAdapter;
declare const strategy: core.StrategyFactory;
conformance.runConformance((name: string, fn: () => void | Promise<void>) => [name, fn], { strategy, hardware });
export = hardware;
`;

const BOTH_HW_ESM = `import type { HardwareAdapter, StrategyFactory } from "@imsim/core";
import { createIdxdAdapter, idxdAdapter, idxdHardware } from "@imsim/hw-idxd";
import { createNtbAdapter, ntbAdapter, ntbHardware } from "@imsim/hw-ntb";

// The same names in both packages: <x>Adapter, <x>Hardware (the same object), create<X>Adapter(options).
const all: HardwareAdapter[] = [idxdAdapter, idxdHardware, ntbAdapter, ntbHardware, createIdxdAdapter({ cpus: 2 }), createNtbAdapter({ cpus: 2 })];
declare const factory: StrategyFactory;
const names: string[] = all.map((a) => a.create(factory).strategy.name);
export { names };
`;

const BOTH_HW_CJS = `import core = require("@imsim/core");
import idxd = require("@imsim/hw-idxd");
import ntb = require("@imsim/hw-ntb");

const all: core.HardwareAdapter[] = [idxd.idxdHardware, ntb.ntbHardware];
export = all;
`;

const CASES: Record<string, Case> = {
  "core": { packages: ["core"], esm: CORE_ESM, cjs: CORE_CJS },
  "strategy-subdevice": { packages: ["core", "strategy-subdevice"], esm: strategyEsm("@imsim/strategy-subdevice", "SubdeviceDesign"), cjs: strategyCjs("@imsim/strategy-subdevice") },
  "strategy-flat": { packages: ["core", "strategy-flat"], esm: strategyEsm("@imsim/strategy-flat", "FlatDesign"), cjs: strategyCjs("@imsim/strategy-flat") },
  "strategy-mainline": { packages: ["core", "strategy-mainline"], esm: strategyEsm("@imsim/strategy-mainline", "MainlineDesign"), cjs: strategyCjs("@imsim/strategy-mainline") },
  "hw-idxd": { packages: ["core", "hw-idxd"], esm: HW_IDXD_ESM, cjs: HW_IDXD_CJS },
  "hw-ntb": { packages: ["core", "hw-ntb"], esm: HW_NTB_ESM, cjs: HW_NTB_CJS },
  "conformance": { packages: ["core", "conformance"], esm: CONFORMANCE_ESM, cjs: CONFORMANCE_CJS },
  "hw-idxd + hw-ntb": { packages: ["core", "hw-idxd", "hw-ntb"], esm: BOTH_HW_ESM, cjs: BOTH_HW_CJS },
};

let root: string;
let tarballs: Map<string, string>;

beforeAll(() => {
  root = tempRoot();
  tarballs = packAll(join(root, "tarballs"));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("published types are self-contained", () => {
  it.each(Object.entries(CASES))("%s, installed alone, type-checks downstream (ESM and CJS) with tsc --noEmit", (name, c) => {
    const deps = Object.fromEntries(c.packages.map((p) => [`@imsim/${p}`, `file:${tarballs.get(`@imsim/${p}`)}`]));
    const dir = makeProject(root, `types-${name.replace(/[^a-z-]/g, "")}`, deps);
    // Nothing else of ours came along (a dependency the package does not declare would not be here either).
    expect(ours(dir)).toEqual([...c.packages].sort());
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(dir, "esm.ts"), c.esm);
    writeFileSync(join(dir, "cjs.cts"), c.cjs);
    const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json", "--pretty", "false"], { cwd: dir, encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  });
});
