import { defineConfig, type Options } from "tsup";

/** The build every package shares: src/index.ts → dist as ESM + CJS + .d.ts for Node 20. */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    sourcemap: true,
    target: "node20",
    ...overrides,
  });
}
