// A castera of its own for the browser tests: a throwaway SQLite database, a staff member made
// with the command line, `castera serve` on a free port (with `settings` added to its
// environment), stopped at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(new URL('.', import.meta.url).pathname, '../../..');

function freePort() {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
    srv.on('error', fail);
  });
}

export async function startCastera(settings = {}) {
  const bin = process.env.CASTERA_BIN || join(REPO, 'build', 'castera');
  const dir = mkdtempSync(join(tmpdir(), 'castera-browser-'));
  const env = { ...process.env, CASTERA_DATABASE_URL: `sqlite:${join(dir, 'castera.db')}`, DJANGO_DEBUG: 'True',
                DJANGO_SECRET_KEY: 'browser-tests-only-' + 'x'.repeat(48), CASTERA_PASSWORD_ITERATIONS: '1000',
                ...settings };
  for (const name of Object.keys(env)) if (name.toLowerCase().endsWith('_proxy')) delete env[name];
  const staff = { email: 'staff@example.com', password: 'browser-staff-pass' };
  for (const args of [['migrate'], ['createuser', '--email', staff.email, '--password-stdin', '--staff', '--superuser',
                                    '--full-name', 'Sam Staff']]) {
    const res = spawnSync(bin, args, { env, input: staff.password + '\n', encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`castera ${args[0]} failed: ${res.stderr}`);
  }
  const port = await freePort();
  const proc = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', String(port)], { env, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url + '/healthz')).ok) break;
    } catch { /* not yet listening */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const auth = 'Basic ' + Buffer.from(`${staff.email}:${staff.password}`).toString('base64');
  return {
    url,
    staff,
    // A JSON API call as the staff member; with `raw`, the response itself.
    async api(method, path, body, raw = false) {
      const res = await fetch(url + path, { method, headers: { Authorization: auth, 'Content-Type': 'application/json' },
                                            body: body === undefined ? undefined : JSON.stringify(body) });
      if (raw) return res;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
