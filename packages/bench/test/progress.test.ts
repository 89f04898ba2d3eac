import { describe, expect, it } from "vitest";
import { Progress } from "../src/progress.js";

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

  it("stays quiet when silent", () => {
    const { stream, chunks } = sink(false);
    const p = new Progress(1, stream, { silent: true });
    p.start("x");
    p.finish("y");
    expect(chunks).toEqual([]);
  });
});
