// The admin console in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): staff login, search, filter, edit, delete with confirmation, on a desktop
// and on a phone-sized viewport, by keyboard where a person would use one. With
// CASTERA_SCREENSHOTS=<dir> it also saves the index, a list and a change page of each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startCastera } from './castera.mjs';

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844, isMobile: true, hasTouch: true },
};

let castera;
let browser;

before(async () => {
  castera = await startCastera();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await castera?.stop();
});

async function signIn(page) {
  await page.goto(castera.url + '/admin/meetings/meeting/');
  assert.match(page.url(), /\/admin\/login\/\?next=/);
  // By keyboard: the email field has the focus, Tab goes to the password, Enter submits.
  await page.waitForFunction(() => document.activeElement?.id === 'id_username');
  await page.keyboard.type(castera.staff.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(castera.staff.password);
  await page.keyboard.press('Enter');
  await page.waitForURL(castera.url + '/admin/meetings/meeting/');
}

async function screenshot(page, name, viewport) {
  const dir = process.env.CASTERA_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/admin-${name}-${viewport}.png`, fullPage: true });
}

for (const [viewport, options] of Object.entries(VIEWPORTS)) {
  test(`staff sign in, search, filter, edit and delete (${viewport})`, async () => {
    const context = await browser.newContext({ viewport: { width: options.width, height: options.height },
                                               isMobile: options.isMobile, hasTouch: options.hasTouch });
    const page = await context.newPage();
    const tag = `${viewport}-${Date.now()}`;
    const kept = await castera.api('POST', '/api/meetings/', {
      title: `Roadmap ${tag}`, description: 'Quarterly planning', scheduled_date: '2030-03-01T09:00:00Z' });
    const ended = await castera.api('POST', '/api/meetings/', {
      title: `Retro ${tag}`, scheduled_date: '2030-02-01T09:00:00Z', status: 'ended' });
    await castera.api('POST', `/api/meetings/${kept.id}/messages/`, { content: 'See the doc for the agenda.' });
    await castera.api('POST', `/api/meetings/${kept.id}/recordings/`, { file_url: 'https://files.example.com/roadmap.webm' });

    await signIn(page);
    await page.goto(castera.url + '/admin/');
    assert.equal(await page.locator('h1').textContent(), 'Site administration');

    // Search: type in the search box, press Enter.
    await page.goto(castera.url + '/admin/meetings/meeting/');
    await page.locator('#searchbar').fill(tag);
    await page.locator('#searchbar').press('Enter');
    await page.waitForURL(/\?q=/);
    const titles = await page.locator('#result_list tbody th a').allTextContents();
    assert.deepEqual(titles.sort(), [`Retro ${tag}`, `Roadmap ${tag}`]);
    await screenshot(page, 'list', viewport);

    // Filter: the sidebar's "Ended" keeps the search.
    await page.getByRole('link', { name: 'Ended', exact: true }).click();
    await page.waitForURL(/status__exact=ended/);
    assert.deepEqual(await page.locator('#result_list tbody th a').allTextContents(), [`Retro ${tag}`]);

    // Edit: open the meeting, change its title, save.
    await page.goto(castera.url + `/admin/meetings/meeting/?q=${encodeURIComponent(tag)}`);
    await page.getByRole('link', { name: `Roadmap ${tag}` }).click();
    await page.waitForURL(new RegExp(`/admin/meetings/meeting/${kept.id}/change/$`));
    assert.ok(await page.getByText('See the doc for the agenda.').isVisible());
    await screenshot(page, 'change', viewport);
    await page.locator('#id_title').fill(`Roadmap ${tag} (v2)`);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(castera.url + '/admin/meetings/meeting/');
    assert.match(await page.locator('.messagelist li').textContent(), /was changed successfully/);
    assert.equal((await castera.api('GET', `/api/meetings/${kept.id}/`)).title, `Roadmap ${tag} (v2)`);

    // A blank title comes back with the error beside the field.
    await page.goto(castera.url + `/admin/meetings/meeting/${kept.id}/change/`);
    await page.locator('#id_title').fill('');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    assert.equal(await page.locator('#id_title_error li').textContent(), 'This field may not be blank.');

    // Delete, with the confirmation page first.
    await page.goto(castera.url + `/admin/meetings/meeting/${ended.id}/change/`);
    await page.getByRole('link', { name: 'Delete' }).click();
    await page.waitForURL(/\/delete\/$/);
    assert.equal(await page.locator('h1').textContent(), 'Are you sure?');
    assert.equal((await castera.api('GET', `/api/meetings/${ended.id}/`, undefined, true)).status, 200);
    await page.getByRole('button', { name: 'Yes, I’m sure' }).click();
    await page.waitForURL(castera.url + '/admin/meetings/meeting/');
    assert.match(await page.locator('.messagelist li').textContent(), /was deleted successfully/);
    assert.equal((await castera.api('GET', `/api/meetings/${ended.id}/`, undefined, true)).status, 404);

    // The index's recent actions show what was just done.
    await page.goto(castera.url + '/admin/');
    assert.ok(await page.getByRole('link', { name: `Roadmap ${tag} (v2)` }).first().isVisible());
    await screenshot(page, 'index', viewport);

    // Nothing on the page is wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the list is ${overflow}px wider than the ${viewport} screen`);
    await context.close();
  });
}

test('every form control can be reached by the keyboard with a visible focus', async () => {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  await signIn(page);
  await page.goto(castera.url + '/admin/meetings/meeting/add/');
  const seen = new Set();
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;  // past the last control
      const style = getComputedStyle(el);
      return { name: el.name || el.textContent.trim(), outline: style.outlineStyle };
    });
    if (!focused) break;
    seen.add(focused.name);
    assert.notEqual(focused.outline, 'none', `no visible focus on ${focused.name}`);
  }
  for (const field of ['user', 'title', 'description', 'type_of', 'scheduled_date', 'status', '_save'])
    assert.ok(seen.has(field), `${field} is not reachable by Tab: ${[...seen]}`);
  await context.close();
});
