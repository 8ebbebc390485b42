import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium (`.ci/run` installs it when missing); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** How long a page may take to show what a test waits for: a bound on the wait, never a timing asserted. */
export const UI_WAIT_MS = 15_000;

/**
 * A real headless Chromium driven by playwright-core. `--no-sandbox`: CI runs as root, where Chromium's
 * sandbox refuses to start.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox"] });
}

/**
 * A fresh page (its own sessionStorage) whose console errors and uncaught exceptions are collected:
 * a test asserts none came (a CSP violation is a console error). An answer with an error status is
 * logged by Chromium too ("Failed to load resource"): those are the API's answers, which tests check
 * on the page itself.
 */
export async function newPage(
  browser: Browser,
  options: { colorScheme?: "light" | "dark"; viewport?: { width: number; height: number } } = {},
): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
  const context = await browser.newContext({ colorScheme: options.colorScheme, viewport: options.viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_WAIT_MS);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      errors.push(`console: ${message.text()}`);
  });
  return { page, context, errors };
}

/** The ids of the task rows shown, top to bottom. */
export const shownTaskIds = (page: Page): Promise<string[]> =>
  page.$$eval("tr[data-task-id]", (rows) => rows.map((row) => row.getAttribute("data-task-id")!));
