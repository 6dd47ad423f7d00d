// /api/docs/, the OpenAPI document's page, in headless Chromium: it renders every operation of
// /api/schema/ with no error and nothing fetched from elsewhere, on a laptop and a phone. With
// CASTERA_SCREENSHOTS=<dir> it saves docs/screenshots/api-docs.png's picture there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DESKTOP, PHONE, launchBrowser, startCastera } from './lib.mjs';

let castera;
let browser;

before(async () => {
  castera = await startCastera();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await castera?.stop();
});

async function openDocs(device) {
  const context = await browser.newContext(device);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => { if (!r.url().startsWith(castera.baseUrl)) problems.push(`fetched ${r.url()}`); });
  await page.goto(castera.baseUrl + '/api/docs/');
  await page.waitForSelector('article.op');
  return { context, page, problems };
}

for (const [name, device] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`the API's page renders every operation (${name})`, async () => {
    const { context, page, problems } = await openDocs(device);
    const schema = await (await fetch(castera.baseUrl + '/api/schema/')).json();
    const expected = Object.values(schema.paths)
      .flatMap((item) => ['get', 'post', 'put', 'patch', 'delete', 'options'].filter((m) => item[m])).length;
    assert.equal(await page.locator('article.op[id^="op-"]').count(), expected);
    assert.ok(await page.getByText('/api/meetings/{id}/set-status/').first().isVisible());
    assert.ok(await page.locator('#schema-Meeting').count());
    assert.ok(await page.locator('#credentials td code', { hasText: 'clerkJwt' }).count());
    // The nav links work: the first one scrolls its operation into view.
    await page.locator('nav a').first().click();
    assert.deepEqual(problems, []);
    if (process.env.CASTERA_SCREENSHOTS && name === 'desktop') {
      await page.goto(castera.baseUrl + '/api/docs/#op-post--api-meetings-');
      await page.waitForSelector('article.op');
      await page.screenshot({ path: path.join(process.env.CASTERA_SCREENSHOTS, 'api-docs.png') });
    }
    await context.close();
  });
}
