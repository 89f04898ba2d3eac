import path from "node:path";
import { EXIT_USAGE, USAGE, UsageError, parseArgs } from "./args.js";
import { runCompare, writeReport } from "./compare.js";
import { OutDirError, prepareOutDir } from "./out-dir.js";
import { renderTextReport } from "./report-table.js";
import { show } from "./show.js";

/** Exit code for a run that failed. */
const EXIT_FAILED = 1;

/** Runs the imsim command line; returns the exit code (0 done, 1 failed, 2 bad arguments). */
export async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      // One line: what was wrong, and where the usage is.
      process.stderr.write(`imsim: ${e.message} (see 'imsim ${e.command ? `${e.command} ` : ""}--help')\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  switch (command.kind) {
    case "help":
      process.stdout.write(USAGE[command.topic ?? "main"]);
      return 0;
    case "show":
      process.stdout.write(show(command.hardware, command.strategy, command.view, command.cpus));
      return 0;
    case "compare": {
      // Check --out before measuring: a bad one must not cost a two-minute run.
      try {
        prepareOutDir(command.out);
      } catch (e) {
        if (e instanceof OutDirError) {
          process.stderr.write(`imsim: ${e.message}\n`);
          return e.exitCode;
        }
        throw e;
      }
      const report = await runCompare({ quick: command.quick });
      // The results go to stdout first, so that they survive a failure to write the files.
      if (command.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(renderTextReport(report));
      let files;
      try {
        files = await writeReport(report, command.out);
      } catch (e) {
        const why = e instanceof OutDirError ? e.message : `could not write the report to ${command.out}: ${e instanceof Error ? e.message : String(e)}`;
        process.stderr.write(`imsim: ${why}\n`);
        return EXIT_FAILED;
      }
      if (!command.json) {
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
    process.exitCode = EXIT_FAILED;
  },
);
