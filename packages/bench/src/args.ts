import { HARDWARE_NAMES, STRATEGY_NAMES, isHardwareName, isStrategyName, type HardwareName, type StrategyName } from "./matrix.js";

/** Exit code for bad arguments (as most CLIs use for usage errors). */
export const EXIT_USAGE = 2;

/** A bad command line: the CLI prints the message and the command's usage line and exits with 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

export const VIEWS = ["proc-interrupts", "sysfs", "irq", "domains", "debug-irqs"] as const;
export type ViewName = (typeof VIEWS)[number];
export type CommandName = "compare" | "show";

export type Command =
  | { kind: "help"; topic: CommandName | undefined }
  | { kind: "compare"; quick: boolean; json: boolean; out: string }
  | { kind: "show"; hardware: HardwareName; strategy: StrategyName; view: ViewName; cpus: number };

export const DEFAULT_OUT = "report";
/** CPUs of each host of the `show` scenario unless --cpus says otherwise. */
export const DEFAULT_SHOW_CPUS = 4;
/** The most CPUs `show --cpus` takes: the kernel's NR_CPUS limit, as core's (CONFIG_NR_CPUS_RANGE_END). */
export const MAX_SHOW_CPUS = 8192;

export const USAGE: Record<"main" | CommandName, string> = {
  main: `Usage: imsim <command> [options]

Measures the Linux IMS storage designs against each other: design A (subdevice),
design B (flat) and mainline (what Linux v6.2-v6.9 shipped), on simulated IDXD and NTB
hardware.

Commands:
  compare   run the matrix {subdevice, flat, mainline} × {idxd, ntb} and write the report
  show      print a kernel-format view of the default scenario

Run 'imsim <command> --help' for a command's options.
`,
  compare: `Usage: imsim compare [--quick] [--json] [--out DIR]

Runs {subdevice, flat, mainline} × {idxd, ntb}: the conformance summary, the five
concerns (storage, sysfs, expansion, iommu, pasid) and the performance figures, as
ratios to baselines measured in the same run. Prints the verdict and the tables, writes
DIR/compare.json and DIR/index.html.

Options:
  --quick      shorter sampling and a smaller scale run (under a minute; for CI)
  --json       print compare.json to stdout instead of the table
  --out DIR    where to write the report (default: ${DEFAULT_OUT})
  -h, --help   this text
`,
  show: `Usage: imsim show --hardware ${HARDWARE_NAMES.join("|")} --strategy ${STRATEGY_NAMES.join("|")} [--view VIEW] [--cpus N]

Builds the default scenario (IDXD: a device with kernel queues, a guest with on-demand
vectors, a user queue; NTB: two hosts and their clients), fires some interrupts and
prints one view in the kernel's format.

Options:
  --hardware H   ${HARDWARE_NAMES.join(" or ")}
  --strategy S   ${STRATEGY_NAMES.join(", ")} (design A, B or mainline)
  --view V       ${VIEWS.join(", ")} (default: proc-interrupts)
                 proc-interrupts  /proc/interrupts
                 sysfs            device files under /sys/devices, as 'head' prints them
                 irq              /sys/kernel/irq/N/* and /proc/irq/*, as 'grep -r .' prints them
                 domains          /sys/kernel/debug/irq/domains/*, as 'head' prints them
                 debug-irqs       /sys/kernel/debug/irq/irqs/*, as 'head' prints them
  --cpus N       CPUs of each host, 1-${MAX_SHOW_CPUS} (default: ${DEFAULT_SHOW_CPUS})
  -h, --help     this text
`,
};

/** "a, b or c". */
function oneOf(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** Splits "--opt=value" and takes the value of "--opt value"; an empty value is none. */
function takeValue(argv: string[], i: number, name: string, inline: string | undefined, command: CommandName): [string, number] {
  if (inline !== undefined) {
    if (inline === "") throw new UsageError(`${name} needs a value`, command);
    return [inline, i];
  }
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("-")) throw new UsageError(`${name} needs a value`, command);
  if (v === "") throw new UsageError(`${name} needs a value, got ""`, command);
  return [v, i + 1];
}

/**
 * Each option may be given once: a second `--hardware` would otherwise silently win, and the user
 * would not learn which of the two ran. Call with the option's canonical name.
 */
