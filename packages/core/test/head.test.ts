import { describe, expect, it } from "vitest";
import { formatGrep, formatHead } from "../src/index.js";

describe("multi-file output", () => {
  it("prints files as head(1) does: a header, the bytes, an empty line before every later header; an empty file has no content", () => {
    expect(
      formatHead([
        ["/a", "1\n"],
        ["/empty", ""],
        ["/b", "x\ny\n"],
      ]),
    ).toBe("==> /a <==\n1\n\n==> /empty <==\n\n==> /b <==\nx\ny\n");
  });

  it("prints a group label (no content) the same way, so a host's files follow its header", () => {
    expect(formatHead([["hostA", undefined], ["/f", "1\n"], ["hostB", undefined], ["/f", "2\n"]])).toBe(
      "==> hostA <==\n\n==> /f <==\n1\n\n==> hostB <==\n\n==> /f <==\n2\n",
    );
  });

  it("keeps a file's missing final newline, as head does (the next header starts on the same line's end)", () => {
    expect(formatHead([["/a", "no newline"], ["/b", "x\n"]])).toBe("==> /a <==\nno newline\n==> /b <==\nx\n");
  });

  it("prints `grep -r .` lines: PATH:LINE for each non-empty line, nothing for empty files or lines", () => {
    expect(
      formatGrep([
        ["/p/spurious", "count 0\nunhandled 0\nlast_unhandled 0 ms\n"],
        ["/p/actions", ""],
        ["/p/x", "a\n\nb\n"],
      ]),
    ).toBe("/p/spurious:count 0\n/p/spurious:unhandled 0\n/p/spurious:last_unhandled 0 ms\n/p/x:a\n/p/x:b\n");
  });
});
