// The admin console in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): staff login, search, filter, edit, delete with confirmation, and a failed
// webhook delivery sent again, on a desktop and on a phone-sized viewport, by keyboard where a
// person would use one. With CASTERA_SCREENSHOTS=<dir> it also saves the index, a list, a
// change page and the webhook deliveries of each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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

async function signIn(page, server = castera) {
  await page.goto(server.url + '/admin/meetings/meeting/');
  assert.match(page.url(), /\/admin\/login\/\?next=/);
  // By keyboard: the email field has the focus, Tab goes to the password, Enter submits.
  await page.waitForFunction(() => document.activeElement?.id === 'id_username');
  await page.keyboard.type(server.staff.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(server.staff.password);
  await page.keyboard.press('Enter');
  await page.waitForURL(server.url + '/admin/meetings/meeting/');
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

// A webhook receiver that refuses (500) the events of meetings named "Budget review" until
// told to take them, and takes every other one.
async function startReceiver() {
  const receiver = { refusing: true, received: [] };
  receiver.server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const refused = receiver.refusing && body.includes('Budget review');
      receiver.received.push({ body, refused });
      res.writeHead(refused ? 500 : 204).end();
    });
  });
  await new Promise((done) => receiver.server.listen(0, '127.0.0.1', done));
  receiver.url = `http://127.0.0.1:${receiver.server.address().port}/hooks`;
  return receiver;
}

async function waitFor(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a failed webhook delivery is sent again from the console (desktop and phone)', async () => {
  const receiver = await startReceiver();
  const hooked = await startCastera({
    CASTERA_WEBHOOK_URLS: receiver.url, CASTERA_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    CASTERA_WEBHOOK_RETRY_BASE_SECONDS: '0.2', CASTERA_WEBHOOK_TIMEOUT_SECONDS: '1',
    CASTERA_WEBHOOK_MAX_AGE_HOURS: '0.0003' });  // an event refused for about a second has failed
  const deliveries = async (status) => hooked.api('GET', `/api/webhooks/events/?status=${status}`);
  try {
    const standup = await hooked.api('POST', '/api/meetings/', { title: 'Team standup', scheduled_date: '2030-03-01T09:00:00Z' });
    await hooked.api('POST', `/api/meetings/${standup.id}/messages/`, { content: 'Notes are in the doc.' });
    await hooked.api('POST', '/api/meetings/', { title: 'Design review', scheduled_date: '2030-03-02T14:00:00Z' });
    for (const [viewport, options] of Object.entries(VIEWPORTS)) {
      receiver.refusing = true;
      const budget = await hooked.api('POST', '/api/meetings/', {
        title: `Budget review (${viewport})`, scheduled_date: '2030-03-03T10:00:00Z' });
      const failed = await waitFor('the refused event to fail', async () =>
        (await deliveries('failed')).find((e) => e.meeting === budget.id));
      await waitFor('the other events', async () => (await deliveries('pending')).length === 0);

      const context = await browser.newContext({ viewport: { width: options.width, height: options.height },
                                                 isMobile: options.isMobile, hasTouch: options.hasTouch });
      const page = await context.newPage();
      await signIn(page, hooked);
      await page.goto(hooked.url + '/admin/');
      await page.getByRole('link', { name: 'Deliveries' }).click();
      await page.waitForURL(hooked.url + '/admin/webhooks/');
      assert.equal(await page.locator('h1').textContent(), 'Webhook deliveries');
      await screenshot(page, 'webhooks', viewport);

      // Nothing on the page is wider than the screen: the rows are cards on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `the deliveries are ${overflow}px wider than the ${viewport} screen`);

      // The filter's "Failed", then the delivery's Retry button.
      await page.getByRole('link', { name: 'Failed', exact: true }).click();
      await page.waitForURL(/\?status=failed$/);
      assert.ok((await page.locator('#result_list tbody th').allTextContents()).includes(String(failed.id)));
      receiver.refusing = false;
      await page.getByRole('button', { name: `Retry delivery ${failed.id}` }).click();
      await page.waitForURL(/\/admin\/webhooks\/\?status=failed$/);
      assert.equal(await page.locator('.messagelist li').textContent(),
                   `The webhook delivery “${failed.id}” will be sent again.`);
      await waitFor('the delivery sent again', async () =>
        (await deliveries('delivered')).find((e) => e.id === failed.id));
      assert.ok(receiver.received.some((r) => !r.refused && r.body.includes(`Budget review (${viewport})`)));
      await context.close();
    }
  } finally {
    await hooked.stop();
    receiver.server.close();
  }
});

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
