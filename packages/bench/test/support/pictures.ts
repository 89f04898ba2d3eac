import { expect } from "vitest";
import type { Page } from "playwright-core";
import { STRATEGY_NAMES } from "../../src/matrix.js";

/** What the browser measured of one picture. */
interface Measured {
  width: number;
  height: number;
  title: string;
  nodes: number;
  /** Smallest rendered font size of its text, px. */
  minFontPx: number;
  /** Text lines that stick out of their box. */
  overflowing: string[];
  /** Pairs of boxes that overlap. */
  overlapping: string[];
}

/** The few DOM shapes the check reads (the package's types have no DOM library). */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}
interface El {
  getBoundingClientRect(): Box;
  getAttribute(name: string): string | null;
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  textContent: string | null;
}

/**
 * Checks every design picture in the page: present and visible, a title, at least two boxes, text
 * of at least 10 px, every line inside its box, no two boxes overlapping.
 */
export async function checkPictures(page: Page): Promise<void> {
  for (const s of STRATEGY_NAMES) {
    for (const kind of ["hierarchy", "sysfs"]) {
      const id = `pic-${s}-${kind}`;
      await expect.poll(() => page.locator(`#${id}`).isVisible(), { timeout: 5000 }).toBe(true);
      const m = await page.locator(`#${id}`).evaluate((node): Measured => {
        const svg = node as unknown as El;
        const style = (e: El) => (globalThis as unknown as { getComputedStyle(e: El): { fontSize: string } }).getComputedStyle(e);
        const box = svg.getBoundingClientRect();
        const rects: { id: string; r: Box }[] = [];
        const overflowing: string[] = [];
        let minFontPx = Infinity;
        for (const g of Array.from(svg.querySelectorAll("g.node"))) {
          const r = g.querySelector("rect")!.getBoundingClientRect();
          rects.push({ id: g.getAttribute("data-id") ?? "?", r });
          for (const t of Array.from(g.querySelectorAll("text"))) {
            const tr = t.getBoundingClientRect();
            minFontPx = Math.min(minFontPx, parseFloat(style(t).fontSize));
            if (tr.left < r.left - 0.5 || tr.right > r.right + 0.5 || tr.top < r.top - 0.5 || tr.bottom > r.bottom + 0.5) overflowing.push(t.textContent ?? "");
          }
        }
        const overlapping: string[] = [];
        for (let i = 0; i < rects.length; i++) {
          for (let j = i + 1; j < rects.length; j++) {
            const a = rects[i]!.r;
            const b = rects[j]!.r;
            if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlapping.push(`${rects[i]!.id} × ${rects[j]!.id}`);
          }
        }
        return { width: box.width, height: box.height, title: svg.querySelector("title")?.textContent ?? "", nodes: rects.length, minFontPx, overflowing, overlapping };
      });
      expect(m.width, id).toBeGreaterThan(100);
      expect(m.height, id).toBeGreaterThan(50);
      expect(m.title, id).toContain(s);
      expect(m.nodes, id).toBeGreaterThan(2);
      expect(m.minFontPx, id).toBeGreaterThanOrEqual(10);
      expect(m.overflowing, id).toEqual([]);
      expect(m.overlapping, id).toEqual([]);
    }
  }
}
