import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const PUBLISHED = ["core", "strategy-subdevice", "strategy-flat", "strategy-mainline", "conformance", "hw-idxd", "hw-ntb", "bench"] as const;

/** npm pack of every published package into one folder; returns name → tarball path. */
export function packAll(dest: string): Map<string, string> {
  mkdirSync(dest, { recursive: true });
  const tarballs = new Map<string, string>();
  for (const p of PUBLISHED) {
    const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dest], { cwd: join(repo, "packages", p), encoding: "utf8" });
    const file = out.trim().split("\n").pop()!;
    tarballs.set(`@imsim/${p}`, join(dest, file));
  }
  return tarballs;
}

/** A fresh project outside the workspace, depending on `deps` (name → spec); installed with npm. */
export function makeProject(root: string, name: string, deps: Record<string, string>, overrides: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name, version: "1.0.0", private: true, type: "module", dependencies: deps, overrides }, null, 2),
  );
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--install-links"], { cwd: dir, encoding: "utf8" });
  return dir;
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), "imsim-install-"));
}

/** Runs node with args in dir; returns status and combined output. */
export function node(dir: string, args: string[]): { status: number; output: string } {
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export function ours(dir: string): string[] {
  return readdirSync(join(dir, "node_modules", "@imsim")).sort();
}
