import { spawnSync } from "node:child_process";
import { readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeProject, packAll, tempRoot } from "./support.js";

// The `imsim` bin as a user of the published package meets it: @imsim/bench installed from its
// packed tarball (its @imsim dependencies from theirs), then `npx imsim`.

let root: string;
let app: string;

beforeAll(() => {
  root = tempRoot();
  const tarballs = packAll(join(root, "tarballs"));
  const ours = Object.fromEntries([...tarballs].filter(([name]) => name !== "@imsim/bench").map(([name, file]) => [name, `file:${file}`]));
  app = makeProject(root, "cli-user", { "@imsim/bench": `file:${tarballs.get("@imsim/bench")}` }, ours);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** `npx imsim …` in the project; never fetches a package of that name from the registry. */
function npx(args: string[]) {
  const r = spawnSync("npx", ["imsim", ...args], { cwd: app, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", npm_config_yes: "false" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the imsim bin from the packed @imsim/bench", () => {
  it("is linked to the package's bin/imsim.js", () => {
    expect(readlinkSync(join(app, "node_modules/.bin/imsim"))).toMatch(/@imsim\/bench\/bin\/imsim\.js$/);
  });

  it("npx imsim --help prints the usage", () => {
    const r = npx(["--help"]);
    expect(r.stdout).toMatch(/^Usage: imsim <command>/);
    expect(r.status).toBe(0);
  });

  it("npx imsim show prints /proc/interrupts of the NTB scenario", () => {
    const r = npx(["show", "--hardware", "ntb", "--strategy", "flat"]);
    expect(r.stdout).toMatch(/^==> hostA <==\n\s+CPU0/);
    expect(r.stdout).toMatch(/IR-PCI-MSIX-\S+\s+\d+-edge\s+ntb_transport\n/);
    expect(r.status).toBe(0);
  });
});
