// Finding one's way in the console, in headless Debian Chromium: a deep link survives signing
// in, an unknown address renders a page, the header's search finds a case by phone (and not
// another team's), a refused form comes back with what was typed, and the shortcuts: `?`,
// `j`, `m` + Enter (a macro into the reply box) and Ctrl+Enter (send).
// Usage: node nav.mjs BASE_URL OUT_DIR
//   (env: NAV_USER, NAV_PASSWORD, NAV_CASE, NAV_PHONE, NAV_FOREIGN_CASE, NAV_MACRO_TEXT)
// Exits non-zero with the step that failed. Never downloads a browser.
import path from "node:path";
import { check, launch } from "./browser.mjs";
import { violations } from "./policy.mjs";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node nav.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const [user, password, caseNumber, phone, foreign, macroText] =
  ["NAV_USER", "NAV_PASSWORD", "NAV_CASE", "NAV_PHONE", "NAV_FOREIGN_CASE", "NAV_MACRO_TEXT"].map(env);

const { browser, page } = await launch();
try {
  const casePath = `/cases/${caseNumber}`;

  // A deep link, signed out: the sign-in page, then back to the case.
  await page.goto(base + casePath);
  check(new URL(page.url()).pathname === "/login", "a case link without a session asks to sign in");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**${casePath}`);
  check(new URL(page.url()).pathname === casePath, "signing in returns to the case asked for");

  // An unknown address: a page in the console's style, not problem+json.
  const missing = await page.goto(base + "/no/such/page");
  check(missing.status() === 404, "an unknown address answers 404");
  check((missing.headers()["content-type"] ?? "").startsWith("text/html"), "as an HTML page");
  check(await page.getByRole("heading", { name: "Page not found" }).isVisible(), "that says the page was not found");
  check(await page.getByRole("link", { name: "Back to my queue" }).isVisible(), "with a way back");

  // Search from the header, by phone number as people type it.
  await page.getByRole("searchbox", { name: "Search cases" }).fill(phone);
  await page.getByRole("searchbox", { name: "Search cases" }).press("Enter");
  await page.waitForURL("**/search?q=*");
  check(await page.locator(`a[href="${casePath}"]`).count() === 1, `searching ${phone} finds case #${caseNumber}`);
  check(await page.locator(`a[href="/cases/${foreign}"]`).count() === 0, "another team's case is not listed");
  await page.screenshot({ path: path.join(out, "search.png") });

  // A refused form keeps what was typed: a blank reason is refused by the server.
  await page.goto(base + casePath);
  await page.getByText("Escalate", { exact: true }).first().click();
  await page.getByLabel("Functional (a team with the skill)").check();
  await page.getByLabel("To team").selectOption("billing");
  await page.getByLabel("Reason").fill("   ");
  await page.getByLabel("What was tried").fill("Restarted the router twice");
  await page.getByRole("button", { name: "Escalate", exact: true }).click();
  // The refusal redirects back to this page: wait for the answer (the error beside its field,
  // which only the refused form's page has), not for the URL.
  const refused = await page.getByText(/^Reason: is required/).waitFor({ timeout: 10000 }).then(() => true, () => false);
  check(refused, "the error stands beside its field, in words");
  check(await page.locator("details#escalate").evaluate((d) => d.open), "the refused form comes back open");
  check(await page.getByLabel("What was tried").inputValue() === "Restarted the router twice", "with what was typed");
  check(await page.getByLabel("Functional (a team with the skill)").isChecked(), "and the choices made");
  check(await page.locator("label[for=esc-tried] .required-mark").isVisible(), "required fields are marked");
  await page.screenshot({ path: path.join(out, "refused-form.png") });

  // `?` shows the shortcuts; Escape hides them.
  await page.locator("main h1").click();
  await page.keyboard.press("?");
  check(await page.getByRole("dialog", { name: "Keyboard shortcuts" }).isVisible(), "? shows the shortcut help");
  await page.keyboard.press("Escape");
  check(!(await page.getByRole("dialog", { name: "Keyboard shortcuts" }).isVisible()), "Escape hides it");

  // `m`, a macro, Enter: its text, filled in, in the reply box; Ctrl+Enter sends it.
  await page.keyboard.press("m");
  check(await page.locator("#macro-pick").evaluate((e) => e === document.activeElement), "m focuses the macro list");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  const reply = page.getByLabel("Reply (the customer sees this)");
  check((await reply.inputValue()).includes(macroText), "Enter inserts the macro, filled in for the case");
  await reply.press("Control+Enter");
  const sent = await page.getByRole("status").filter({ hasText: "Reply sent" }).waitFor({ timeout: 10000 }).then(() => true, () => false);
  check(sent, "Ctrl+Enter sends the reply");

  // `j` moves to the next case of the queue last seen.
  await page.goto(base + "/queue");
  const order = await page.locator("table.cases td.subject a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
  check(order.length >= 2, "the queue lists cases");
  await page.goto(base + order[0]);
  await page.locator("main h1").click();
  await page.keyboard.press("j");
  await page.waitForURL(`**${order[1]}`);
  check(new URL(page.url()).pathname === order[1], "j opens the next case of the queue");

  check(violations.length === 0, `no Content-Security-Policy violation (${violations.join("; ")})`);
} finally {
  await browser.close();
}
