// Live agent pages in headless Debian Chromium: the agent keeps a case page open with a
// reply half typed; a supervisor, signed in in a second browser context, replies on the same
// case; the reply appears on the agent's page without a reload, with an "updated" marker,
// and what the agent typed is still there. Then the case is assigned to the agent over the
// API and her queue marks the row as updated, live too. Times are shown in the time zone
// chosen on the profile.
// Usage: node live.mjs BASE_URL OUT_DIR
//   (env: WALK_USER, WALK_OTHER, WALK_PASSWORD, WALK_CASE (a number), WALK_QUEUED_CASE
//    (the number of a case waiting in the agent's team queue), WALK_QUEUED_CASE_ID,
//    WALK_OTHER_TOKEN)
// Exits non-zero with the step that failed. Never downloads a browser.
import { chromium } from "playwright-core";
import path from "node:path";
import { check, launch, violations, watchConsole, watchPolicy } from "./policy.mjs";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node live.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
const user = process.env.WALK_USER ?? "ana";
const other = process.env.WALK_OTHER ?? "sam";
const password = process.env.WALK_PASSWORD ?? "ladder-demo-1";
const caseNumber = process.env.WALK_CASE;
const queuedNumber = process.env.WALK_QUEUED_CASE;
const queuedId = process.env.WALK_QUEUED_CASE_ID;
const otherToken = process.env.WALK_OTHER_TOKEN;

const browser = await launch(chromium);
try {
  async function session(name, timezoneId) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId });
    await watchPolicy(context);
    const p = await context.newPage();
    watchConsole(p);
    await p.goto(base + "/login");
    await p.getByLabel("User name").fill(name);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/queue");
    return p;
  }

  // The agent's browser is in Tokyo; she chooses New York on her profile.
  const page = await session(user, "Asia/Tokyo");
  await page.goto(base + "/profile");
  await page.getByLabel("Time zone (an IANA name, e.g. America/New_York)").fill("America/New_York");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await page.waitForURL("**/profile");
  check(await page.getByText("Times are now shown in America/New_York.").isVisible(), "the time zone is saved on the profile");

  await page.goto(`${base}/cases/${caseNumber}`);
  await page.locator("body[data-live='open']").waitFor({ state: "attached", timeout: 10000 });
  check(true, "the case page listens live");
  const stamp = await page.locator(".timeline time").first().textContent();
  check(/E[SD]T$/.test(stamp.trim()), `times on the case page are in the chosen zone (${stamp.trim()})`);
  await page.getByLabel("Reply (the customer sees this)").fill("Half typed, not sent");

  // Another session replies on the same case.
  const boss = await session(other, "UTC");
  await boss.goto(`${base}/cases/${caseNumber}`);
  await boss.getByLabel("Reply (the customer sees this)").fill("The engineer is on the way.");
  await boss.getByRole("button", { name: "Send reply" }).click();
  await boss.waitForURL(`**/cases/${caseNumber}`);

  await page.locator("#timeline").getByText("The engineer is on the way.").waitFor({ timeout: 10000 });
  check(true, "the other session's reply appears on the agent's case page without a reload");
  const marker = await page.locator("#live-updated").textContent();
  check(/new message/.test(marker), `an "updated" marker says what changed (${marker})`);
  check(await page.getByLabel("Reply (the customer sees this)").inputValue() === "Half typed, not sent", "what the agent was typing is kept");
  check(await page.locator("#timeline li.arrived").count() >= 1, "the new entry is marked as arrived");
  await page.screenshot({ path: path.join(out, "case-live.png") });

  // The queue: a waiting case is assigned to the agent over the API; its row moves to her
  // cases, marked as updated.
  await page.goto(base + "/queue");
  check(await page.locator(`#queue-live tr[data-case='${queuedNumber}']`).count() === 1, "the waiting case is in the team queue");
  await page.locator("body[data-live='open']").waitFor({ state: "attached", timeout: 10000 });
  const r = await fetch(`${base}/api/v1/cases/${queuedId}/assign`, {
    method: "POST",
    headers: { "authorization": `Bearer ${otherToken}`, "content-type": "application/json" },
    body: JSON.stringify({ assignee: user }),
  });
  check(r.ok, `the case is assigned over the API (${r.status})`);
  await page.locator(`#queue-live tr.updated[data-case='${queuedNumber}']`).first().waitFor({ timeout: 10000 });
  check(true, "the queue shows the reassigned case live, marked as updated");
  check(/#\d+ (changed|arrived)/.test(await page.locator("#live-updated").textContent()), "the queue's marker names the case");
  await page.screenshot({ path: path.join(out, "queue-live.png") });

  check(violations.length === 0, `no Content-Security-Policy violations (${violations.join("; ")})`);
} finally {
  await browser.close();
}
