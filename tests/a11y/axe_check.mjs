// Runs axe-core on a local HTML file in Debian's Chromium and prints a JSON verdict on stdout.
//   node axe_check.mjs <html-file> [--screenshot <png>]
// Exit 0: no violation and no outside request; 1: violations or outside requests; 2: could not run.
// The browser is /usr/bin/chromium (or $CHROMIUM): puppeteer-core never downloads one.
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];
// Without the background-networking flags Chromium keeps dialling Google's hosts on a closed network.
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function fail(message) {
  process.stderr.write(`axe_check: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const file = args[0];
const shotIndex = args.indexOf("--screenshot");
const screenshot = shotIndex >= 0 ? args[shotIndex + 1] : null;
if (!file || !existsSync(file)) fail(`usage: node axe_check.mjs <html-file> [--screenshot <png>] (got ${file})`);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath)) fail(`no browser at ${executablePath}`);

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const userDataDir = mkdtempSync(path.join(tmpdir(), "labgrader-axe-"));

function summarise(results, pass) {
  return results.violations.map((v) => ({
    pass,
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 300), summary: n.failureSummary })),
  }));
}

let browser;
try {
  browser = await puppeteer.launch({
    executablePath,
    // Our flags exactly, not puppeteer's defaults (which add their own --headless mode and extensions switches).
    ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${userDataDir}`],
    timeout: 60000,
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // The report must be self-contained: any request leaving file:/data: is recorded and refused.
  const outside = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (url.startsWith("file:") || url.startsWith("data:")) return request.continue();
    outside.push(url);
    return request.abort();
  });
  await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: "load" });
  await page.evaluate(axeSource);
  const runAxe = () =>
    page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
      TAGS,
    );

  // Pass 1 as the page opens; pass 2 with every <details> open, so the evidence is checked too.
  const closed = await runAxe();
  const detailsCount = await page.evaluate(() => {
    const all = document.querySelectorAll("details");
    all.forEach((d) => { d.open = true; });
    return all.length;
  });
  const opened = await runAxe();
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  const violations = [...summarise(closed, "closed"), ...summarise(opened, "details-open")];
  const verdict = {
    axe: closed.testEngine.version,
    browser: await browser.version(),
    tags: TAGS,
    details: detailsCount,
    violations,
    incomplete: opened.incomplete.map((i) => ({
      id: i.id,
      nodes: i.nodes.map((n) => ({ target: n.target, reason: n.any.concat(n.all, n.none).map((c) => c.message).join(" ") })),
    })),
    outside_requests: outside,
  };
  process.stdout.write(JSON.stringify(verdict, null, 2) + "\n");
  process.exitCode = violations.length || outside.length ? 1 : 0;
} catch (error) {
  process.stderr.write(`axe_check: ${error?.stack || error}\n`);
  process.exitCode = 2;
} finally {
  if (browser) await browser.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
