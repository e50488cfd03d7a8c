// The walk through the console in headless Debian Chromium, across roles: the agent takes a
// case and asks for a credit above her limit; it appears live on the supervisor's board (open
// in a second browser context); the supervisor approves it in the inbox; the agent resolves
// the case, then takes the next one and escalates it, and the next with the escalate panel's
// defaults (the case keeps a team); denials; sign-out.
// Usage: node walk.mjs BASE_URL OUT_DIR
//   (env: WALK_USER, WALK_PASSWORD, WALK_SUPERVISOR, WALK_FOREIGN_CASE)
// Exits non-zero with the step that failed. Never downloads a browser.
import { chromium } from "playwright-core";
import path from "node:path";
import { violations, watchConsole, watchPolicy } from "./policy.mjs";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node walk.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
const user = process.env.WALK_USER ?? "ana";
const password = process.env.WALK_PASSWORD ?? "ladder-demo-1";
const supervisor = process.env.WALK_SUPERVISOR;
const foreignCase = process.env.WALK_FOREIGN_CASE;

// A form posted from a page answers with a redirect back to that same page, so waiting for its
// URL returns at once: wait for the confirmation itself (true), or give up after 10 s (false).
async function confirmed(page, text) {
  return page.getByRole("status").filter({ hasText: text }).waitFor({ timeout: 10000 }).then(() => true, () => false);
}

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
  await watchPolicy(context);
  const page = await context.newPage();
  watchConsole(page);
  // Everything comes from the server: no request may leave it.
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });

  const first = await page.goto(base + "/");
  check(new URL(page.url()).pathname === "/login", "signed out, / lands on the login page");
  check((first.headers()["content-security-policy"] ?? "").includes("script-src 'self'"), "the page has a strict Content-Security-Policy");
  await page.screenshot({ path: path.join(out, "login.png") });

  async function signIn(p, name) {
    await p.goto(base + "/login");
    await p.getByLabel("User name").fill(name);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/queue");
  }

  // The supervisor opens the board first, in a browser context of their own, and keeps it open.
  let boss = null;
  if (supervisor) {
    const bossContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await watchPolicy(bossContext);
    boss = await bossContext.newPage();
    watchConsole(boss);
    boss.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
    await signIn(boss, supervisor);
    await boss.getByRole("link", { name: "Board", exact: true }).click();
    await boss.waitForURL("**/board");
    await boss.locator('#board-rows[data-live="open"]').waitFor({ state: "attached", timeout: 10000 });
    check(true, `${supervisor}'s board is open and listening live`);
  }

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

  if (boss) {
    // The agent takes a case and grants a credit above her limit: it needs approval.
    await page.getByRole("button", { name: "Take next" }).first().click();
    await page.waitForURL(/\/cases\/\d+$/);
    const creditUrl = page.url();
    const number = creditUrl.split("/").pop();
    await page.getByLabel("Action", { exact: true }).selectOption("credit");
    await page.getByLabel("Amount (USD)", { exact: true }).fill("120");
    await page.getByLabel("Reason (the approver sees it)").fill("Charged twice in May");
    await page.getByRole("button", { name: "Grant" }).click();
    check(await confirmed(page, "approval requested from a supervisor"),
      "a credit above the agent's limit becomes a request for approval");

    // It arrives on the supervisor's board without a reload.
    const row = boss.locator(`#board-${number}.arrived`);
    await row.waitFor({ timeout: 10000 });
    check((await row.textContent()).includes("approval"), `case #${number} appeared live on the supervisor's board`);
    await boss.screenshot({ path: path.join(out, "board.png") });

    // The supervisor approves it in the inbox.
    await boss.getByRole("link", { name: "Approvals", exact: true }).click();
    await boss.waitForURL("**/approvals");
    const approve = boss.getByRole("button", { name: `Approve credit of 120.00 USD on case #${number}` });
    check(await approve.isVisible(), "the inbox lists the request with its decisions");
    await boss.screenshot({ path: path.join(out, "approvals.png") });
    await approve.click();
    check(await confirmed(boss, `Case #${number}: Approved.`), "the supervisor approved the credit");

    // The agent sees the credit applied and resolves the case.
    await page.reload();
    check(await page.locator("li.event.approval").filter({ hasText: "credit of 120.00 USD applied" }).isVisible(),
      "the case timeline shows the credit applied");
    await page.locator("summary", { hasText: "Resolve" }).click();
    await page.getByLabel("Resolution code (required)").fill("refunded");
    await page.getByRole("button", { name: "Resolve", exact: true }).click();
    check(await confirmed(page, "Resolved."), "the agent resolved the case");
    await page.goto(base + "/queue");
  }

  await page.getByRole("button", { name: "Take next" }).first().click();
  await page.waitForURL(/\/cases\/\d+$/);
  const caseUrl = page.url();
  check(await page.getByText(/is now yours/).isVisible(), "take next opens a case that is now mine");

  await page.getByText("Escalate", { exact: true }).first().click();
  await page.getByLabel("Functional (a team with the skill)").check();
  await page.getByLabel("To team").selectOption("billing");
  await page.getByLabel("Reason (required)").fill("Billing must correct the invoice");
  await page.getByLabel("What was tried").fill("Explained the charges; reset the plan");
  // The dialog offers skills to tick and people of the levels above with presence and load.
  check(await page.locator("#esc-skills input[type=checkbox]").count() > 0, "the escalate dialog offers skills");
  check((await page.locator("#esc-user option").allTextContents()).some((t) => / open$/.test(t)), "people with their open cases");
  await page.locator("details#escalate").screenshot({ path: path.join(out, "escalate.png") });
  await page.getByRole("button", { name: "Escalate", exact: true }).click();
  check(await confirmed(page, "Escalated."), "the page confirms the escalation");
  const entry = page.locator("li.event.escalated").last();
  check((await entry.textContent()).includes("Billing must correct the invoice"), "the timeline shows the reason");
  check((await entry.textContent()).includes("Explained the charges"), "the timeline shows what was tried");
  await page.screenshot({ path: path.join(out, "case.png"), fullPage: false });

  // The escalate panel sent as it comes (next level up, the team the ladder preselects)
  // never leaves the case without a team.
  await page.goto(base + "/queue");
  await page.getByRole("button", { name: "Take next" }).first().click();
  await page.waitForURL(/\/cases\/\d+$/);
  await page.getByText("Escalate", { exact: true }).first().click();
  await page.getByLabel("Reason (required)").fill("The customer wants a supervisor");
  await page.getByLabel("What was tried").fill("Explained the policy");
  await page.getByRole("button", { name: "Escalate", exact: true }).click();
  check(await confirmed(page, "Escalated."),
    `the default escalation is accepted (the page says: ${await page.locator("[role=status], [role=alert]").allTextContents()})`);
  const facts = (await page.locator("p.facts").textContent()).replace(/\s+/g, " ");
  check(facts.includes("Level L2") && !facts.includes("no team"), `the escalated case has a team: ${facts}`);

  if (foreignCase) {
    const r = await page.goto(`${base}/cases/${foreignCase}`);
    check(r.status() === 404, `another team's case #${foreignCase} is answered as not found (404)`);
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
  check(violations.length === 0, `no Content-Security-Policy violation (${violations.join("; ")})`);
} finally {
  await browser.close();
}
