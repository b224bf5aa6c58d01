// Installs the pinned schemathesis (the property-based API fuzzer test/api-contract.test.ts runs against the API)
// into a virtualenv under .temporal/schemathesis, from PyPI, at provision time (never while tests run).
// Plain Node, no dependencies. Skips the install when the pinned version is already there.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const requirements = join(__dirname, 'schemathesis-requirements.txt');
const venv = join(root, '.temporal', 'schemathesis');
const bin = join(venv, process.platform === 'win32' ? 'Scripts' : 'bin');
const version = /^schemathesis==(.+)$/m.exec(readFileSync(requirements, 'utf8'))?.[1];

/** Path of the `st` command the contract test runs. */
const st = join(bin, process.platform === 'win32' ? 'st.exe' : 'st');

function installed() {
  if (!existsSync(st)) return false;
  const r = spawnSync(st, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && r.stdout.trim().endsWith(version);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
}

function main() {
  if (installed()) return;
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) throw new Error('no python3 found: schemathesis (the API contract test) needs Python 3.9 or later');
  console.log(`installing schemathesis==${version} into ${venv} from PyPI ...`);
  rmSync(venv, { recursive: true, force: true });
  run(python, ['-m', 'venv', venv]);
  const pip = join(bin, 'python');
  run(pip, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', requirements]);
  if (!installed()) throw new Error(`schemathesis installed into ${venv} but \`st --version\` does not say ${version}`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`schemathesis: ${err.message}`);
    process.exit(1);
  }
}

module.exports = { st, version };
