// The layout crawl (issue 10): every public page reachable from a territory's
// home, and a list of back-office pages, at a phone size and a desktop size.
// On each page: horizontal overflow (scrollWidth > innerWidth), form controls
// and buttons under 24 × 24 px, and axe-core at WCAG 2.1 and 2.2 A/AA (its
// `target-size` rule checks links with WCAG's spacing and inline
// exceptions). A screenshot of each page goes to SCREENSHOTS (a folder under
// target/, which git ignores).
//
// Used by run.mjs; also runnable alone against a running server:
//   BASE_URL=http://127.0.0.1:8080 TERRITORY=lens-lievin node tests/e2e/crawl.mjs
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const SIZES = [
  { name: "390", width: 390, height: 844 },
  { name: "1366", width: 1366, height: 900 },
];

const axeSource = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const SKIP = /\.(ics|csv|xlsx|json|pdf|odt|docx)(\?|$)|\/documents\/\d+|\/espace\/documents\/|\/preferences\?|\/inscriptions\/[^/]+$|\/permanences\?du=|\/agenda\?mois=/;

/// Same-origin links of the page under `prefix`, without fragments.
async function links(page, base, prefix) {
  const hrefs = await page.evaluate(() => [...document.querySelectorAll("a[href]")].map((a) => a.href));
  const out = new Set();
  for (const h of hrefs) {
    let u;
    try { u = new URL(h); } catch { continue; }
    if (u.origin !== new URL(base).origin) continue;
    u.hash = "";
    const path = u.pathname + u.search;
    if (!u.pathname.startsWith(prefix) || SKIP.test(path)) continue;
    out.add(path);
  }
  return [...out];
}

/// Layout facts of the current page.
async function layout(page) {
  return page.evaluate(() => {
    const overflow = document.documentElement.scrollWidth - window.innerWidth;
    const small = [];
    const controls = document.querySelectorAll(
      "button, input:not([type=hidden]), select, textarea, summary, [role=button]");
    for (const el of controls) {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || style.visibility === "hidden") continue;
      if (el.closest(".hp, [aria-hidden=true]")) continue; // the anti-spam trap, out of sight
      // A link-styled button inside running text is an inline target.
      if (el.classList.contains("link-button") && style.display === "inline") continue;
      if (r.width < 24 || r.height < 24) {
        small.push(`${el.tagName.toLowerCase()}${el.type ? "[" + el.type + "]" : ""}${el.id ? "#" + el.id : ""} ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
    }
    let widest = "";
    if (overflow > 0) {
      for (const el of document.body.querySelectorAll("*")) {
        const r = el.getBoundingClientRect();
        if (r.right > window.innerWidth + 1) { widest = `${el.tagName.toLowerCase()}.${el.className}`; break; }
      }
    }
    return { overflow, small: small.slice(0, 10), widest };
  });
}

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    }));
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.html),
  }));
}

/// Crawl `start` paths (and, when `follow`, every link under `prefix`) in a
/// context per size; returns one row per page and size.
export async function crawl(browser, { base, start, prefix, follow, max = 80, screenshots, login }) {
  const rows = [];
  if (screenshots) mkdirSync(screenshots, { recursive: true });
  for (const size of SIZES) {
    const context = await browser.newContext({
      viewport: { width: size.width, height: size.height }, locale: "fr-FR", bypassCSP: true,
    });
    context.setDefaultTimeout(30000);
    const page = await context.newPage();
    if (login) await login(page);
    const queue = [...start];
    const seen = new Set(queue);
    while (queue.length && rows.filter((r) => r.size === size.name).length < max) {
      const path = queue.shift();
      const resp = await page.goto(base + path, { waitUntil: "load" });
      const status = resp ? resp.status() : 0;
      const facts = await layout(page);
      const violations = await axe(page);
      if (screenshots) {
        const file = path.replace(/^\//, "").replace(/[^a-zA-Z0-9._-]+/g, "_") || "index";
        await page.screenshot({ path: `${screenshots}/${file}@${size.name}.png`, fullPage: true });
      }
      rows.push({ size: size.name, path, status, ...facts, violations });
      if (follow && status === 200) {
        for (const l of await links(page, base, prefix)) {
          if (!seen.has(l)) { seen.add(l); queue.push(l); }
        }
      }
    }
    await context.close();
  }
  return rows;
}

/// Counts for the closing figures: pages, overflowing, small targets, axe.
export function summary(rows) {
  const out = {};
  for (const r of rows) {
    const s = (out[r.size] ||= { pages: 0, overflow: 0, small_targets: 0, axe_pages: 0, axe_violations: 0 });
    s.pages += 1;
    if (r.overflow > 0) s.overflow += 1;
    if (r.small.length) s.small_targets += 1;
    if (r.violations.length) s.axe_pages += 1;
    s.axe_violations += r.violations.length;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { chromium } = await import("playwright-core");
  const base = process.env.BASE_URL;
  const territory = process.env.TERRITORY || "lens-lievin";
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const rows = await crawl(browser, {
      base, start: [`/t/${territory}/`], prefix: `/t/${territory}/`, follow: true,
      screenshots: process.env.SCREENSHOTS,
    });
    for (const r of rows) {
      if (r.overflow > 0 || r.small.length || r.violations.length || r.status !== 200) {
        console.log(`${r.size} ${r.status} ${r.path} overflow=${r.overflow} ${r.widest} small=${r.small.join(", ")} axe=${r.violations.map((v) => v.id + ":" + v.nodes[0]).join(" | ")}`);
      }
    }
    console.log(JSON.stringify(summary(rows)));
  } finally {
    await browser.close();
  }
}
