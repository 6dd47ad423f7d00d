// Two numbers for the web client, measured in real Chromium against build/castera on loopback:
//  - first load: bytes transferred (headers and bodies, as Chromium counts them) for a fresh
//    visitor's /app/ until the page is idle;
//  - join to first frame: from the click on "Join" to the first remote video frame decoded
//    (framesDecoded > 0 in getStats), with one person already in the room; median of 10.
// Run: tests/browser/run measure
import * as t from './lib.mjs';

const ann = { email: 'ann@example.com', password: 'ann-password-1' };
const bob = { email: 'bob@example.com', password: 'bob-password-1' };
const server = await t.startCastera([ann, bob]);
const browser = await t.launchBrowser();

async function firstLoadBytes() {
  const context = await browser.newContext(t.DESKTOP);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const sizes = new Map();
  cdp.on('Network.responseReceived', (e) => sizes.set(e.requestId, { url: e.response.url, bytes: 0 }));
  cdp.on('Network.loadingFinished', (e) => { if (sizes.has(e.requestId)) sizes.get(e.requestId).bytes = e.encodedDataLength; });
  await page.goto(`${server.baseUrl}/app/`, { waitUntil: 'networkidle' });
  await page.getByTestId('sign-in-email').waitFor();
  await context.close();
  const files = [...sizes.values()];
  return { total: files.reduce((sum, f) => sum + f.bytes, 0), files };
}

async function joinToFirstFrame(person, roomId) {
  const { page } = person;
  await page.goto(`${server.baseUrl}/app/join/${roomId}`);
  await page.getByTestId('join').waitFor();
  await page.waitForFunction(() => document.querySelector('.preview-video')?.videoWidth > 0);
  const ms = await page.evaluate(() => new Promise((resolve, reject) => {
    const start = performance.now();
    document.querySelector('[data-testid="join"]').click();
    const poll = setInterval(async () => {
      for (const pc of window.__castera?.peers?.values() ?? []) {
        const stats = await pc.getStats();
        let frames = 0;
        stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0; });
        if (frames > 0) { clearInterval(poll); resolve(performance.now() - start); return; }
      }
      if (performance.now() - start > 20000) { clearInterval(poll); reject(new Error('no frame in 20 s')); }
    }, 10);
  }));
  await page.getByTestId('leave').click();
  await page.getByTestId('call-left').waitFor();
  return ms;
}

try {
  const load = await firstLoadBytes();
  console.log(`first load of /app/: ${load.total} bytes in ${load.files.length} responses`);
  for (const f of load.files) console.log(`  ${String(f.bytes).padStart(7)}  ${new URL(f.url).pathname}`);

  const meeting = await t.createMeeting(server.baseUrl, ann, 'Timing');
  const host = await t.newPerson(browser, ann, t.DESKTOP);
  await t.joinByLink(host, server.baseUrl, meeting.room_id);
  const guest = await t.newPerson(browser, bob, t.DESKTOP);
  await guest.page.goto(`${server.baseUrl}/app/`);
  await t.signIn(guest.page, bob);
  await guest.page.getByTestId('upcoming-meetings').waitFor();
  const times = [];
  for (let i = 0; i < 10; i++) times.push(await joinToFirstFrame(guest, meeting.room_id));
  const sorted = [...times].sort((a, b) => a - b);
  const median = (sorted[4] + sorted[5]) / 2;
  console.log(`join to first remote frame (ms): ${times.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`median ${median.toFixed(0)} ms, min ${sorted[0].toFixed(0)}, max ${sorted[9].toFixed(0)}`);
} finally {
  await browser.close();
  await server.stop();
}
