// Opens the built reference site (dist/index.html, from `npm run docs`) in a real Chromium and
// checks what a partner reading it would notice: the API's title, every operation of the
// contract in the sidebar and in the page, every webhook in its own group, no errors, and
// nothing loaded from the internet.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedChromium, launchChromium } from './support/chromium.ts';
import { type DocumentedOperation, type DocumentedWebhook, readContract } from './support/contract.ts';
import { type StaticServer, serveDirectory } from './support/static-server.ts';

const distDirectory = fileURLToPath(new URL('../dist/', import.meta.url));
const screenshotPath = fileURLToPath(new URL('../test-results/docs.png', import.meta.url));
const { title, operations, webhooks, guides } = await readContract();

/** Redoc's anchor for an operation: `#/<tag>/<operationId in lower case>`. */
const anchorOf = (operationId: string) => `/${operationId.toLowerCase()}`;

describe('docs site', () => {
  let server: StaticServer;
  let chromium: LaunchedChromium;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const requestedUrls: string[] = [];

  beforeAll(async () => {
    if (!existsSync(`${distDirectory}index.html`)) {
      throw new Error(`${distDirectory}index.html is missing: build the site first with \`npm run docs\``);
    }
    server = await serveDirectory(distDirectory);
    chromium = await launchChromium();
    // Listen on the context, not the page, so requests from workers are seen too.
    chromium.context.on('request', (request) => requestedUrls.push(request.url()));
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
    });

    await page.goto(`${server.origin}/`, { waitUntil: 'load', timeout: 30_000 });
    await waitForHydration(page);
  }, 90_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it("is titled with the API's title", async () => {
    expect(await page.title()).toBe(title);
    await expect(page.locator('h1').first().textContent()).resolves.toContain(title);
  });

  it.each(operations)(
    'shows $operationId ($method $path) in the sidebar and in the page',
    async (operation) => {
      const sidebarLink = await openOperation(page, operation);
      // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node: innerText is the text a reader sees
      expect(await sidebarLink.innerText()).toContain(operation.summary);
      const heading = page.locator(`[data-section-id$="${anchorOf(operation.operationId)}"] h2`).first();
      await heading.waitFor({ state: 'visible' });
      expect((await heading.textContent())?.trim()).toBe(operation.summary);
    },
    60_000,
  );

  it.each(webhooks)(
    'shows the $name webhook in the sidebar group of its tag ($tag) and in the page, marked as a webhook',
    async (webhook) => {
      const sidebarLink = await openWebhook(page, webhook);
      // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node: innerText is the text a reader sees
      expect(await sidebarLink.innerText()).toContain(webhook.summary);
      const heading = page.locator(`[data-section-id$="${webhookAnchor(webhook.name)}"] h2`).first();
      await heading.waitFor({ state: 'visible' });
      // Redoc titles it with the summary and a "Webhook" badge, which tells it from an operation.
      expect((await heading.textContent())?.trim()).toBe(`${webhook.summary}Webhook`);
    },
    60_000,
  );

  it.each(guides)("lists the sections of the $tag tag's guide in its sidebar group", async ({ tag, headings }) => {
    const group = await openGroup(page, tag);
    for (const heading of headings) await group.getByRole('link', { name: heading, exact: true }).waitFor({ state: 'visible' });
  });

  it('saves a full-page screenshot of the first tag', async () => {
    const [first] = operations;
    if (!first) throw new Error('the contract has no operations');
    await openOperation(page, first);
    await renderWholePage(page);
    await mkdir(fileURLToPath(new URL('../test-results/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true, timeout: 30_000 });
    expect(existsSync(screenshotPath)).toBe(true);
  }, 60_000);

  // Runs last, so it covers everything the tests above made the page do.
  it('loads nothing from outside 127.0.0.1 and reports no errors', () => {
    const offHost = requestedUrls.filter((url) => {
      const { protocol, hostname } = new URL(url);
      return !(protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1');
    });
    expect(offHost, 'requests that left 127.0.0.1').toEqual([]);
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    expect(consoleErrors, 'console errors').toEqual([]);
  });
});

/**
 * Opens an operation the way a reader does: opens its tag's group in the sidebar if needed,
 * then follows the operation's link, which must point at Redoc's anchor for its operationId.
 */
async function openOperation(page: Page, { operationId, tag }: DocumentedOperation): Promise<Locator> {
  const sidebar = page.locator('.menu-content');
  const link = sidebar.locator(`a[href$="${anchorOf(operationId)}"]`);
  // On a busy machine a click can land while the group is still expanding (or toggle it shut
  // again), so a reader's retry is allowed: up to three tries, each bounded.
  for (let attempt = 1; ; attempt++) {
    try {
      // Redoc lists a tag's operations only while its group is open, and one group at a time.
      if (!(await link.isVisible())) await sidebar.getByRole('link', { name: tag, exact: true }).click();
      await link.waitFor({ state: 'visible', timeout: 5_000 });
      await link.click();
      await page.waitForURL((url) => url.hash.endsWith(anchorOf(operationId)), { timeout: 8_000 });
      return link;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** Redoc's anchor for a webhook (which has no operationId): `#/<tag>/paths/<name>/post`. */
const webhookAnchor = (name: string) => `/paths/${name}/post`;

/**
 * Opens a webhook from its tag's group in the sidebar. The group is found by its link
 * (`/<tag in kebab case>`), not by its name: the introduction's "## Webhooks" section is a
 * sidebar link of the same name.
 */
async function openWebhook(page: Page, { name, tag }: DocumentedWebhook): Promise<Locator> {
  const group = groupOf(page, tag);
  const link = group.locator(`a[href$="${webhookAnchor(name)}"]`);
  for (let attempt = 1; ; attempt++) {
    try {
      if (!(await link.isVisible())) await group.locator(`a[href="${groupHref(tag)}"]`).click();
      await link.waitFor({ state: 'visible', timeout: 5_000 });
      await link.click();
      await page.waitForURL((url) => url.hash.endsWith(webhookAnchor(name)), { timeout: 8_000 });
      return link;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

const groupHref = (tag: string) => `/${tag.toLowerCase().replaceAll(' ', '-')}`;

/** A tag's sidebar group: its link and the items under it. */
function groupOf(page: Page, tag: string): Locator {
  return page.locator('.menu-content [role="listitem"].menu-item-type-group').filter({ has: page.locator(`a[href="${groupHref(tag)}"]`) });
}

/** Opens a tag's sidebar group (following its link, which also scrolls to the tag's description). */
async function openGroup(page: Page, tag: string): Promise<Locator> {
  const group = groupOf(page, tag);
  await group.locator(`a[href="${groupHref(tag)}"]`).click();
  await page.waitForURL((url) => url.hash.endsWith(groupHref(tag)), { timeout: 8_000 });
  return group;
}

/**
 * Redoc renders the page on the server and then hydrates it. Until React has attached its
 * handlers, a click on a sidebar link follows the server-rendered href instead of Redoc's
 * router, so wait until React has claimed the sidebar's links (it tags each DOM node it
 * hydrates with a `__reactProps$…` key; there is no public "ready" event).
 */
async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const link = document.querySelector('.menu-content a');
      return link !== null && Object.keys(link).some((key) => key.startsWith('__reactProps$'));
    },
    undefined,
    { timeout: 30_000 },
  );
}

/**
 * Makes a full-page screenshot show the whole page. Redoc mounts operations lazily as they
 * scroll into view, so scroll to the end first; and it styles sections with
 * `content-visibility: auto`, so Chromium skips painting the ones outside the viewport and a
 * full-page screenshot shows them blank unless that is switched off.
 */
async function renderWholePage(page: Page): Promise<void> {
  for (let step = 0; step < 200; step++) {
    const moved = await page.evaluate(() => {
      const before = window.scrollY;
      window.scrollBy(0, window.innerHeight);
      return window.scrollY !== before;
    });
    if (!moved) break;
    await page.waitForTimeout(100);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.addStyleTag({ content: '* { content-visibility: visible !important; }' });
}
