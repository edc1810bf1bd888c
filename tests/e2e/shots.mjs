// Screenshots of any pages at 390 and 1366 px, signed in or not, to look at
// what was built as a person would (not part of the test suite). Also
// prints each page's horizontal overflow. Against a running server, e.g.
// `maillage serve --demo` (the accounts are printed at start):
//   BASE_URL=http://127.0.0.1:8080 E2E_EMAIL=coordination@… E2E_PASSWORD=… \
//     OUT=/tmp/shots node tests/e2e/shots.mjs /admin/t/lens-lievin/diagnostic /t/lens-lievin/
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { SIZES } from "./crawl.mjs";

const base = process.env.BASE_URL || "http://127.0.0.1:8080";
const out = process.env.OUT || "/tmp/shots";
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
for (const size of SIZES) {
  const ctx = await browser.newContext({ viewport: { width: size.width, height: size.height }, locale: "fr-FR" });
  const p = await ctx.newPage();
  if (process.env.E2E_EMAIL) {
    await p.goto(base + "/admin/connexion");
    await p.fill("#email", process.env.E2E_EMAIL);
    await p.fill("#password", process.env.E2E_PASSWORD || "");
    await Promise.all([p.waitForNavigation(), p.getByRole("button", { name: "Se connecter" }).click()]);
  }
  for (const path of process.argv.slice(2)) {
    const resp = await p.goto(base + path);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const file = `${out}/${path.replace(/[^a-z0-9]+/gi, "_")}@${size.name}.png`;
    await p.screenshot({ path: file, fullPage: true });
    console.log(`${resp?.status()} ${size.name} px ${path}: ${overflow > 0 ? `scrolls sideways by ${overflow} px` : "fits"} → ${file}`);
  }
  await ctx.close();
}
await browser.close();
