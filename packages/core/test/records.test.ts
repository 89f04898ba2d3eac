import { describe, expect, it } from "vitest";
import { summarizeRecords } from "../src/index.js";

describe("strategy records", () => {
  it("sums the counts of every record and keeps the named records as given", () => {
    const r = summarizeRecords("flat", 2, 8, [
      { what: "queue table map", per: "fixed", count: 1 },
      { what: "queue rows", per: "queue", count: 2 },
      { what: "index-set entries", per: "interrupt", count: 8 },
    ]);
    expect(r.objects).toBe(11);
    expect(r.records.map((x) => x.what)).toEqual(["queue table map", "queue rows", "index-set entries"]);
    expect(summarizeRecords("x", 0, 0, []).objects).toBe(0);
  });
});
