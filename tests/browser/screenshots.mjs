// Takes the README's screenshots (docs/screenshots/): sign-in, home, pre-join, and a call of
// two on a laptop and on a phone, against a real castera with fake cameras.
// Run: tests/browser/run screenshots
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import * as t from './lib.mjs';

const out = process.argv[2] || path.join(t.REPO, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

const ann = { email: 'ann.lee@example.com', password: 'ann-password-1' };
const bob = { email: 'bob.stone@example.com', password: 'bob-password-1' };
const server = await t.startCastera([ann, bob]);
const browser = await t.launchBrowser();
const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`) });

try {
  const soon = (hours) => new Date(Date.now() + hours * 3600e3).toISOString();
  const standup = await t.api(server.baseUrl, ann, 'POST', '/api/meetings/',
    { title: 'Team standup', description: 'Daily check-in: yesterday, today, blockers.', scheduled_date: soon(1) });
  await t.api(server.baseUrl, ann, 'POST', '/api/meetings/',
    { title: 'Design review', description: 'The new onboarding flow.', scheduled_date: soon(26), type_of: 'private' });
  await t.api(server.baseUrl, ann, 'POST', '/api/meetings/', { title: 'Retro', scheduled_date: soon(-48) });

  const laptop = await t.newPerson(browser, ann, t.DESKTOP);
  await laptop.page.goto(`${server.baseUrl}/app/`);
  await laptop.page.getByTestId('sign-in-email').waitFor();
  await shot(laptop.page, 'sign-in');
  await t.signIn(laptop.page, ann);
  await laptop.page.getByTestId('meeting-item').first().waitFor();
  await shot(laptop.page, 'home');

  await laptop.page.goto(`${server.baseUrl}/app/join/${standup.room_id}`);
  await laptop.page.getByTestId('join').waitFor();
  await laptop.page.waitForFunction(() => document.querySelector('.preview-video')?.videoWidth > 0);
  await t.sleep(500);
  await shot(laptop.page, 'pre-join');
  await laptop.page.getByTestId('join').click();

  const phone = await t.newPerson(browser, bob, t.PHONE);
  await phone.page.goto(`${server.baseUrl}/app/`);
  await t.signIn(phone.page, bob);
  await phone.page.getByTestId('join-link').waitFor();
  await shot(phone.page, 'home-phone');
  await t.joinByLink(phone, server.baseUrl, standup.room_id, { signedIn: true });
  await t.waitForCall(laptop.page, 1);
  await t.waitForCall(phone.page, 1);

  await phone.page.getByTestId('raise-hand').click();
  await laptop.page.getByTestId('chat-input').fill('Morning! Notes are at https://example.com/notes');
  await laptop.page.getByTestId('chat-input').press('Enter');
  await phone.page.getByTestId('toggle-chat').click();
  await phone.page.getByTestId('chat-input').fill('Hi Ann, joining from my phone');
  await phone.page.getByTestId('chat-input').press('Enter');
  await phone.page.getByTestId('toggle-chat').click();
  await laptop.page.getByTestId('toggle-audio').click();
  await t.tileOf(laptop.page, bob.email).and(laptop.page.locator('[data-raised-hand="true"]')).waitFor();
  await t.sleep(1000);
  await shot(laptop.page, 'call-desktop');
  await shot(phone.page, 'call-phone');
  await phone.page.getByTestId('toggle-chat').click();
  await t.sleep(300);
  await shot(phone.page, 'call-phone-chat');
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
