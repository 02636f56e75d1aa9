import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";
import { describe, expect, it } from "vitest";
import { reportPlots, writeReport } from "../../src/report/index.js";
import { sampleReportInput } from "../support/report-input.js";

interface BrowserXmlParser {
  parseFromString(
    text: string,
    type: string,
  ): { getElementsByTagName(tag: string): { length: number }; documentElement: { nodeName: string } };
}

/** Debian's chromium (scripts/setup.sh installs it); puppeteer-core downloads no browser. */
function chromiumPath(): string {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium is not on PATH: run scripts/setup.sh (Debian package chromium)");
  }
}

describe("report.html in headless Chromium", () => {
  it("renders without errors, every image loads, every plot's SVG parses", { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "distill-render-"));
    const input = sampleReportInput(60);
    await writeReport(dir, input);
    const browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      // Root in a container has no user namespace for the sandbox; the page is our own file.
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${String(e)}`));
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
      const response = await page.goto(pathToFileURL(join(dir, "reports", "report.html")).href, {
        waitUntil: "load",
      });
      expect(response?.ok() ?? true).toBe(true);
      const images = await page.$$eval("img", (imgs) =>
        imgs.map((i) => ({
          complete: i.complete,
          width: i.naturalWidth,
          height: i.naturalHeight,
          alt: i.alt,
        })),
      );
      expect(images).toHaveLength(9);
      for (const im of images) {
        expect(im, im.alt).toMatchObject({ complete: true });
        expect(im.width, im.alt).toBeGreaterThan(0);
        expect(im.height, im.alt).toBeGreaterThan(0);
      }
      // The browser's own XML parser accepts every plot's SVG as an <svg> document.
      const parsed = await page.evaluate(
        (svgs) =>
          svgs.map((s) => {
            // The page's DOMParser (the project's tsconfig has no DOM types).
            const Parser = (globalThis as unknown as { DOMParser: new () => BrowserXmlParser }).DOMParser;
            const doc = new Parser().parseFromString(s, "image/svg+xml");
            return doc.getElementsByTagName("parsererror").length
              ? "parsererror"
              : doc.documentElement.nodeName;
          }),
        reportPlots(input).map((p) => p.svg),
      );
      expect(parsed).toEqual(Array(9).fill("svg"));
      const tables = await page.$$eval("table", (t) => t.length);
      expect(tables).toBeGreaterThanOrEqual(4);
      const title = await page.title();
      expect(title).toBe("distill test report");
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
