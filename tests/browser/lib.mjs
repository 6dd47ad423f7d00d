// What the browser tests share: the real castera on a free port of 127.0.0.1 with a
// throwaway SQLite database, users made with its command line, a TCP proxy that can cut
// connections, Debian's Chromium with fake camera and microphone, and the steps a person
// takes (sign in, join by link). Calls are judged by WebRTC's own statistics, not by the page.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const CASTERA = process.env.CASTERA_BIN || path.join(REPO, 'build', 'castera');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const PHONE = {
  viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36',
};

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// castera serve with its own database; `users` are made with `castera createuser`.
export async function startCastera(users = []) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'castera-browser-'));
  const env = { ...process.env, CASTERA_DATABASE_URL: `sqlite:${path.join(dir, 'castera.db')}`,
    DJANGO_SECRET_KEY: randomBytes(48).toString('base64url'), DJANGO_DEBUG: 'True', CASTERA_PASSWORD_ITERATIONS: '1000' };
  for (const name of Object.keys(env)) if (name.toLowerCase().endsWith('_proxy')) delete env[name];
  const cli = (...args) => {
    const input = args.at(-1)?.input;
    const res = spawnSync(CASTERA, input ? args.slice(0, -1) : args, { env, input, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`castera ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };
  cli('migrate');
  for (const u of users) {
    const extra = u.role ? ['--role', u.role] : [];
    cli('createuser', '--email', u.email, '--password-stdin', ...extra, { input: `${u.password}\n` });
  }
  const port = await freePort();
  const logPath = path.join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  const proc = spawn(CASTERA, ['serve', '--host', '127.0.0.1', '--port', String(port)],
    { env, stdio: ['ignore', log, log] });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitHealthy(baseUrl, proc, logPath);
  return {
    baseUrl, port, dir, cli,
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(10000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(baseUrl, proc, logPath) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`castera exited: ${readFileSync(logPath, 'utf8')}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`castera did not become healthy at ${baseUrl}`);
}

// A TCP proxy in front of castera: cut() drops every connection through it (as a lost
// network would), new connections go through again.
export async function startProxy(targetPort) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port, baseUrl: `http://127.0.0.1:${port}`,
    cut() { const n = sockets.size; for (const s of sockets) s.destroy(); return n; },
    close() { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--auto-select-desktop-capture-source=Entire screen'],
  });
}

// A person in a browser context of their own (their own cookies), at a phone's or a laptop's size.
export async function newPerson(browser, user, device = DESKTOP) {
  const context = await browser.newContext({ ...device });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${user.email}] page error:`, err.message));
  return { user, context, page };
}

export async function signIn(page, user) {
  await page.getByTestId('sign-in-email').fill(user.email);
  await page.getByTestId('sign-in-password').fill(user.password);
  await page.getByTestId('sign-in-submit').click();
}

// Opens a room link signed out, signs in on the form it shows, and joins from the pre-join screen.
export async function joinByLink(person, baseUrl, roomId, { signedIn = false } = {}) {
  const { page } = person;
  await page.goto(`${baseUrl}/app/join/${roomId}`);
  if (!signedIn) await signIn(page, person.user);
  await page.getByTestId('join').waitFor();
  // The pre-join screen has the camera before the button is worth pressing.
  await page.waitForFunction(() => document.querySelector('.preview-video')?.srcObject);
  await page.getByTestId('join').click();
  await page.getByTestId('call').waitFor();
}

// Every RTCPeerConnection of the page, as WebRTC itself reports it.
export function peerStats(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const [peerId, pc] of window.__castera?.peers ?? []) {
      let framesDecoded = 0;
      let audioBytes = 0;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += s.framesDecoded ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') audioBytes += s.bytesReceived ?? 0;
      });
      out.push({ peerId, connectionState: pc.connectionState, framesDecoded, audioBytes });
    }
    return out;
  });
}

// Waits until the page has `count` peer connections, all "connected", each decoding video
// that keeps coming (framesDecoded rising between two readings). Throws with what it saw.
export async function waitForCall(page, count, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  let previous = new Map();
  while (Date.now() < deadline) {
    last = await peerStats(page);
    const live = last.filter((p) => p.connectionState === 'connected' && p.framesDecoded > 0 &&
      p.framesDecoded > (previous.get(p.peerId) ?? 0));
    if (last.length === count && live.length === count) return last;
    previous = new Map(last.map((p) => [p.peerId, p.framesDecoded]));
    await sleep(500);
  }
  throw new Error(`expected ${count} connected peers decoding video, saw ${JSON.stringify(last)}`);
}

// The REST API as a script uses it (HTTP Basic).
export async function api(baseUrl, user, method, urlPath, body) {
  const res = await fetch(baseUrl + urlPath, {
    method,
    headers: { Authorization: `Basic ${Buffer.from(`${user.email}:${user.password}`).toString('base64')}`,
      'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export function createMeeting(baseUrl, owner, title = 'Standup') {
  return api(baseUrl, owner, 'POST', '/api/meetings/',
    { title, scheduled_date: new Date(Date.now() + 3600e3).toISOString(), type_of: 'public' });
}

export function tileOf(page, email) {
  return page.locator(`[data-testid="participant"][data-local="false"][data-user-email="${email}"]`);
}

// Polls `read` until `check(value)` holds; fails with the last value.
export async function eventually(read, check, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let value;
  while (Date.now() < deadline) {
    value = await read();
    if (check(value)) return value;
    await sleep(200);
  }
  throw new Error(`${what}: last saw ${JSON.stringify(value)}`);
}