function once(seen: Set<string>, name: string, command: CommandName): void {
  if (seen.has(name)) throw new UsageError(`${name} is given more than once`, command);
  seen.add(name);
}

/** `--help` anywhere wins over every other argument, right or wrong. Values never start with "-". */
const wantsHelp = (argv: string[]) => argv.some((a) => a === "-h" || a === "--help");

function parseCompare(argv: string[]): Command {
  if (wantsHelp(argv)) return { kind: "help", topic: "compare" };
  let quick = false;
  let json = false;
  let out = DEFAULT_OUT;
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    if ((name === "--quick" || name === "--json") && inline !== undefined) throw new UsageError(`${name} takes no value`, "compare");
    if (name === "--quick" || name === "--json" || name === "--out") once(seen, name, "compare");
    if (name === "--quick") quick = true;
    else if (name === "--json") json = true;
    else if (name === "--out") [out, i] = takeValue(argv, i, "--out", inline, "compare");
    else if (name.startsWith("-")) throw new UsageError(`unknown option ${name}`, "compare");
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`, "compare");
  }
  return { kind: "compare", quick, json, out };
}

function parseShow(argv: string[]): Command {
  if (wantsHelp(argv)) return { kind: "help", topic: "show" };
  let hardware: string | undefined;
  let strategy: string | undefined;
  let view = "proc-interrupts";
  let cpusText: string | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    if (name === "--hardware" || name === "--strategy" || name === "--view" || name === "--cpus") once(seen, name, "show");
    if (name === "--hardware") [hardware, i] = takeValue(argv, i, "--hardware", inline, "show");
    else if (name === "--strategy") [strategy, i] = takeValue(argv, i, "--strategy", inline, "show");
    else if (name === "--view") [view, i] = takeValue(argv, i, "--view", inline, "show");
    else if (name === "--cpus") [cpusText, i] = takeValue(argv, i, "--cpus", inline, "show");
    else if (name.startsWith("-")) throw new UsageError(`unknown option ${name}`, "show");
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`, "show");
  }
  if (hardware === undefined) throw new UsageError(`--hardware is required (${HARDWARE_NAMES.join(" or ")})`, "show");
  if (!isHardwareName(hardware)) throw new UsageError(`--hardware must be ${HARDWARE_NAMES.join(" or ")}, got ${JSON.stringify(hardware)}`, "show");
  if (strategy === undefined) throw new UsageError(`--strategy is required (${oneOf(STRATEGY_NAMES)})`, "show");
  if (!isStrategyName(strategy)) throw new UsageError(`--strategy must be ${oneOf(STRATEGY_NAMES)}, got ${JSON.stringify(strategy)}`, "show");
  if (!(VIEWS as readonly string[]).includes(view)) throw new UsageError(`--view must be one of ${VIEWS.join(", ")}, got ${JSON.stringify(view)}`, "show");
  let cpus = DEFAULT_SHOW_CPUS;
  if (cpusText !== undefined) {
    cpus = /^[0-9]+$/.test(cpusText) ? Number(cpusText) : NaN;
    if (!(cpus >= 1 && cpus <= MAX_SHOW_CPUS)) throw new UsageError(`--cpus must be an integer from 1 to ${MAX_SHOW_CPUS}, got ${JSON.stringify(cpusText)}`, "show");
  }
  return { kind: "show", hardware, strategy, view: view as ViewName, cpus };
}

/** Parses the arguments after the program name. Throws UsageError for anything it cannot take. */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("missing command (compare or show)");
  if (first === "-h" || first === "--help" || first === "help") {
    const topic = rest[0];
    if (topic === undefined) return { kind: "help", topic: undefined };
    if (topic === "compare" || topic === "show") return { kind: "help", topic };
    throw new UsageError(`no help for unknown command ${JSON.stringify(topic)}`);
  }
  if (first === "compare") return parseCompare(rest);
  if (first === "show") return parseShow(rest);
  if (first.startsWith("-")) throw new UsageError(`unknown option ${first} (options follow the command)`);
  throw new UsageError(`unknown command ${JSON.stringify(first)} (expected compare or show)`);
}
