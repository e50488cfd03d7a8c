// The manager's walk through the console in headless Debian Chromium: the dashboard's
// figures follow a case escalated and resolved (through the API), and the matrix editor's
// live lint shows an error's line and column, then a fixed draft is saved with its diff.
// Usage: node manager.mjs BASE_URL OUT_DIR
//   env: WALK_USER, WALK_PASSWORD (a manager), WALK_CASE (a case id), WALK_AGENT_TOKEN and
//   WALK_MANAGER_TOKEN (API tokens to escalate and resolve it), WALK_ADMIN, WALK_ADMIN_PASSWORD.
// Exits non-zero with the step that failed. Never downloads a browser.
import { chromium } from "playwright-core";
import path from "node:path";
import { violations, watchConsole, watchPolicy } from "./policy.mjs";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node manager.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
const env = (name) => {
  const v = process.env[name];
  if (!v) { console.error(`${name} is not set`); process.exit(2); }
  return v;
};

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function api(token, method, url, body) {
  const r = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  check(r.ok, `${method} ${url} answers ${r.status}`);
  return r.json();
}

async function signIn(page, user, password) {
  await page.goto(base + "/login");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/queue");
}


const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await watchPolicy(context);
  const page = await context.newPage();
  watchConsole(page);
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });

  await signIn(page, env("WALK_USER"), env("WALK_PASSWORD"));
  await page.getByRole("link", { name: "Dashboard" }).click();
  await page.waitForURL("**/dashboard");
  check(await page.getByRole("heading", { level: 1, name: "Dashboard" }).isVisible(), "the dashboard opens from the nav");
  const rate = page.locator("#stat-escalation-rate");
  check(await rate.textContent() === "0.0 %", "no case escalated yet: 0.0 %");
  check(await page.locator("svg.chart[role=img]").count() >= 8, "the charts are SVG images");

  // An agent escalates the case to the manager, who resolves it (through the API).
  const id = env("WALK_CASE");
  await api(env("WALK_AGENT_TOKEN"), "POST", `/api/v1/cases/${id}/escalate`, {
    kind: "hierarchical", to_level: "L3", to_team: "management", to_user: "maria", initiator: "customer",
    reason: "customer asked for a manager",
  });
  await api(env("WALK_MANAGER_TOKEN"), "POST", `/api/v1/cases/${id}/resolve`, { code: "refunded" });
  await page.reload();
  check(await rate.textContent() === "100.0 %", "after the escalation, the rate is 100.0 %");
  check(await page.locator("#stat-resolved").textContent() === "1", "and one case is resolved");
  await page.screenshot({ path: path.join(out, "dashboard.png"), fullPage: true });

  // The matrix editor, as an admin.
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, env("WALK_ADMIN"), env("WALK_ADMIN_PASSWORD"));
  await page.goto(base + "/matrix");
  await page.getByRole("link", { name: "New draft" }).click();
  await page.waitForURL("**/matrix/edit");
  const source = page.getByLabel("TOML (lint runs as you type)");
  const valid = await source.inputValue();
  await source.fill(valid + '\n[[levels]]\nid = "L4"\nteams = ["nowhere"]\n');
  const lint = page.locator("#lint li.error");
  await lint.first().waitFor({ timeout: 5000 });
  const message = await lint.first().textContent();
  check(/^line \d+, column \d+: error .*nowhere/.test(message), `live lint shows the line and column: ${message}`);

  await source.fill(valid + '\n[[rules]]\nname = "Billing to L2"\ntrigger = "case_opened"\n' +
    "when = 'case.category == \"billing\"'\nthen = { escalate = \"L2\", team = \"billing\", kind = \"functional\" }\n");
  // (A selector wait, not waitForFunction: that evaluates a string, which the CSP forbids.)
  await page.waitForSelector("#lint li.error", { state: "detached" });
  check(await page.locator("#lint-summary").textContent() === "0 error(s), 0 warning(s)", "the fixed text lints clean");
  await page.getByLabel("Draft name").fill("billing");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.waitForURL("**/matrix/edit?draft=billing");
  check(await page.getByRole("status").filter({ hasText: "Draft billing saved" }).isVisible(), "the draft is saved");
  check(await page.locator("#diff li").filter({ hasText: 'rule added: "Billing to L2"' }).isVisible(), "the diff shows the new rule");
  // Grouped by section, coloured by kind, from the stylesheet (the CSP allows no inline style).
  const added = page.locator("[data-section=rule] li.diff-added").filter({ hasText: 'rule added: "Billing to L2"' });
  check(await added.isVisible(), "the new rule is in the rules section, marked added");
  const colour = await added.evaluate((li) => getComputedStyle(li).backgroundColor);
  check(colour === "rgb(218, 251, 225)", `an added line is green (${colour})`);
  await page.screenshot({ path: path.join(out, "matrix.png"), fullPage: true });

  check(outside.length === 0, `no request left the server (${outside.join(", ")})`);
  check(violations.length === 0, `no Content-Security-Policy violation (${violations.join("; ")})`);
} finally {
  await browser.close();
}
