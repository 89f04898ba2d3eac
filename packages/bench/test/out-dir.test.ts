import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_USAGE } from "../src/args.js";
import { OutDirError, prepareOutDir } from "../src/out-dir.js";
import { runCli } from "./support/cli.js";

// `--out` is checked before any measuring. Through the built CLI: exit 2, one line on stderr and
// nothing on stdout. No progress line on stderr shows that no measuring began; the spawn's kill
// timer (not an assertion on time) turns a hang, as `--out /proc/x` once did, into a failure.

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "imsim-out-"));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function outDirError(dir: string): OutDirError {
  try {
    prepareOutDir(dir);
  } catch (e) {
    if (e instanceof OutDirError) return e;
    throw e;
  }
  throw new Error(`prepareOutDir(${JSON.stringify(dir)}) did not throw`);
}

// A directory nobody can create files in: the kernel refuses file creation in procfs, even to root
// (who ignores mode bits, so a chmod 0555 folder is unwritable only for other users).
const PROC_DIR = "/proc/1";
const isRoot = process.getuid?.() === 0;

describe("imsim compare --out, checked before the run", () => {
  it("refuses an existing file, an unwritable folder, an empty path and a path under /proc: exit 2, one line", async () => {
    const file = path.join(tmp, "a-file");
    writeFileSync(file, "not a folder\n");
    const cases: [string, RegExp][] = [
      [file, /^imsim: --out ".*a-file": .*a-file exists and is not a directory\n$/],
      [path.join(file, "sub"), /^imsim: --out ".*a-file\/sub": .*a-file exists and is not a directory\n$/],
      [PROC_DIR, /^imsim: --out "\/proc\/1": cannot create files in \/proc\/1 \(E[A-Z]+: .*\)\n$/],
      ["", /^imsim: --out needs a value, got "" \(see 'imsim compare --help'\)\n$/],
      ["/proc/x", /^imsim: --out "\/proc\/x": cannot create directory \/proc\/x \(E[A-Z]+: .*\)\n$/],
      ["/proc/x/y/z", /^imsim: --out "\/proc\/x\/y\/z": cannot create directory \/proc\/x \(E[A-Z]+: .*\)\n$/],
    ];
    if (!isRoot) {
      const locked = path.join(tmp, "locked");
      mkdirSync(locked);
      chmodSync(locked, 0o555);
      cases.push([locked, /^imsim: --out ".*locked": cannot create files in .*locked \(EACCES: .*\)\n$/]);
    }
    for (const [out, text] of cases) {
      for (const json of [[], ["--json"]]) {
        const r = await runCli(["compare", "--quick", ...json, "--out", out], { timeoutMs: 20_000 });
        expect(r, `--out ${JSON.stringify(out)}`).toMatchObject({ code: EXIT_USAGE, stdout: "" });
        expect(r.stderr).toMatch(text);
      }
    }
    expect(existsSync("/proc/x")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("not a folder\n");
  });

  it("refuses a report file that is a FIFO or a folder, without opening it", async () => {
    const dir = path.join(tmp, "odd-files");
    mkdirSync(dir);
    execFileSync("mkfifo", [path.join(dir, "compare.json")]); // opening it to write would block
    mkdirSync(path.join(dir, "index.html"));
    const r = await runCli(["compare", "--quick", "--out", dir], { timeoutMs: 20_000 });
    expect(r).toMatchObject({ code: EXIT_USAGE, stdout: "" });
    expect(r.stderr).toMatch(/^imsim: --out ".*odd-files": .*compare\.json exists and is not a regular file\n$/);
  });
});

describe("prepareOutDir", () => {
  it("creates missing folders level by level and leaves no probe file behind", () => {
    const dir = path.join(tmp, "new", "deeper", "report");
    expect(prepareOutDir(dir)).toBe(dir);
    expect(readdirSync(dir)).toEqual([]);
    expect(prepareOutDir(path.relative(process.cwd(), dir))).toBe(dir); // relative, and existing
  });

  it("accepts existing report files and leaves their contents alone until the report is written", () => {
    const dir = path.join(tmp, "old-report");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "compare.json"), "{}\n");
    prepareOutDir(dir);
    expect(readFileSync(path.join(dir, "compare.json"), "utf8")).toBe("{}\n");
    expect(readdirSync(dir)).toEqual(["compare.json"]);
  });

  it("removes the folders it created when a later level fails", () => {
    const created = path.join(tmp, "rolled-back");
    const e = outDirError(path.join(created, "x".repeat(300))); // ENAMETOOLONG after creating `created`
    expect(e).toMatchObject({ code: "ENAMETOOLONG", exitCode: EXIT_USAGE });
    expect(existsSync(created)).toBe(false);
  });

  it("names the errno and the path for each refusal", () => {
    expect(outDirError("")).toMatchObject({ code: "EINVAL", message: "--out must not be empty" });
    expect(outDirError("/proc/x")).toMatchObject({ code: "ENOENT", dir: "/proc/x" });
    expect(outDirError(PROC_DIR).message).toContain(`cannot create files in ${PROC_DIR}`);
    const file = path.join(tmp, "plain");
    writeFileSync(file, "");
    expect(outDirError(file)).toMatchObject({ code: "ENOTDIR", message: `--out ${JSON.stringify(file)}: ${file} exists and is not a directory` });
  });
});
