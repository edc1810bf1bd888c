// End-to-end checks in Debian's headless Chromium (driven by playwright-core)
// with axe-core audits. Spawned by tests/e2e.rs, which starts the server.
// Env: BASE_URL, TERRITORY, E2E_EMAIL, E2E_PASSWORD (a coordinator).
// Optional: EVENT_ID (an event seeded by the Rust test; its presence also
// means the agenda was seeded, so the drop-in series is expected), CHROMIUM.
// Prints one JSON report {pages: [{url, violations}], checks: [{name, ok, detail}]}
// and exits 0 when it ran to the end (violations and failed checks included:
// the Rust side asserts); exits non-zero only on a crash, error on stderr.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { crawl, summary as layoutSummary } from "./crawl.mjs";

const base = process.env.BASE_URL;
const territory = process.env.TERRITORY || "lens-lievin";
const email = process.env.E2E_EMAIL;
const password = process.env.E2E_PASSWORD;
if (!base || !email || !password) {
  console.error("BASE_URL, E2E_EMAIL and E2E_PASSWORD are required");
  process.exit(2);
}
const axeSource = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");

const report = { pages: [], checks: [] };
const check = (name, ok, detail = "") => report.checks.push({ name, ok: !!ok, detail: String(detail) });

async function audit(page, label) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  report.pages.push({
    url: label || page.url(),
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.html),
    })),
  });
}

const TIMEOUT = 30000;
async function newContext(browser) {
  const context = await browser.newContext({ bypassCSP: true, locale: "fr-FR" });
  context.setDefaultNavigationTimeout(TIMEOUT);
  context.setDefaultTimeout(TIMEOUT);
  return context;
}
const classes = (page) => page.evaluate(() => [...document.documentElement.classList]);

async function visit(page, path) {
  const resp = await page.goto(base + path, { waitUntil: "load", timeout: TIMEOUT });
  return resp;
}

