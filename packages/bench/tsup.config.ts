import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    // Keep the CLI build of the second config, which may finish first.
    clean: ["!cli.js", "!cli.js.map", "!delivery-worker.js", "!delivery-worker.js.map"],
    sourcemap: true,
    // import.meta.url in the CJS copy (the delivery worker is found next to the module).
    shims: true,
    target: "node20",
  },
  {
    // The `imsim` bin: ESM only, with a shebang (the library entry above has none); and the
    // worker thread that measures one cell's delivery in an isolate of its own.
    entry: { cli: "src/cli.ts", "delivery-worker": "src/delivery-worker.ts" },
    format: ["esm"],
    dts: false,
    clean: false,
    sourcemap: true,
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
  },
]);
