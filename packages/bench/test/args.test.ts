import { describe, expect, it } from "vitest";
import { DEFAULT_OUT, DEFAULT_SHOW_CPUS, EXIT_USAGE, MAX_SHOW_CPUS, UsageError, parseArgs } from "../src/args.js";
import { runCli } from "./support/cli.js";

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe("parseArgs", () => {
  it("reads compare with its defaults", () => {
    expect(parseArgs(["compare"])).toEqual({ kind: "compare", quick: false, json: false, out: DEFAULT_OUT });
  });

  it("reads compare flags in any order, --out with a space or an equals sign", () => {
    expect(parseArgs(["compare", "--json", "--out", "x/y", "--quick"])).toEqual({ kind: "compare", quick: true, json: true, out: "x/y" });
    expect(parseArgs(["compare", "--out=z"])).toEqual({ kind: "compare", quick: false, json: false, out: "z" });
  });

  it("reads show and defaults the view to /proc/interrupts", () => {
    expect(parseArgs(["show", "--hardware", "ntb", "--strategy", "flat"])).toEqual({ kind: "show", hardware: "ntb", strategy: "flat", view: "proc-interrupts", cpus: DEFAULT_SHOW_CPUS });
    expect(parseArgs(["show", "--strategy=subdevice", "--hardware=idxd", "--view=domains"])).toEqual({ kind: "show", hardware: "idxd", strategy: "subdevice", view: "domains", cpus: DEFAULT_SHOW_CPUS });
  });

  it("reads show --cpus N (1 to 8192) and refuses anything else", () => {
    expect(parseArgs(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus", "256"])).toMatchObject({ kind: "show", cpus: 256 });
    expect(parseArgs(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus=1"])).toMatchObject({ cpus: 1 });
    expect(parseArgs(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus", String(MAX_SHOW_CPUS)])).toMatchObject({ cpus: MAX_SHOW_CPUS });
    for (const bad of ["0", "8193", "4.5", "0x10", "1e3", "many"]) {
      expect(usageError(["show", "--hardware", "idxd", "--strategy", "flat", `--cpus=${bad}`]).message).toBe(`--cpus must be an integer from 1 to ${MAX_SHOW_CPUS}, got ${JSON.stringify(bad)}`);
    }
    expect(usageError(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus"]).message).toMatch(/--cpus needs a value/);
    expect(usageError(["show", "--hardware", "idxd", "--strategy", "flat", "--cpus", "2", "--cpus", "4"]).message).toMatch(/--cpus is given more than once/);
  });

  it("answers --help for the program and for each command", () => {
    expect(parseArgs(["--help"])).toEqual({ kind: "help", topic: undefined });
    expect(parseArgs(["compare", "--help"])).toEqual({ kind: "help", topic: "compare" });
    expect(parseArgs(["show", "-h", "--hardware", "bogus"])).toEqual({ kind: "help", topic: "show" });
    expect(parseArgs(["help", "show"])).toEqual({ kind: "help", topic: "show" });
  });

  it("rejects what it cannot take, naming the command", () => {
    expect(usageError([]).message).toMatch(/missing command/);
    expect(usageError(["frobnicate"]).message).toMatch(/unknown command "frobnicate"/);
    expect(usageError(["compare", "--fast"])).toMatchObject({ command: "compare", message: expect.stringMatching(/unknown option --fast/) });
    expect(usageError(["compare", "--out"]).message).toMatch(/--out needs a value/);
    expect(usageError(["compare", "--quick=yes"]).message).toMatch(/takes no value/);
    expect(usageError(["compare", "extra"]).message).toMatch(/unexpected argument/);
    expect(usageError(["show", "--strategy", "flat"]).message).toMatch(/--hardware is required/);
    expect(usageError(["show", "--hardware", "nvme", "--strategy", "flat"]).message).toMatch(/--hardware must be idxd or ntb, got "nvme"/);
    expect(usageError(["show", "--hardware", "idxd"]).message).toMatch(/--strategy is required/);
    expect(usageError(["show", "--hardware", "idxd", "--strategy", "tree"]).message).toMatch(/--strategy must be subdevice, flat or mainline/);
    expect(usageError(["show", "--hardware", "idxd", "--strategy", "flat", "--view", "lspci"]).message).toMatch(/--view must be one of/);
    expect(usageError(["show", "--hardware", "idxd", "--strategy", "flat", "--view"]).message).toMatch(/--view needs a value/);
    expect(usageError(["compare", "--out", ""]).message).toBe('--out needs a value, got ""');
  });

  it("rejects an option given twice, naming it, in either spelling", () => {
    for (const [argv, flag, command] of [
      [["show", "--hardware", "idxd", "--hardware", "ntb", "--strategy", "flat"], "--hardware", "show"],
      [["show", "--hardware", "idxd", "--strategy=flat", "--strategy", "flat"], "--strategy", "show"],
      [["show", "--hardware", "idxd", "--strategy", "flat", "--view", "sysfs", "--view=irq"], "--view", "show"],
      [["compare", "--out", "a", "--out=b"], "--out", "compare"],
      [["compare", "--quick", "--quick"], "--quick", "compare"],
      [["compare", "--json", "--quick", "--json"], "--json", "compare"],
    ] as const) {
      expect(usageError([...argv])).toMatchObject({ command, exitCode: EXIT_USAGE, message: `${flag} is given more than once` });
    }
  });

  it("answers --help wherever it stands, even after a bad argument", () => {
    expect(parseArgs(["show", "--hardware", "idxd", "--hardware", "ntb", "--help"])).toEqual({ kind: "help", topic: "show" });
    expect(parseArgs(["compare", "--fast", "-h"])).toEqual({ kind: "help", topic: "compare" });
  });
});

describe("the imsim command", () => {
  it("prints usage for --help on every command and exits 0", async () => {
    for (const [args, text] of [
      [["--help"], /Usage: imsim <command>/],
      [["compare", "--help"], /Usage: imsim compare \[--quick\] \[--json\] \[--out DIR\]/],
      [["show", "--help"], /Usage: imsim show --hardware idxd\|ntb --strategy subdevice\|flat/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(text);
      expect(r.stderr).toBe("");
    }
  });

  it("exits 2 with one line saying what was wrong and where the usage is, for bad arguments", async () => {
    for (const [args, text] of [
      [[], /^imsim: missing command .*'imsim --help'/],
      [["bench"], /^imsim: unknown command "bench".*'imsim --help'/],
      [["compare", "--outdir", "x"], /^imsim: unknown option --outdir.*'imsim compare --help'/],
      [["show", "--hardware", "ntb", "--strategy", "tree"], /^imsim: --strategy must be subdevice, flat or mainline.*'imsim show --help'/],
      [["show", "--hardware", "idxd", "--hardware", "ntb", "--strategy", "flat"], /^imsim: --hardware is given more than once.*'imsim show --help'/],
      [["compare", "--quick", "--out", "a", "--out", "b"], /^imsim: --out is given more than once.*'imsim compare --help'/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.stderr).toMatch(text);
      expect(r.stderr.split("\n")).toHaveLength(2); // one line and its newline
      expect(r.stdout).toBe("");
    }
  });
});
