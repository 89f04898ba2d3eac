// How several files print in one output: the way coreutils' head(1) prints them — a line
// `==> NAME <==` before each file (preceded by an empty line from the second one on), then the
// file's bytes as they are (an empty file prints nothing). `grep -r .` prints each line as
// `PATH:LINE` instead, and nothing for an empty file.

/** One entry of a multi-file output: a file's path and content; content undefined prints just the header (a group label). */
export type HeadEntry = readonly [name: string, content: string | undefined];

/** head's output for `entries`, in the given order. */
export function formatHead(entries: Iterable<HeadEntry>): string {
  let out = "";
  let first = true;
  for (const [name, content] of entries) {
    out += `${first ? "" : "\n"}==> ${name} <==\n${content ?? ""}`;
    first = false;
  }
  return out;
}

/** `grep -r .` over `files`: `PATH:LINE` for every non-empty line (grep's `.` matches no empty line). */
export function formatGrep(files: Iterable<readonly [string, string]>): string {
  let out = "";
  for (const [path, content] of files) {
    for (const line of content.split("\n")) if (line !== "") out += `${path}:${line}\n`;
  }
  return out;
}
