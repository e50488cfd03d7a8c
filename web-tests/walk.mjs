// The agent's walk through the console in headless Debian Chromium.
// Usage: node walk.mjs BASE_URL OUT_DIR   (env: WALK_USER, WALK_PASSWORD, WALK_FOREIGN_CASE)
// Exits non-zero with the step that failed. Never downloads a browser.
import { chromium } from "playwright-core";
import path from "node:path";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node walk.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
const user = process.env.WALK_USER ?? "ana";
const password = process.env.WALK_PASSWORD ?? "ladder-demo";
const foreignCase = process.env.WALK_FOREIGN_CASE;

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // Everything comes from the server: no request may leave it.
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });

  await page.goto(base + "/");
  check(new URL(page.url()).pathname === "/login", "signed out, / lands on the login page");
  await page.screenshot({ path: path.join(out, "login.png") });

  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/queue");
  check(await page.getByRole("heading", { level: 1, name: "My queue" }).isVisible(), "the queue page after signing in");
  check(await page.locator("table.cases tbody tr").count() >= 3, "the team's waiting cases are listed");
  await page.screenshot({ path: path.join(out, "queue.png") });

  // Keyboard: the skip link is the first stop and leads to the content.
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.textContent) === "Skip to content", "the skip link comes first");

  await page.getByRole("button", { name: "Take next" }).first().click();
  await page.waitForURL(/\/cases\/\d+$/);
  const caseUrl = page.url();
  check(await page.getByText(/is now yours/).isVisible(), "take next opens a case that is now mine");

  await page.getByText("Escalate", { exact: true }).first().click();
  await page.getByLabel("Functional (a team with the skill)").check();
  await page.getByLabel("To team").selectOption("billing");
  await page.getByLabel("Reason (required)").fill("Billing must correct the invoice");
  await page.getByLabel("What was tried").fill("Explained the charges; reset the plan");
  await page.getByRole("button", { name: "Escalate", exact: true }).click();
  await page.waitForURL(caseUrl);
  check(await page.getByRole("status").filter({ hasText: "Escalated." }).isVisible(), "the page confirms the escalation");
  const entry = page.locator("li.event.escalated").last();
  check((await entry.textContent()).includes("Billing must correct the invoice"), "the timeline shows the reason");
  check((await entry.textContent()).includes("Explained the charges"), "the timeline shows what was tried");
  await page.screenshot({ path: path.join(out, "case.png"), fullPage: false });

  if (foreignCase) {
    const r = await page.goto(`${base}/cases/${foreignCase}`);
    check(r.status() === 403, `another team's case #${foreignCase} is refused (403)`);
  }
  const admin = await page.goto(base + "/admin");
  check(admin.status() === 403, "an admin page is refused (403)");

  const forged = await page.request.post(caseUrl + "/note", { form: { body: "forged" } });
  check(forged.status() === 403, "a post without the CSRF token is refused (403)");

  await page.goto(base + "/queue");
  const cookies = await context.cookies();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL("**/login");
  check(true, "sign out lands on the login page");
  await context.addCookies(cookies.filter((c) => c.name === "ladder_session"));
  await page.goto(base + "/queue");
  check(new URL(page.url()).pathname === "/login", "the old session cookie no longer opens the queue");
  check(outside.length === 0, `no request left the server (${outside.join(", ")})`);
} finally {
  await browser.close();
}
