import { afterEach, describe, expect, it, vi } from "vitest";
import { NOTE_EVERY_MS, Progress } from "../src/progress.js";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 100, write: (c: string) => chunks.push(c) }, chunks };
}

describe("Progress", () => {
  it("prints one plain line per step when not on a terminal", () => {
    const { stream, chunks } = sink(false);
    const p = new Progress(2, stream);
    p.start("idxd: delivery");
    p.tick();
    p.start("ntb: delivery");
    p.tick();
    p.finish("done");
    expect(chunks.join("")).toMatch(/^\[1\/2\] idxd: delivery\n\[2\/2\] ntb: delivery\ndone \(\d+\.\d s\)\n$/);
    expect(chunks.join("")).not.toContain("\r");
  });

  it("redraws a bar in place on a terminal and clears it at the end", () => {
    const { stream, chunks } = sink(true);
    const p = new Progress(4, stream);
    p.start("a");
    p.tick();
    p.tick();
    p.start("c");
    expect(chunks[0]).toMatch(/^\r\x1b\[2K░{24}\s+0% 0\/4 a$/);
    expect(chunks[1]).toMatch(/^\r\x1b\[2K█{12}░{12}\s+50% 2\/4 c$/);
    p.finish("done");
    expect(chunks.at(-1)).toMatch(/^\r\x1b\[2Kdone \(/);
    expect(chunks.slice(0, -1).join("")).not.toContain("\n");
  });

  it("notes how far a long step is: beside the step on a terminal, at most every NOTE_EVERY_MS in a log", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const tty = sink(true);
    const t = new Progress(2, tty.stream);
    t.start("idxd × A: heap and scale");
    t.note("3/64 devices filled");
    expect(tty.chunks.at(-1)).toMatch(/^\r\x1b\[2K░{24}\s+0% 0\/2 idxd × A: heap and scale \(3\/64 devices filled\)$/);
    const log = sink(false);
    const p = new Progress(2, log.stream);
    p.start("idxd × A: heap and scale");
    p.note("1/64 devices filled"); // right after the step's own line: nothing
    vi.advanceTimersByTime(NOTE_EVERY_MS);
    p.note("40/64 devices filled");
    p.note("41/64 devices filled"); // too soon after the last note
    expect(log.chunks.join("")).toBe("[1/2] idxd × A: heap and scale\n      idxd × A: heap and scale: 40/64 devices filled\n");
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("stays quiet when silent", () => {
    const { stream, chunks } = sink(false);
    const p = new Progress(1, stream, { silent: true });
    p.start("x");
    p.finish("y");
    expect(chunks).toEqual([]);
  });
});
