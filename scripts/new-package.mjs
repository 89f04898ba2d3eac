// Creates the skeleton of a workspace package: node scripts/new-package.mjs <name> "<description>" [dep...]
import { mkdirSync, writeFileSync, existsSync, copyFileSync } from "node:fs";
const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) throw new Error("usage: new-package.mjs <name> <description> [deps]");
const dir = `packages/${name}`;
if (existsSync(dir)) throw new Error(`${dir} exists`);
mkdirSync(`${dir}/src`, { recursive: true });
mkdirSync(`${dir}/test`, { recursive: true });
const pkg = {
  name: `@imsim/${name}`,
  version: "0.1.0",
  description,
  license: "MIT",
  type: "module",
  sideEffects: false,
  engines: { node: ">=20" },
  repository: { type: "git", url: "git+https://github.com/imsim/imsim.git", directory: dir },
  files: ["dist", "README.md", "LICENSE"],
  main: "./dist/index.cjs",
  module: "./dist/index.js",
  types: "./dist/index.d.cts",
  exports: {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  },
  scripts: {
    build: "tsup",
    test: "vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json",
    typecheck: "tsc --noEmit -p tsconfig.json",
    "check:pkg": "publint --strict && attw --pack . --profile node16",
  },
  publishConfig: { access: "public" },
};
for (const d of deps) {
  pkg.peerDependencies ??= {};
  pkg.devDependencies ??= {};
  pkg.peerDependencies[`@imsim/${d}`] = "^0.1.0";
  pkg.devDependencies[`@imsim/${d}`] = "*";
}
writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src", "test"] }, null, 2) + "\n");
writeFileSync(`${dir}/tsup.config.ts`, `import { packageConfig } from "../../tsup.shared.js";\n\nexport default packageConfig();\n`);
writeFileSync(`${dir}/vitest.config.ts`, `import { defineProject } from "vitest/config";

export default defineProject({ test: { include: ["test/**/*.test.ts"] } });
`);
copyFileSync("LICENSE", `${dir}/LICENSE`);
console.log(`created ${dir}`);
