import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { requireBinary } from "./binaries";

/** Where tests leave their screenshots (test artifacts; CI keeps .tmp/). */
export const SCREENSHOT_DIR = join(process.cwd(), ".tmp", "screenshots");

/** Debian's Chromium (package `chromium`), headless, driven by playwright-core: never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireBinary("chromium", "chromium");
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves a full-page screenshot as .tmp/screenshots/NAME.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** True when the page is wider than its viewport (something overflows sideways). */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}
