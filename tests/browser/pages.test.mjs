// The pages around a call, in real Chromium: sign-in and its errors, signing out, the home
// page's meetings (schedule, edit, delete), and links to meetings that ended or never were.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as t from './lib.mjs';

const dee = { email: 'dee@example.com', password: 'dee-password-1' };
const eve = { email: 'eve@example.com', password: 'eve-password-1' };
let server;
let browser;

before(async () => {
  server = await t.startCastera([dee, eve]);
  browser = await t.launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function withPerson(user, device, fn) {
  const person = await t.newPerson(browser, user, device);
  try {
    return await fn(person);
  } finally {
    await person.context.close();
  }
}

test('a wrong password is said in words, then throttling is too', () => withPerson(eve, t.DESKTOP, async ({ page }) => {
  await page.goto(`${server.baseUrl}/app/`);
  const error = page.getByTestId('sign-in-error');
  await t.signIn(page, { ...eve, password: 'not the password' });
  await error.waitFor();
  assert.equal(await error.innerText(), 'Wrong email or password.');
  // The account's limit is 5 failures in the window; past it even the right password waits.
  for (let i = 0; i < 5; i++) await t.signIn(page, { ...eve, password: `wrong ${i}` });
  await t.signIn(page, eve);
  await page.getByText(/Too many failed attempts\. Try again in \d+ seconds?\./).waitFor();
}));

test('sign in, see the home page, sign out', () => withPerson(dee, t.PHONE, async ({ page }) => {
  await page.goto(`${server.baseUrl}/`);
  assert.equal(new URL(page.url()).pathname, '/app/');
  await t.signIn(page, dee);
  await page.getByTestId('upcoming-meetings').waitFor();
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-in-email').waitFor();
  const me = await page.evaluate(() => fetch('/api/auth/me/').then((r) => r.status));
  assert.equal(me, 403);
}));

test('schedule a meeting in local time, edit it, copy its link, delete it', () => withPerson(dee, t.DESKTOP, async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
  await page.goto(`${server.baseUrl}/app/`);
  await t.signIn(page, dee);
  await page.getByTestId('meeting-title').fill('Planning <b>Q3</b>');
  await page.getByTestId('meeting-description').fill('Bring numbers');
  await page.getByTestId('meeting-when').fill('2031-05-06T14:30');
  await page.getByTestId('meeting-type').selectOption('private');
  await page.getByTestId('meeting-save').click();
  const item = page.getByTestId('upcoming-meetings').getByTestId('meeting-item').filter({ hasText: 'Planning <b>Q3</b>' });
  await item.waitFor();

  const meetings = await t.api(server.baseUrl, dee, 'GET', '/api/meetings/');
  const made = meetings.find((m) => m.title === 'Planning <b>Q3</b>');
  const offset = await page.evaluate(() => new Date('2031-05-06T14:30').toISOString());
  assert.equal(made.scheduled_date.replace('.000', ''), offset.replace('.000', ''));
  assert.equal(made.type_of, 'private');
  assert.equal(made.description, 'Bring numbers');

  await item.getByTestId('copy-link').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.baseUrl}/app/join/${made.room_id}`);

  const row = page.locator(`[data-room-id="${made.room_id}"]`);
  await row.getByTestId('edit-meeting').click();
  await row.getByTestId('meeting-title').fill('Planning Q3');
  await row.getByTestId('meeting-save').click();
  const edited = page.getByTestId('meeting-item').filter({ hasText: 'Planning Q3' });
  await edited.waitFor();
  assert.equal((await t.api(server.baseUrl, dee, 'GET', `/api/meetings/${made.id}/`)).title, 'Planning Q3');

  await edited.getByTestId('delete-meeting').click();
  await page.getByTestId('confirm-delete').click();
  await edited.waitFor({ state: 'detached' });
  const res = await fetch(`${server.baseUrl}/api/meetings/${made.id}/`,
    { headers: { Authorization: `Basic ${Buffer.from(`${dee.email}:${dee.password}`).toString('base64')}` } });
  assert.equal(res.status, 404);
}));

test('a link to an unknown meeting says so after sign-in', () => withPerson(dee, t.DESKTOP, async ({ page }) => {
  await page.goto(`${server.baseUrl}/app/join/${randomUUID()}`);
  await t.signIn(page, dee);
  await page.getByTestId('meeting-not-found').waitFor();
}));

test('a link to an ended meeting says so', () => withPerson(dee, t.PHONE, async ({ page }) => {
  const meeting = await t.createMeeting(server.baseUrl, dee, 'Done already');
  await t.api(server.baseUrl, dee, 'POST', `/api/meetings/${meeting.id}/set-status/`, { status: 'ended' });
  await page.goto(`${server.baseUrl}/app/join/${meeting.room_id}`);
  await t.signIn(page, dee);
  await page.getByTestId('meeting-ended').waitFor();
  assert.match(await page.getByTestId('meeting-ended').innerText(), /has ended/);
}));

test('join with camera and microphone off', () => withPerson(dee, t.DESKTOP, async (person) => {
  const meeting = await t.createMeeting(server.baseUrl, dee, 'Quiet');
  const { page } = person;
  await page.goto(`${server.baseUrl}/app/join/${meeting.room_id}`);
  await t.signIn(page, dee);
  await page.getByTestId('prejoin-toggle-audio').click();
  await page.getByTestId('prejoin-toggle-video').click();
  await page.getByTestId('join').click();
  const self = page.locator('[data-testid="participant"][data-local="true"]');
  await self.and(page.locator('[data-audio-muted="true"][data-video-stopped="true"]')).waitFor();
  // The page shows its own state at once; the server stores it just after.
  const mine = await t.eventually(async () => (await t.api(server.baseUrl, dee, 'GET',
    `/api/meetings/${meeting.id}/participants/`)).find((s) => s.user_email === dee.email),
  (st) => st?.video_stopped === true, 'dee\'s state in the API');
  assert.equal(mine.audio_muted, true);
  assert.equal(mine.video_stopped, true);
  assert.equal(mine.in_call, true);
}));
