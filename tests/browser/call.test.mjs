// Real calls in real Chromium: a laptop-sized and a phone-sized browser meet by link; three
// at once; a reconnect after the server's socket is cut. Each call is judged by WebRTC's
// statistics (connectionState, framesDecoded rising), never by what the page says.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

const ann = { email: 'ann@example.com', password: 'ann-password-1' };
const bob = { email: 'bob@example.com', password: 'bob-password-1' };
const cy = { email: 'cy@example.com', password: 'cy-password-1' };
let server;
let browser;

before(async () => {
  server = await t.startCastera([ann, bob, cy]);
  browser = await t.launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openChat(person) {
  if (!(await person.page.getByTestId('chat-input').isVisible())) await person.page.getByTestId('toggle-chat').click();
}

async function say(person, text) {
  await openChat(person);
  await person.page.getByTestId('chat-input').fill(text);
  await person.page.getByTestId('chat-input').press('Enter');
}

function participants(meeting, asUser) {
  return t.api(server.baseUrl, asUser, 'GET', `/api/meetings/${meeting.id}/participants/`);
}

async function stateOf(meeting, user) {
  const states = await participants(meeting, user);
  return states.find((s) => s.user_email === user.email);
}

test('a laptop and a phone meet by link: media, chat, mute, hand, camera, end', async (s) => {
  const meeting = await t.createMeeting(server.baseUrl, ann, 'Two browsers');
  const laptop = await t.newPerson(browser, ann, t.DESKTOP);
  const phone = await t.newPerson(browser, bob, t.PHONE);
  try {
    await s.test('both sign in from the link and land in the room', async () => {
      await Promise.all([t.joinByLink(laptop, server.baseUrl, meeting.room_id),
        t.joinByLink(phone, server.baseUrl, meeting.room_id)]);
      assert.equal(new URL(laptop.page.url()).pathname, `/app/join/${meeting.room_id}`);
    });

    await s.test('each decodes the other\'s video over a connected peer connection', async () => {
      const [a, b] = await Promise.all([t.waitForCall(laptop.page, 1), t.waitForCall(phone.page, 1)]);
      assert.equal(a[0].connectionState, 'connected');
      assert.ok(b[0].framesDecoded > 0 && b[0].audioBytes > 0, JSON.stringify(b));
      await t.tileOf(laptop.page, bob.email).waitFor();
      await t.tileOf(phone.page, ann.email).waitFor();
    });

    await s.test('chat goes both ways, own and others\' told apart, links clickable, markup inert', async () => {
      await say(laptop, 'hello from the laptop');
      await say(phone, 'hi from the phone <img src=x onerror="window.pwned=1"> https://example.com/notes');
      const phoneLog = phone.page.getByTestId('chat-log');
      const laptopLog = laptop.page.getByTestId('chat-log');
      await phoneLog.getByText('hello from the laptop').waitFor();
      await laptopLog.getByText('hi from the phone', { exact: false }).waitFor();
      assert.equal(await laptopLog.locator('.message.own').filter({ hasText: 'hello from the laptop' }).count(), 1);
      assert.equal(await laptopLog.locator('.message:not(.own)').filter({ hasText: 'hi from the phone' }).count(), 1);
      assert.equal(await laptopLog.locator('img').count(), 0);
      assert.equal(await laptopLog.locator('a[href="https://example.com/notes"]').count(), 1);
      assert.equal(await laptop.page.evaluate(() => window.pwned), undefined);
      const stored = await t.api(server.baseUrl, ann, 'GET', `/api/meetings/${meeting.id}/messages/`);
      assert.deepEqual(stored.map((m) => m.user_email), [ann.email, bob.email]);
    });

    await s.test('mute is seen by the other side and in the API, and stops the audio sent', async () => {
      await laptop.page.getByTestId('toggle-audio').click();
      await t.tileOf(phone.page, ann.email).and(phone.page.locator('[data-audio-muted="true"]')).waitFor();
      await t.eventually(() => stateOf(meeting, ann), (st) => st?.audio_muted === true, 'ann muted in the API');
      const enabled = await laptop.page.evaluate(() => [...window.__castera.peers.values()]
        .flatMap((pc) => pc.getSenders()).filter((x) => x.track?.kind === 'audio').map((x) => x.track.enabled));
      assert.deepEqual(enabled, [false]);
      await laptop.page.getByTestId('toggle-audio').click();
      await t.tileOf(phone.page, ann.email).and(phone.page.locator('[data-audio-muted="false"]')).waitFor();
      await t.eventually(() => stateOf(meeting, ann), (st) => st?.audio_muted === false, 'ann unmuted in the API');
    });

    await s.test('a raised hand shows on the other side and in the API', async () => {
      await phone.page.getByTestId('raise-hand').click();
      await t.tileOf(laptop.page, bob.email).and(laptop.page.locator('[data-raised-hand="true"]')).waitFor();
      await t.eventually(() => stateOf(meeting, bob), (st) => st?.raised_hand === true, 'bob\'s hand in the API');
      await phone.page.getByTestId('raise-hand').click();
      await t.tileOf(laptop.page, bob.email).and(laptop.page.locator('[data-raised-hand="false"]')).waitFor();
    });

    await s.test('the camera goes off and on again, and video flows again', async () => {
      await phone.page.getByTestId('toggle-video').click();
      await t.tileOf(laptop.page, bob.email).and(laptop.page.locator('[data-video-stopped="true"]')).waitFor();
      await t.eventually(() => stateOf(meeting, bob), (st) => st?.video_stopped === true, 'bob\'s camera off in the API');
      await phone.page.getByTestId('toggle-video').click();
      await t.tileOf(laptop.page, bob.email).and(laptop.page.locator('[data-video-stopped="false"]')).waitFor();
      await t.waitForCall(laptop.page, 1);
    });

    await s.test('screen sharing replaces the video for the peer and ends cleanly with the share', async () => {
      const videoSent = () => laptop.page.evaluate(() => [...window.__castera.peers.values()]
        .flatMap((pc) => pc.getSenders()).filter((x) => x.track?.kind === 'video').map((x) => x.track.label));
      const cameraLabel = (await videoSent())[0];
      await laptop.page.getByTestId('share-screen').click();
      await t.tileOf(phone.page, ann.email).and(phone.page.locator('[data-screen-sharing="true"]')).waitFor();
      await t.eventually(() => stateOf(meeting, ann), (st) => st?.screen_sharing === true, 'ann sharing in the API');
      const sharing = await videoSent();
      assert.equal(sharing.length, 1);
      assert.notEqual(sharing[0], cameraLabel);
      await t.waitForCall(phone.page, 1);
      // The browser's own "Stop sharing" ends the track: the camera comes back.
      await laptop.page.evaluate(() => [...window.__castera.peers.values()][0].getSenders()
        .find((x) => x.track?.kind === 'video').track.dispatchEvent(new Event('ended')));
      await t.tileOf(phone.page, ann.email).and(phone.page.locator('[data-screen-sharing="false"]')).waitFor();
      await t.eventually(videoSent, (labels) => labels[0] === cameraLabel, 'the camera sent again');
      await t.waitForCall(phone.page, 1);
    });

    await s.test('the owner ends the meeting after confirming, and both calls hang up', async () => {
      assert.equal(await phone.page.getByTestId('end-meeting').count(), 0, 'only the owner may end it');
      await laptop.page.getByTestId('end-meeting').click();
      await laptop.page.getByTestId('confirm-end').click();
      await Promise.all([laptop.page.getByTestId('call-ended').waitFor(), phone.page.getByTestId('call-ended').waitFor()]);
      assert.match(await phone.page.getByTestId('call-ended').innerText(), /ended/i);
      assert.deepEqual(await t.peerStats(phone.page), []);
      const after = await t.api(server.baseUrl, ann, 'GET', `/api/meetings/${meeting.id}/`);
      assert.equal(after.status, 'ended');
    });
  } finally {
    await laptop.context.close();
    await phone.context.close();
  }
});

test('three at once: every browser has two connected peers decoding video', async () => {
  const meeting = await t.createMeeting(server.baseUrl, ann, 'Three');
  const people = [await t.newPerson(browser, ann, t.DESKTOP), await t.newPerson(browser, bob, t.PHONE),
    await t.newPerson(browser, cy, t.DESKTOP)];
  try {
    await Promise.all(people.map((p) => t.joinByLink(p, server.baseUrl, meeting.room_id)));
    const stats = await Promise.all(people.map((p) => t.waitForCall(p.page, 2, 45000)));
    for (const s of stats) assert.equal(s.length, 2);
    for (const p of people) assert.equal(await p.page.locator('[data-testid="participant"]').count(), 3);
    // A leaving participant's tile goes away on the others' screens.
    await people[2].page.getByTestId('leave').click();
    await people[2].page.getByTestId('call-left').waitFor();
    await t.eventually(() => stateOf(meeting, cy), (st) => st?.in_call === false, 'cy out of the call in the API');
    for (const p of people.slice(0, 2)) {
      await t.tileOf(p.page, cy.email).waitFor({ state: 'detached' });
      await t.waitForCall(p.page, 1);
    }
  } finally {
    for (const p of people) await p.context.close();
  }
});

test('a cut socket reconnects by itself and the call comes back', async () => {
  const meeting = await t.createMeeting(server.baseUrl, ann, 'Reconnect');
  const proxy = await t.startProxy(server.port);
  const direct = await t.newPerson(browser, ann, t.DESKTOP);
  const proxied = await t.newPerson(browser, bob, t.PHONE);
  try {
    await t.joinByLink(direct, server.baseUrl, meeting.room_id);
    await t.joinByLink(proxied, proxy.baseUrl, meeting.room_id);
    await t.waitForCall(proxied.page, 1);
    const before = await t.waitForCall(direct.page, 1);

    assert.ok(proxy.cut() > 0, 'the proxy had connections to cut');
    await proxied.page.getByTestId('reconnecting').waitFor({ state: 'visible', timeout: 5000 });
    await proxied.page.getByTestId('reconnecting').waitFor({ state: 'hidden', timeout: 20000 });
    await t.waitForCall(proxied.page, 1);
    // The reconnected socket is a new peer of the room, called afresh.
    const afterStats = await t.waitForCall(direct.page, 1);
    assert.notEqual(afterStats[0].peerId, before[0].peerId, 'a new peer connection after the reconnect');
    // The old connection's tile is gone: one tile for bob, not two.
    assert.equal(await t.tileOf(direct.page, bob.email).count(), 1);
    assert.equal(await proxied.page.getByTestId('connection-status').getAttribute('data-state'), 'open');
  } finally {
    await direct.context.close();
    await proxied.context.close();
    await proxy.close();
  }
});

test('the checks fail a call that does not connect', async () => {
  // A browser whose peer connections can never take the other's description: the page
  // still shows tiles, but WebRTC's statistics say there is no call, and waitForCall says so.
  const meeting = await t.createMeeting(server.baseUrl, ann, 'Broken');
  const good = await t.newPerson(browser, ann, t.DESKTOP);
  const broken = await t.newPerson(browser, bob, t.DESKTOP);
  await broken.context.addInitScript(() => {
    RTCPeerConnection.prototype.setRemoteDescription = () => Promise.reject(new Error('broken on purpose'));
  });
  try {
    await t.joinByLink(good, server.baseUrl, meeting.room_id);
    await t.joinByLink(broken, server.baseUrl, meeting.room_id);
    await t.tileOf(good.page, bob.email).waitFor();
    await assert.rejects(t.waitForCall(good.page, 1, 6000), /expected 1 connected peers/);
    await assert.rejects(t.waitForCall(broken.page, 1, 2000), /expected 1 connected peers/);
    // And the page says so instead of hanging: the side that waits for offers gives up first.
    const failed = (person) => person.page.locator('[data-testid="participant"][data-connection="failed"]')
      .getByText('Could not connect').waitFor({ timeout: 20000 });
    await Promise.any([failed(good), failed(broken)]);
  } finally {
    await good.context.close();
    await broken.context.close();
  }
});