let exitCode = 0;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  // Anonymous visitor.
  const visitor = await newContext(browser);
  const page = await visitor.newPage();

  await visit(page, "/");
  await audit(page);
  const homeH1 = ((await page.locator("h1").first().textContent()) || "").trim();
  check("public home has a non-empty h1", homeH1.length > 0, homeH1);
  const list = await page.locator(`a[href="/t/${territory}/"]`).count();
  check("the home lists the territory", list > 0, `${list} link(s)`);

  await visit(page, `/t/${territory}/`);
  await audit(page);
  const h1 = (await page.locator("h1").first().textContent())?.trim();
  check("territory home has its name as h1", h1 && h1.length > 3, h1);
  const body = await page.locator("body").textContent();
  check("emergency notice", body.includes("appelez le 15 ou le 112"), "");
  check("updated date", /mis à jour le \d/i.test(body) || body.includes("mise à jour le"), "");
  const printVisible = await page.locator("button[data-print]").isVisible();
  check("print button shown by the script", printVisible, "");

  await page.getByRole("link", { name: "Contraste élevé" }).click();
  await page.waitForLoadState("load");
  const contrastClass = await classes(page);
  check("high contrast preference", contrastClass.includes("contraste") && page.url().endsWith(`/t/${territory}/`),
    `class="${contrastClass.join(" ")}" url=${page.url()}`);
  await audit(page, `${base}/t/${territory}/ (contraste)`);
  await page.getByRole("link", { name: "Agrandir le texte" }).click();
  await page.waitForLoadState("load");
  const bigClass = await classes(page);
  check("larger text preference", bigClass.includes("texte-grand") && page.url().endsWith(`/t/${territory}/`),
    `class="${bigClass.join(" ")}" url=${page.url()}`);
  await audit(page, `${base}/t/${territory}/ (texte grand)`);

  await visit(page, `/t/${territory}/annuaire?q=pharmacie`);
  await audit(page);
  const firstHit = page.locator("ul.cards li a").first();
  const hitName = (await firstHit.textContent())?.trim();
  check("directory search finds a pharmacy", /PHARMACIE/i.test(hitName || ""), hitName);
  await Promise.all([page.waitForNavigation(), firstHit.click()]);
  const entryTitle = (await page.locator("h1").textContent())?.trim();
  check("a directory entry opens", entryTitle === hitName, entryTitle);
  await audit(page);

  await visit(page, `/t/${territory}/permanences`);
  await audit(page);
  if (process.env.EVENT_ID) {
    // Only the Rust test seeds the agenda (the --demo data has none).
    const perm = await page.locator("body").textContent();
    check("the drop-in series is listed", perm.includes("Permanence des médiateurs santé") || perm.includes("Centre social Dumas"), "");
  }
  await visit(page, `/t/${territory}/agenda`);
  await audit(page);
  if (process.env.EVENT_ID) {
    await visit(page, `/t/${territory}/evenements/${process.env.EVENT_ID}`);
    await audit(page);
    const ld = await page.locator('script[type="application/ld+json"]').first().textContent();
    let ok = false;
    try { ok = JSON.parse(ld)["@type"] === "Event"; } catch (e) { ok = false; }
    check("the event page carries schema.org Event data", ok, (ld || "").slice(0, 80));
  }

  if (process.env.CONTRACT_ID) {
    await visit(page, `/t/${territory}/contrat/${process.env.CONTRACT_ID}`);
    await audit(page);
    const plan = await page.locator("body").textContent();
    check("the contract page shows its plan", plan.includes("Aller vers les habitants éloignés du soin"), "");
    await visit(page, `/t/${territory}/actions/2.1.1`);
    await audit(page);
    const chart = await page.locator("svg.sparkline title").first().textContent();
    check("the action page charts its indicator", (chart || "").includes("cible 600 personnes"), chart);
  }

  if (process.env.GROUP_ID) {
    // Participation (issue 5): the page, a group, a questionnaire and its results, the idea box.
    await visit(page, `/t/${territory}/participer`);
    await audit(page);
    const part = await page.locator("body").textContent();
    check("participer lists the working group", part.includes("Groupe de travail santé mentale"), "");
    await visit(page, `/t/${territory}/groupes/${process.env.GROUP_ID}`);
    await audit(page);
    const form = `/t/${territory}/consultations/${process.env.CONSULTATION_ID}`;
    await visit(page, form);
    await audit(page);
    const conditional = page.locator("[data-cond-field]").first();
    const hiddenBefore = await conditional.isHidden();
    await page.getByLabel("Non", { exact: true }).first().check();
    const shownAfter = await conditional.isVisible();
    check("a conditional question shows when its answer is chosen", hiddenBefore && shownAfter, `hidden=${hiddenBefore} shown=${shownAfter}`);
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Envoyer mes réponses" }).click()]);
    await audit(page, `${base}${form} (après envoi)`);
    await visit(page, `${form}/resultats`);
    await audit(page);
    const svg = await page.locator('svg[role="img"] title').count();
    check("results have SVG charts with a title", svg > 0, `${svg}`);
    await visit(page, `/t/${territory}/idees`);
    await audit(page);
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Envoyer ma proposition" }).click()]);
    const ideaErrors = await page.locator(".error-summary").count();
    check("an empty idea is refused with a summary", ideaErrors === 1, `${ideaErrors}`);
    await audit(page, `${base}/t/${territory}/idees (erreurs)`);
    await visit(page, `/t/${territory}/contact`);
    await audit(page);
  }

  const notFound = await visit(page, `/t/${territory}/page-qui-n-existe-pas`);
  check("unknown page answers 404", notFound.status() === 404, notFound.status());
  await audit(page);
  await visitor.close();

  // A coordinator.
  const staff = await newContext(browser);
  const sp = await staff.newPage();
  await visit(sp, "/admin/connexion");
  await audit(sp);
  await sp.fill("#email", email);
  await sp.fill("#password", password);
  await Promise.all([sp.waitForNavigation(), sp.getByRole("button", { name: "Se connecter" }).click()]);
  const dash = (await sp.locator("h1").textContent())?.trim();
  // One territory: the dashboard is that territory's.
  check("sign in leads to the dashboard", dash === "Tableau de bord" || new URL(sp.url()).pathname === `/admin/t/${territory}/`, dash);
  await audit(sp);

  const more = [`/admin/t/${territory}/`, `/admin/t/${territory}/perimetre`, `/admin/t/${territory}/comptes`];
  if (process.env.GROUP_ID) {
    more.push(`/admin/t/${territory}/participation`, `/admin/t/${territory}/instances/${process.env.GROUP_ID}`,
      `/admin/t/${territory}/consultations/${process.env.CONSULTATION_ID}`,
      `/admin/t/${territory}/consultations/${process.env.CONSULTATION_ID}/resultats`);
  }
  if (new URL(sp.url()).pathname !== "/admin/") more.unshift("/admin/");
  for (const path of more) {
    await visit(sp, path);
    await audit(sp);
  }

  await visit(sp, `/admin/t/${territory}/presentation`);
  await audit(sp);
  await sp.fill("#contact_phone", "03 21 99 88 77");
  await Promise.all([sp.waitForNavigation(), sp.getByRole("button", { name: "Enregistrer", exact: true }).click()]);
  const saved = await sp.locator("body").textContent();
  check("presentation saved", saved.includes("Modifications enregistrées"), sp.url());
  await visit(sp, `/t/${territory}/`);
  const pub = await sp.locator("body").textContent();
  check("the public page shows the new phone", pub.includes("03 21 99 88 77"), "");

  await visit(sp, `/admin/t/${territory}/presentation`);
  await sp.fill("#contact_email", "pas-un-courriel");
  await Promise.all([sp.waitForNavigation(), sp.getByRole("button", { name: "Enregistrer", exact: true }).click()]);
  const summary = await sp.locator(".error-summary").count();
  const kept = await sp.inputValue("#contact_email");
  const invalid = await sp.getAttribute("#contact_email", "aria-invalid");
  check("a refused form keeps what was typed", summary === 1 && kept === "pas-un-courriel" && invalid === "true",
    `summary=${summary} value=${kept} aria-invalid=${invalid}`);
  await audit(sp, `${base}/admin/t/${territory}/presentation (erreurs)`);

  if (process.env.CONTRACT_ID) {
    // The action plan's back office.
    const c = process.env.CONTRACT_ID;
    for (const path of [`/admin/t/${territory}/contrats/${c}`, `/admin/t/${territory}/contrats/${c}/plan`,
                        `/admin/t/${territory}/partenaires`]) {
      await visit(sp, path);
      await audit(sp);
    }
    await visit(sp, `/admin/t/${territory}/contrats/${c}/plan`);
    await Promise.all([sp.waitForNavigation(),
      sp.getByRole("link", { name: "Médiateurs santé : permanences sans rendez-vous" }).click()]);
    await audit(sp);
    await sp.fill("#progress", "cent vingt");
    await Promise.all([sp.waitForNavigation(), sp.getByRole("button", { name: "Enregistrer la fiche" }).click()]);
    const kept = await sp.inputValue("#progress");
    check("a refused fiche keeps what was typed", kept === "cent vingt" && (await sp.locator(".error-summary").count()) === 1, kept);
    await audit(sp, `${base}/admin/t/${territory}/actions (erreurs)`);
  }
  await staff.close();

  // Keyboard only: from the territory home to a registration's confirmation.
  if (process.env.EVENT_ID) {
    const kb = await newContext(browser);
    const kp = await kb.newPage();
    await visit(kp, `/t/${territory}/`);
    const tabTo = async (test, max = 120) => {
      for (let i = 0; i < max; i++) {
        await kp.keyboard.press("Tab");
        if (await kp.evaluate(test)) return true;
      }
      return false;
    };
    const toEvent = await tabTo(() => (document.activeElement.getAttribute("href") || "").includes("/evenements/"));
    if (toEvent) {
      await Promise.all([kp.waitForNavigation(), kp.keyboard.press("Enter")]);
    }
    const toName = await tabTo(() => document.activeElement.name === "name");
    if (toName) {
      await kp.keyboard.type("Camille Martin");
      await tabTo(() => document.activeElement.name === "email", 5);
      await kp.keyboard.type("camille.martin@exemple.test");
      await tabTo(() => document.activeElement.id === "consent", 10);
      await kp.keyboard.press("Space");
      await tabTo(() => document.activeElement.type === "submit" && /inscri/i.test(document.activeElement.textContent), 30);
      await Promise.all([kp.waitForNavigation(), kp.keyboard.press("Enter")]);
    }
    const confirmation = (await kp.locator("main").textContent()) || "";
    check("keyboard only: a registration from the territory home to the confirmation",
      toEvent && toName && /Votre inscription est confirmée|liste d’attente/.test(confirmation),
      `event=${toEvent} name=${toName} url=${kp.url()} ${confirmation.slice(0, 160)}`);
    await kb.close();
  }

  // The layout crawl: every public page reachable from the territory home,
  // and the main back-office pages, at 390 and 1366 px.
  const shots = process.env.SCREENSHOTS;
  const publicRows = await crawl(browser, {
    base, start: [`/t/${territory}/`], prefix: `/t/${territory}/`, follow: true, max: 120,
    screenshots: shots && `${shots}/public`,
  });
  const adminPaths = ["/admin/", `/admin/t/${territory}/`, `/admin/t/${territory}/presentation`,
    `/admin/t/${territory}/perimetre`, `/admin/t/${territory}/comptes`, `/admin/t/${territory}/agenda`,
    `/admin/t/${territory}/annuaire`, `/admin/t/${territory}/participation`, `/admin/t/${territory}/contrats`,
    `/admin/t/${territory}/partenaires`,
    // The regional view (issue 13): public pages, crawled signed in.
    "/region/", "/region/indicateurs", "/region/indicateurs/1", "/region/agenda"];
  if (process.env.REGIONAL_EVENT_ID) adminPaths.push(`/region/agenda/${process.env.REGIONAL_EVENT_ID}`);
  if (process.env.CONTRACT_ID) {
    adminPaths.push(`/admin/t/${territory}/contrats/${process.env.CONTRACT_ID}`,
      `/admin/t/${territory}/contrats/${process.env.CONTRACT_ID}/plan`);
  }
  if (process.env.EVENT_ID) adminPaths.push(`/admin/t/${territory}/evenements/${process.env.EVENT_ID}`);
  // Evaluation (issue 12): reviews, appraisal, reports, attendance, the diagnosis' years.
  adminPaths.push(`/admin/t/${territory}/diagnostic`, `/admin/t/${territory}/bilans`, `/admin/t/${territory}/envois`, `/admin/t/${territory}/activite`);
  // Referrals (issue 16): the list with its counts and settings, and the form from a directory entry.
  adminPaths.push(`/admin/t/${territory}/orientations`, `/admin/t/${territory}/orientations/nouvelle?fiche=etablissement:620000011`);
  if (process.env.CONTRACT_ID && process.env.REVIEW_YEAR) {
    const c = `/admin/t/${territory}/contrats/${process.env.CONTRACT_ID}`;
    const y = process.env.REVIEW_YEAR;
    adminPaths.push(`${c}/bilans/${y}`, `${c}/evaluation`, `${c}/rapports`, `${c}/rapports/bilan-${y}.html`,
      `${c}/rapports/evaluation.html`, `/admin/t/${territory}/actions/${process.env.ACTION_ID}/bilan/${y}`);
  }
  if (process.env.SERIES_ID) {
    const s = `/admin/t/${territory}/permanences/${process.env.SERIES_ID}/frequentation`;
    adminPaths.push(s, `${s}/${process.env.HELD_ON}`);
  }
  const adminRows = await crawl(browser, {
    base, start: adminPaths, prefix: "/admin/", follow: false,
    screenshots: shots && `${shots}/admin`,
    login: async (p) => {
      await p.goto(base + "/admin/connexion");
      await p.fill("#email", email);
      await p.fill("#password", password);
      await Promise.all([p.waitForNavigation(), p.getByRole("button", { name: "Se connecter" }).click()]);
    },
  });
  report.layout = [...publicRows, ...adminRows];
  report.layout_summary = { public: layoutSummary(publicRows), admin: layoutSummary(adminRows) };
} catch (err) {
  // A crash (not a failed check): the error on stderr, what was gathered so
  // far on stdout, and a non-zero exit.
  console.error(err && err.stack ? err.stack : String(err));
  exitCode = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exitCode = exitCode;
