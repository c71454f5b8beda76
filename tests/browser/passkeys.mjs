// make browser-test: a real browser registers a passkey and logs in with it.
//
// Headless Chromium (Debian's, CHROMIUM) driven by playwright-core over CDP, with a virtual
// authenticator (CTAP2, internal transport, resident keys, user verification). The page is
// served here on http://localhost:PAGE_PORT; the API (API_BASE) allows that origin (CORS) and
// uses it as WebAuthn origin, with RP ID `localhost`. Exits non-zero on any failure.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const api = process.env.API_BASE;
const port = Number(process.env.PAGE_PORT);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!api || !port) throw new Error("API_BASE and PAGE_PORT are required");

const page = readFileSync(new URL("./index.html", import.meta.url));
const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(page);
});
await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));

const started = Date.now();
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const errors = [];
  tab.on("pageerror", (error) => errors.push(String(error)));
  const cdp = await context.newCDPSession(tab);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  await tab.goto(`http://localhost:${port}/`);
  const email = `browser-${Date.now()}@example.com`;
  const steps = await tab.evaluate(
    ([api, email]) => passkeyFlow(api, email, "a browser passphrase 42"),
    [api, email],
  );
  console.log("browser-test:", JSON.stringify(steps));
  const expected = {
    create: 201, login: 200, registration_options: 200, add: 201, recovery_codes: 10,
    login_options: 200, passkey_login: 200, home: 200, message: `hello ${email}`,
  };
  for (const [step, value] of Object.entries(expected)) {
    if (steps[step] !== value) {
      console.error(`browser-test: ${step} is ${JSON.stringify(steps[step])}, expected ${JSON.stringify(value)}`);
      failed = true;
    }
  }
  if (JSON.stringify(steps.amr) !== JSON.stringify(["hwk", "user", "mfa"])) {
    console.error(`browser-test: amr is ${JSON.stringify(steps.amr)}`);
    failed = true;
  }
  // The options asked for a resident (discoverable) key: the authenticator holds one.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    console.error("browser-test: expected one resident credential:", credentials);
    failed = true;
  }
  if (errors.length) {
    console.error("browser-test: page errors:", errors);
    failed = true;
  }
} catch (error) {
  console.error("browser-test:", error);
  failed = true;
} finally {
  await browser.close();
  server.close();
}
console.log(`browser-test: ${failed ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s (browser)`);
process.exit(failed ? 1 : 0);
