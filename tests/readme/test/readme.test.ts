import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// Every command the READMEs show a user, run the way the user runs it, from the repository root.
// In CI this runs on the clean clone that `.ci/run` made with `npm ci`: nothing is linked or built
// beyond what `npm ci` and the build of `npm test` give a user (the `npx imsim` bin included).
//
// The commands are read from the READMEs — every line of a ```sh block and every inline `npm …`
// or `npx …` span, split at `&&` — and each must have an entry in COMMANDS below, so a command
// added to a README without one fails here. Inline `imsim …` spans are the command reference: each
// must match the usage line that `imsim <command> --help` prints.

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const READMES = ["README.md", "packages/bench/README.md"] as const;

const tmp = mkdtempSync(join(tmpdir(), "imsim-readme-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** How a README command is checked: run (its quick form, if the real one takes minutes), or why not. */
type Check = { run: string; expect: RegExp; report?: string } | { covered: string };

/** Where the quick forms write their reports: a temp folder, never the checkout's report/. */
const OUT = (name: string) => join(tmp, name);
/** What `imsim compare` prints: the table's title line, then where it wrote the report. */
const COMPARE_OUTPUT = /^imsim compare \(quick\): design A \(subdevice\), design B \(flat\) and mainline[\s\S]*^Verdict[\s\S]*^wrote \S*compare\.json and \S*index\.html$/m;

/**
 * The one table: README command → the command this test runs, and what its output must contain.
 * Long runs map to their quick form; commands that cannot run inside `npm test` say what covers them.
 */
const COMMANDS: Record<string, Check> = {
  "npm ci": { covered: "the first step of CI itself (.ci/run), on the clean clone this test then runs in; running it here would delete the node_modules in use" },
  "npm test": { covered: "the command this test runs under (scripts/test.mjs)" },
  // `npm start` is a two-minute `imsim compare`; arguments after `--` reach the CLI.
  "npm start": { run: `npm start -- --quick --out ${OUT("start")}`, expect: COMPARE_OUTPUT, report: OUT("start") },
  "npx imsim compare": { run: `npx imsim compare --quick --out ${OUT("npx")}`, expect: COMPARE_OUTPUT, report: OUT("npx") },
  "npx imsim compare --quick": { run: `npx imsim compare --quick --out ${OUT("npx")}`, expect: COMPARE_OUTPUT, report: OUT("npx") },
  "npx imsim": { run: "npx imsim --help", expect: /^Usage: imsim <command>/m },
  "npx imsim show --hardware idxd --strategy subdevice --view proc-interrupts": {
    run: "npx imsim show --hardware idxd --strategy subdevice --view proc-interrupts",
    expect: /^\s+CPU0\s+CPU1[\s\S]*IR-PCI-IDXD/m,
  },
  "npm run demo": { run: "npm run demo", expect: /\$ cat \/proc\/interrupts[\s\S]*CPU0[\s\S]*msi_irqs\n\d+/ },
  "npm run build": { run: "npm run build", expect: /Tasks:\s+\d+ successful, \d+ total/ },
  // It rewrites tracked files; the bench's golden test checks that its output equals what is committed.
  "npm run goldens -w @imsim/bench": { covered: "packages/bench/test/golden.test.ts compares every view with the files this script writes" },
  // One package is enough to show the task works; `npm test`'s lint runs the same tsc on all.
  "npm run typecheck": { run: "npm run typecheck -- --filter=@imsim/bench", expect: /Tasks:\s+\d+ successful, \d+ total/ },
  "npm run lint": { covered: "npm test runs the lint task on every package (scripts/test.mjs)" },
  "npm run check:pkg": { covered: "npm test runs the check:pkg task on every package (scripts/test.mjs)" },
  "npm run bench": { run: "npm run bench", expect: /Goals[\s\S]*wrote \S*report\/compare\.json[\s\S]*Tasks:\s+\d+ successful, \d+ total/ },
  // Release steps change versions and publish; tests/install runs `npm publish --dry-run` for
  // every package. Here: the changeset tool they use resolves from the install.
  "npx changeset": { run: "npx --no-install changeset --version", expect: /^\d+\.\d+\.\d+/ },
  "npx changeset version": { run: "npx --no-install changeset --version", expect: /^\d+\.\d+\.\d+/ },
  "npx changeset publish": { run: "npx --no-install changeset --version", expect: /^\d+\.\d+\.\d+/ },
  "npm publish --dry-run": { covered: "tests/install runs it for every published package" },
};

interface Shown {
  readme: string;
  command: string;
}

/** The commands a README shows: ```sh lines and inline `npm …`/`npx …` spans, split at `&&`. */
function commandsIn(readme: string): Shown[] {
  const text = readFileSync(join(repo, readme), "utf8");
  const shown: string[] = [];
  const prose = text.replace(/^```(\w*)\n([\s\S]*?)^```$/gm, (_, lang: string, body: string) => {
    if (["sh", "bash", "shell", "console"].includes(lang)) {
      for (const line of body.split("\n")) shown.push(line.replace(/(^|\s)#.*$/, "").replace(/^\$\s*/, ""));
    }
    return "";
  });
  for (const [, span] of prose.matchAll(/`([^`\n]+)`/g)) if (/^np[mx] /.test(span!)) shown.push(span!);
  return shown
    .flatMap((line) => line.split("&&"))
    .map((c) => c.trim().replace(/\s+/g, " "))
    .filter(Boolean)
    .map((command) => ({ readme, command }));
}

/** Inline `imsim …` spans: the command reference (a table row or a name in prose). */
function synopsesIn(readme: string): string[] {
  const text = readFileSync(join(repo, readme), "utf8").replace(/^```\w*\n[\s\S]*?^```$/gm, "");
  return [...text.matchAll(/`(imsim [^`\n]+)`/g)].map((m) => m[1]!.replace(/\\\|/g, "|"));
}

function run(command: string): { status: number | null; output: string; stdout: string } {
  // Through a shell, as typed; no TTY, as in CI. npm_config_yes=false: should a bin be missing,
  // npx fails instead of fetching some registry package of that name.
  const env = { ...process.env, FORCE_COLOR: "0", TURBO_TELEMETRY_DISABLED: "1", npm_config_yes: "false" };
  const r = spawnSync(command, { cwd: repo, shell: true, encoding: "utf8", env, timeout: 230_000 });
  return { status: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

const shown = READMES.flatMap(commandsIn);

describe("the READMEs' commands", () => {
  it("are all in the table of this test, and the table has no command the READMEs dropped", () => {
    const commands = new Set(shown.map((s) => s.command));
    expect(commands.size).toBeGreaterThan(5); // the extraction found the quick start, not nothing
    expect(shown.filter((s) => !(s.command in COMMANDS)), "README commands without an entry in COMMANDS").toEqual([]);
    expect(Object.keys(COMMANDS).filter((c) => !commands.has(c)), "COMMANDS entries no README shows").toEqual([]);
  });

  it("find the imsim bin that npm ci linked: the bench's tracked bin/imsim.js, not a build output", () => {
    expect(realpathSync(join(repo, "node_modules/.bin/imsim"))).toBe(realpathSync(join(repo, "packages/bench/bin/imsim.js")));
  });

  it("include the root README's quick start, exactly two commands", () => {
    const text = readFileSync(join(repo, "README.md"), "utf8");
    const quick = /## Quick start\n\n```sh\n([\s\S]*?)```/.exec(text)?.[1];
    expect(quick?.trim().split("\n")).toEqual(["npm ci && npm start", "npm test"]);
  });

  // Several README commands share one run (the quick form of a long one); run each once.
  const runs = new Map<string, { check: Extract<Check, { run: string }>; shownAs: string[] }>();
  for (const [command, check] of Object.entries(COMMANDS)) {
    if (!("run" in check)) continue;
    const entry = runs.get(check.run) ?? { check, shownAs: [] };
    entry.shownAs.push(command);
    runs.set(check.run, entry);
  }

  for (const [command, { check, shownAs }] of runs) {
    it(`${command}  (for: ${shownAs.join(" | ")})`, () => {
      const r = run(command);
      expect(r.output).toMatch(check.expect);
      expect(r.status, r.output.slice(-2000)).toBe(0);
      if (check.report) {
        const report = JSON.parse(readFileSync(join(check.report, "compare.json"), "utf8")) as { mode: string; cells: unknown[] };
        expect(report).toMatchObject({ mode: "quick" });
        expect(report.cells).toHaveLength(6); // {subdevice, flat, mainline} × {idxd, ntb}
        expect(readFileSync(join(check.report, "index.html"), "utf8")).toMatch(/^<!doctype html>/i);
      }
    });
  }

  it("--help works on every command, and each command reference in the READMEs matches its usage line", () => {
    const usage = new Map<string, string>();
    for (const args of ["--help", "compare --help", "show --help"]) {
      const r = run(`npx imsim ${args}`);
      expect(r.status, r.output).toBe(0);
      const line = /^Usage: (imsim .*)$/m.exec(r.stdout)?.[1];
      expect(line, `npx imsim ${args}`).toBeDefined();
      usage.set(args.split(" ")[0] === "--help" ? "" : args.split(" ")[0]!, line!);
    }
    const synopses = READMES.flatMap(synopsesIn);
    expect(synopses.length).toBeGreaterThan(2);
    for (const synopsis of synopses) {
      const name = synopsis.split(" ")[1]!;
      const line = usage.get(name);
      expect(line, `README shows \`${synopsis}\`; imsim has no command ${name}`).toBeDefined();
      expect(line!.startsWith(synopsis), `README \`${synopsis}\` vs usage \`${line}\``).toBe(true);
    }
  });
});
