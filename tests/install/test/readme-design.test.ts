import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, node, packAll, repo, tempRoot } from "./support.js";

// The third design of the core README ("Writing your own design"), taken from the README as it is,
// compiled in a downstream project against the packed tarballs and run through the conformance
// suite with node:test. README and test cannot diverge: the test has no copy of the code.

const SECTION = "## Writing your own design";

/** The ```ts blocks of the README section that shows the example design. */
function exampleBlocks(): { design: string; runner: string; file: string } {
  const readme = readFileSync(join(repo, "packages/core/README.md"), "utf8");
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`packages/core/README.md has no "${SECTION}" section`);
  const end = readme.indexOf("\n## ", start + SECTION.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const designs = blocks.filter((b) => b.includes("createQueueStrategy(") && b.includes("export const createStrategy"));
  const runners = blocks.filter((b) => b.includes("runConformance("));
  if (designs.length !== 1 || runners.length !== 1) {
    throw new Error(`expected one design block and one runConformance block in "${SECTION}", found ${designs.length} and ${runners.length}`);
  }
  const runner = runners[0]!;
  // The runner imports the design by its file name: "./owner-table.js" → src/owner-table.ts.
  const file = /from "\.\/([\w.-]+)\.js"/.exec(runner)?.[1];
  if (!file) throw new Error(`the runConformance block imports no "./<design>.js":\n${runner}`);
  return { design: designs[0]!, runner, file };
}

const DEPS = ["@imsim/core", "@imsim/conformance", "@imsim/hw-idxd"];

// The repository's own strictness, as a downstream project following CONVENTIONS would set it.
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2023"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    skipLibCheck: true,
    rootDir: "src",
    outDir: "dist",
    // node:test's types: the toolchain's @types/node, not a package under test.
    typeRoots: [join(repo, "node_modules/@types")],
    types: ["node"],
  },
  include: ["src"],
};

let root: string;
let app: string;
let example: ReturnType<typeof exampleBlocks>;
let compiled: { status: number | null; output: string };

beforeAll(() => {
  example = exampleBlocks();
  root = tempRoot();
  const tarballs = packAll(join(root, "tarballs"));
  app = makeProject(root, "own-design", Object.fromEntries(DEPS.map((n) => [n, `file:${tarballs.get(n)}`])));
  mkdirSync(join(app, "src"));
  writeFileSync(join(app, "src", `${example.file}.ts`), example.design);
  writeFileSync(join(app, "src", `${example.file}.conformance.test.ts`), example.runner);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  const tsc = spawnSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
  compiled = { status: tsc.status, output: `${tsc.stdout}${tsc.stderr}` };
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the core README's own design, installed from packed tarballs", () => {
  it("compiles against the published types with the repository's strict options", () => {
    expect(compiled.output).toBe("");
    expect(compiled.status).toBe(0);
  });

  it("passes every test the conformance suite registers, run by node:test", () => {
    // How many tests the suite registers for this pair, counted by the installed suite itself.
    writeFileSync(
      join(app, "count.mjs"),
      `import { runConformance } from "@imsim/conformance";
import { idxdHardware } from "@imsim/hw-idxd";
import { createStrategy } from "./dist/${example.file}.js";
let n = 0;
runConformance(() => void n++, { strategy: createStrategy, hardware: idxdHardware });
console.log(n);
`,
    );
    const counted = node(app, ["count.mjs"]);
    expect(counted.status).toBe(0);
    const registered = Number(counted.output.trim());
    expect(registered).toBeGreaterThan(0);

    const r = node(app, ["--test", "--test-reporter=tap", `dist/${example.file}.conformance.test.js`]);
    const field = (name: string) => Number(new RegExp(`^# ${name} (\\d+)`, "m").exec(r.output)?.[1]);
    expect(field("fail"), r.output.slice(-4000)).toBe(0);
    expect(field("tests")).toBe(registered);
    expect(field("pass")).toBe(registered);
    expect(r.status).toBe(0);
  });
});
