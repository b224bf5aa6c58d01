import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (no browser is ever downloaded: `.ci/run` installs the `chromium` package
 * when it is missing). CHROMIUM_PATH names another binary.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath))
    throw new Error(
      `no Chromium at ${executablePath}: install it (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary`,
    );
  // Headless, and without the sandbox: the tests may run as root (CI, containers).
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
