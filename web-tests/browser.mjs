// What every walk shares: a step's check, and headless Debian Chromium with a first page that
// reports Content-Security-Policy violations (./policy.mjs). Never downloads a browser.
import { chromium } from "playwright-core";
import { watchConsole, watchPolicy } from "./policy.mjs";

export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

export async function launch(viewport = { width: 1280, height: 800 }) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport });
  await watchPolicy(context);
  const page = await context.newPage();
  watchConsole(page);
  return { browser, context, page };
}
