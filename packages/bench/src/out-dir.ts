import { closeSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { EXIT_USAGE } from "./args.js";

/** The files `writeReport` writes into the report directory. */
export const REPORT_FILES = ["compare.json", "index.html"] as const;

/** The report directory cannot be used. `exitCode` is 2: the CLI treats it as a bad `--out`. */
export class OutDirError extends Error {
  readonly exitCode = EXIT_USAGE;
  /** The directory as given. */
  readonly dir: string;
  /** The errno name from the file system (ENOTDIR, EACCES, EROFS, ...), or EINVAL for an empty path. */
  readonly code: string;
  constructor(dir: string, code: string, message: string) {
    super(message);
    this.name = "OutDirError";
    this.dir = dir;
    this.code = code;
  }
}

function errno(e: unknown): { code: string; text: string } {
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === "string" ? err.code : "EIO";
  // Node's message is "CODE: description, syscall 'path'"; keep "CODE: description".
  const text = typeof err?.message === "string" ? (err.message.split(",")[0] ?? code) : code;
  return { code, text };
}

/**
 * Makes `dir` usable for the report, before any measuring, so that a bad `--out` costs nothing:
 * creates it and its missing parents, checks that a new file can be written in it, and that any
 * existing `compare.json` or `index.html` there is a regular file that can be opened for writing.
 * Returns the absolute path.
 *
 * Everything is synchronous and bounded, with no timeout needed: directories are created one level
 * at a time (not `mkdir -p`: Node 20's recursive mkdir retries forever where the kernel says ENOENT
 * for a parent that exists, as under /proc), the probe file is created with O_EXCL (it can never
 * open a FIFO or a device), and existing report files are opened only once known to be regular
 * files. On failure the directories it created are removed again.
 */
export function prepareOutDir(dir: string): string {
  if (dir === "") throw new OutDirError(dir, "EINVAL", "--out must not be empty");
  const abs = path.resolve(dir);
  function fail(code: string, why: string): never {
    throw new OutDirError(dir, code, `--out ${JSON.stringify(dir)}: ${why}`);
  }
  const created: string[] = [];
  try {
    const { root } = path.parse(abs);
    let at = root;
    for (const part of abs.slice(root.length).split(path.sep).filter(Boolean)) {
      at = path.join(at, part);
      let isDir: boolean;
      try {
        isDir = statSync(at).isDirectory();
      } catch (e) {
        const { code, text } = errno(e);
        if (code !== "ENOENT") fail(code, `cannot use ${at} (${text})`);
        try {
          mkdirSync(at);
          created.push(at);
          continue;
        } catch (e2) {
          const { code: code2, text: text2 } = errno(e2);
          if (code2 !== "EEXIST") fail(code2, `cannot create directory ${at} (${text2})`);
          isDir = statSync(at).isDirectory(); // created by someone else meanwhile
        }
      }
      if (!isDir) fail("ENOTDIR", `${at} exists and is not a directory`);
    }

    const probe = path.join(abs, `.imsim-write-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
    let fd: number;
    try {
      fd = openSync(probe, "wx");
    } catch (e) {
      const { code, text } = errno(e);
      fail(code, `cannot create files in ${abs} (${text})`);
    }
    try {
      writeSync(fd, "imsim\n");
    } catch (e) {
      const { code, text } = errno(e);
      fail(code, `cannot write files in ${abs} (${text})`);
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }

    for (const name of REPORT_FILES) {
      const file = path.join(abs, name);
      let isFile: boolean;
      try {
        isFile = statSync(file).isFile();
      } catch (e) {
        const { code, text } = errno(e);
        if (code === "ENOENT") continue;
        fail(code, `cannot use ${file} (${text})`);
      }
      if (!isFile) fail("EISDIR", `${file} exists and is not a regular file`);
      try {
        closeSync(openSync(file, "r+")); // writable, without truncating it yet
      } catch (e) {
        const { code, text } = errno(e);
        fail(code, `cannot overwrite ${file} (${text})`);
      }
    }
    return abs;
  } catch (e) {
    for (const d of created.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // not empty any more, or gone: leave it
      }
    }
    throw e;
  }
}
