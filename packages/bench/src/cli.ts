import path from "node:path";
import { EXIT_USAGE, USAGE, UsageError, parseArgs } from "./args.js";
import { runCompare, writeReport } from "./compare.js";
import { renderTextReport } from "./report-table.js";
import { show } from "./show.js";

/** Runs the imsim command line; returns the exit code (0 done, 1 failed, 2 bad arguments). */
export async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`imsim: ${e.message}\n`);
      process.stderr.write(e.command ? `Run 'imsim ${e.command} --help' for usage.\n` : `Run 'imsim --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  switch (command.kind) {
    case "help":
      process.stdout.write(USAGE[command.topic ?? "main"]);
      return 0;
    case "show":
      process.stdout.write(show(command.hardware, command.strategy, command.view));
      return 0;
    case "compare": {
      const report = await runCompare({ quick: command.quick });
      const files = await writeReport(report, command.out);
      if (command.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        process.stdout.write(renderTextReport(report));
        process.stdout.write(`\nwrote ${path.relative(process.cwd(), files.json) || files.json} and ${path.relative(process.cwd(), files.html) || files.html}\n`);
      }
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`imsim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
