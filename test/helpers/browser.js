"use strict";
/**
 * Playwright makes a fresh, empty profile for each launch.
 * Headless Debian Chromium driven by playwright-core, against a real Node-RED editor.
 * Every console error and page error is collected: a test fails on any of them,
 * because one script error in one node's HTML breaks the whole editor.
 */
const fs = require("node:fs");
const path = require("node:path");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SCREENSHOT_DIR = path.join(__dirname, "..", "..", "test-output", "screenshots");

async function launchBrowser() {
  const { chromium } = require("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return browser;
}

/** Opens a page that records console errors and uncaught page errors. */
async function newPage(browser, { width = 1400, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`http ${r.status()}: ${r.url()}`);
  });
  return { page, errors };
}

/** Loads the editor and waits until the palette is populated and the workspace drawn. */
async function openEditor(page, url) {
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".red-ui-palette-node", { timeout: 30000 });
  await page.waitForSelector("#red-ui-workspace-chart svg", { timeout: 30000 });
}

async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

module.exports = { launchBrowser, newPage, openEditor, screenshot, SCREENSHOT_DIR };
