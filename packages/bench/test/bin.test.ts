import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// `npm ci` links bins before anything is built, and skips a bin whose file is missing; so the
// `imsim` bin must be a tracked file that exists at install time, and load the build from there.

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { bin: Record<string, string>; files: string[] };
const binFile = path.join(pkgDir, pkg.bin.imsim ?? "");
const tmp = mkdtempSync(path.join(tmpdir(), "imsim-bin-"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the imsim bin", () => {
  it("is a source file with a shebang, shipped in the package, not the build output", () => {
    expect(pkg.bin.imsim).toBe("./bin/imsim.js");
    expect(pkg.files).toContain("bin");
    expect(readFileSync(binFile, "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(statSync(binFile).mode & 0o111).not.toBe(0); // executable in git, too
  });

  it("runs the built CLI", () => {
    const r = spawnSync(process.execPath, [binFile, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: imsim <command>/);
  });

  it("says in one line what to run when the package is not built, and exits 1", () => {
    // A copy of the package layout with bin/ and no dist/.
    mkdirSync(path.join(tmp, "bin"));
    copyFileSync(binFile, path.join(tmp, "bin", "imsim.js"));
    writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ type: "module" }));
    const r = spawnSync(process.execPath, [path.join(tmp, "bin", "imsim.js"), "compare", "--quick"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^imsim: .*dist\/cli\.js is missing: run 'npm run build' .*\n$/);
    expect(r.stderr.split("\n")).toHaveLength(2);
  });
});
