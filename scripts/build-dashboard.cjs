#!/usr/bin/env node
/**
 * Builds the dashboard (dashboard/ → dist/dashboard) with Vite. `--if-stale`: only when dist/dashboard/index.html is
 * missing or older than a file under dashboard/ or package-lock.json (what `npm start` and the tests run).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const output = join(root, 'dist/dashboard/index.html');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), st.mtimeMs);
}

function stale() {
  if (!existsSync(output)) return 'not built yet';
  const built = statSync(output).mtimeMs;
  if (newest(join(root, 'dashboard')) > built) return 'dashboard/ changed since the last build';
  if (newest(join(root, 'package-lock.json')) > built) return 'package-lock.json changed since the last build';
  return undefined;
}

const why = process.argv.includes('--if-stale') ? stale() : 'asked to';
if (!why) process.exit(0);
console.log(`building the dashboard (${why}) ...`);
const vite = join(root, 'node_modules/vite/bin/vite.js');
const run = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '-c', 'dashboard/vite.config.ts'], {
  cwd: root,
  stdio: 'inherit',
});
if (run.status !== 0) {
  console.error('the dashboard did not build (see above); the API still runs, without the page');
  process.exit(run.status ?? 1);
}
console.log(`dashboard built into ${join('dist', 'dashboard')}`);
