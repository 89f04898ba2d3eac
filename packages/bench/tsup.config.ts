import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    // Keep the CLI build of the second config, which may finish first.
    clean: ["!cli.js", "!cli.js.map"],
    sourcemap: true,
    target: "node20",
  },
  {
    // The `imsim` bin: ESM only, with a shebang (the library entry above has none).
    entry: { cli: "src/cli.ts" },
    format: ["esm"],
    dts: false,
    clean: false,
    sourcemap: true,
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
  },
]);
