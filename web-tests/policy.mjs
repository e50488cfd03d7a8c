// Every page runs under the console's Content-Security-Policy: anything it blocks (an inline
// script, style or handler) is reported through the page's console and collected here; the
// walks fail when any was.
export const violations = [];

export async function watchPolicy(context) {
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
  });
}

export function watchConsole(p) {
  p.on("console", (m) => { if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text()); });
}

// What every walk shares: a check that logs what held or throws what did not, and headless
// Debian Chromium (never a downloaded browser).
export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

export async function launch(chromium) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
