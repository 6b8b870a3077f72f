// Starts the visitord binary built by `cargo build --locked` on port 0 with a temporary data
// dir, and learns its address from the launch summary ("listening:  http://…").
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = process.env.VISITORD_BIN || join(root, 'target', 'debug', 'visitord');

export async function startServer(env = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run cargo build --locked first`);
  const dir = mkdtempSync(join(tmpdir(), 'visitord-e2e-'));
  const password = randomBytes(12).toString('hex');
  const child = spawn(BIN, ['--bind', '127.0.0.1:0', '--data-dir', join(dir, 'data'), 'serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'info',
      VISITORD_ADMIN_PASSWORD: password,
      VISITORD_SERVER_WORKERS: '2',
      VISITORD_RATE_LIMIT_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => { stdout += b; });
  child.stderr.on('data', (b) => { stderr += b; });
  const deadline = Date.now() + 15000;
  let url = null;
  while (!url) {
    if (child.exitCode !== null) throw new Error(`visitord exited (${child.exitCode}): ${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`visitord did not start: ${stdout}\n${stderr}`);
    const m = stdout.match(/listening:\s+(http:\/\/[^\s,]+)/);
    if (m) {
      try {
        const res = await fetch(m[1] + '/health');
        if (res.status === 200) url = m[1];
      } catch (e) { /* not yet */ }
    }
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    password,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** JSON API call; returns {status, body}. */
export async function call(base, method, path, { body, auth } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    headers['X-User-Id'] = auth.userId;
    headers['X-Auth-Token'] = auth.authToken;
  }
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await res.json(); } catch (e) { /* not JSON */ }
  return { status: res.status, body: json };
}

export async function login(base, user, password) {
  const out = await call(base, 'POST', '/api/v1/login', { body: { user, password } });
  if (out.status !== 200) throw new Error(`login ${user}: ${out.status} ${JSON.stringify(out.body)}`);
  return { userId: out.body.data.userId, authToken: out.body.data.authToken };
}

/** Polls `f` until it returns a truthy value (no fixed sleeps in the tests). */
export async function until(f, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
