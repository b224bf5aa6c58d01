/**
 * The workflow bundle built ahead of time (`npm run build` writes dist/workflow-bundle.js), and the check that it is the
 * code the worker runs: next to the bundle, a manifest records a fingerprint of the workflow sources it was built from
 * (src/workflows and src/shared, or their compiled dist copies), the SDK version and the bundle's hash. A worker whose
 * own workflow sources differ from those (sources edited or recompiled after the bundle was built) does not use it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** Directories (relative to src/ or dist/) holding every module the workflow bundle is made of. */
const WORKFLOW_CODE_DIRS = ['workflows', 'shared', 'encryption'];

export interface WorkflowBundleManifest {
  /** SHA-256 of the bundle file. */
  bundleSha256: string;
  /** @temporalio/workflow version bundled in; the worker must run the same one. */
  sdkVersion: string;
  /** {@link workflowCodeFingerprint} of each code root the bundle stands for (src and its compiled dist). */
  sourceFingerprints: string[];
  /** Built with the failure converter that encrypts failure messages (for workers with encryption on). */
  encodesFailures?: boolean;
  /** Every package bundled in (`node_modules/zod`, ...) with the version it had: the worker's must be the same. */
  packages?: Record<string, string>;
  builtAt: string;
}

export class StaleBundleError extends Error {}

export const sdkVersion = (): string =>
  (JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')) as { version: string })
    .version;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The manifest that goes with a bundle: `x.js` → `x.json`. */
export const manifestPathOf = (bundlePath: string): string => bundlePath.replace(/\.js$/, '') + '.json';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    })
    .filter((f) => /\.(ts|js|json)$/.test(f) && !/\.d\.ts$/.test(f));
}

/**
 * A hash over the workflow code under a code root (src/ or dist/): every file of {@link WORKFLOW_CODE_DIRS}, path and
 * content. The same sources give the same fingerprint wherever they are checked out.
 */
export function workflowCodeFingerprint(codeRoot: string): string {
  const hash = createHash('sha256');
  const files = WORKFLOW_CODE_DIRS.flatMap((d) => filesUnder(join(codeRoot, d))).sort();
  if (files.length === 0) throw new Error(`no workflow code under ${codeRoot} (expected ${WORKFLOW_CODE_DIRS})`);
  for (const f of files) hash.update(`${relative(codeRoot, f).split('\\').join('/')}\0`).update(readFileSync(f));
  return hash.digest('hex');
}

/** The version of the package installed at `dir` (undefined when there is none). */
function versionAt(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The packages a bundle holds (webpack names its modules `./node_modules/<package>/...`), with their versions. */
export function bundledPackages(code: string, projectRoot: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of code.matchAll(/"\.\/((?:node_modules\/(?:@[^/"]+\/)?[^/"]+\/)+)/g)) {
    const pkg = (m[1] as string).replace(/\/$/, '');
    if (out[pkg] === undefined) out[pkg] = versionAt(join(projectRoot, pkg)) ?? '?';
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The bundle a worker with encryption on runs: the same workflows, with the failure converter that encrypts failure
 * messages (src/encryption/failure-converter.ts) built in. `x.js` → `x-encoded-failures.js`.
 */
export const encodedFailuresPathOf = (bundlePath: string): string =>
  bundlePath.replace(/\.js$/, '') + '-encoded-failures.js';

/** Bundles `codeRoot`/workflows and writes the bundle and its manifest, fingerprinting each of `codeRoots`. */
export async function writeWorkflowBundle(
  outPath: string,
  codeRoot: string,
  codeRoots: string[] = [codeRoot],
  encodeFailures = false,
): Promise<WorkflowBundleManifest> {
  const root = resolve(codeRoot);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(join(root, 'workflows')),
    // The tracing interceptors (src/observability/temporal.ts): a worker given a pre-built bundle cannot add them.
    workflowInterceptorModules: [require.resolve(join(root, 'workflows', 'tracing-interceptors'))],
    ...(encodeFailures ? { failureConverterPath: require.resolve(join(root, 'encryption', 'failure-converter')) } : {}),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(outPath, code);
  const manifest: WorkflowBundleManifest = {
    bundleSha256: sha256(code),
    sdkVersion: sdkVersion(),
    sourceFingerprints: [...new Set(codeRoots.filter(existsSync).map(workflowCodeFingerprint))],
    encodesFailures: encodeFailures,
    packages: bundledPackages(code, resolve(root, '..')),
    builtAt: new Date().toISOString(),
  };
  writeFileSync(manifestPathOf(outPath), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * Throws a {@link StaleBundleError} naming the problem unless the bundle at `path` was built from `codeRoot`'s code, with
 * failure encoding as `encodeFailures` says (on with encryption: failure messages must not leave unencrypted).
 */
export function checkWorkflowBundle(path: string, codeRoot: string, encodeFailures = false): WorkflowBundleManifest {
  const manifestPath = manifestPathOf(path);
  const stale = (why: string) =>
    new StaleBundleError(`workflow bundle ${path} ${why}: rebuild it with \`npm run build\``);
  if (!existsSync(path)) throw stale('does not exist');
  if (!existsSync(manifestPath)) throw stale(`has no manifest (${manifestPath})`);
  let manifest: WorkflowBundleManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as WorkflowBundleManifest;
  } catch {
    throw stale(`has an unreadable manifest (${manifestPath})`);
  }
  if (manifest.sdkVersion !== sdkVersion())
    throw stale(`was built with @temporalio/workflow ${manifest.sdkVersion}, this worker runs ${sdkVersion()}`);
  if (sha256(readFileSync(path)) !== manifest.bundleSha256) throw stale('was changed after it was built');
  if (!manifest.sourceFingerprints?.includes(workflowCodeFingerprint(codeRoot)))
    throw stale(`was built from other workflow code than ${join(codeRoot, 'workflows')} (sources changed since)`);
  const root = resolve(codeRoot, '..');
  for (const [pkg, version] of Object.entries(manifest.packages ?? {})) {
    const here = versionAt(join(root, pkg)) ?? 'none';
    if (here !== version)
      throw stale(`was built with ${pkg.replace(/^.*node_modules\//, '')} ${version}, this worker has ${here}`);
  }
  if ((manifest.encodesFailures ?? false) !== encodeFailures)
    throw stale(
      encodeFailures
        ? 'does not encrypt failure messages, and encryption is on (use the -encoded-failures bundle)'
        : 'encrypts failure messages, and encryption is off',
    );
  return manifest;
}

export type BundleChoice =
  { kind: 'prebuilt'; path: string; manifest: WorkflowBundleManifest } | { kind: 'bundle-at-start'; reason: string };

/**
 * Which workflow code a worker runs: WORKFLOW_BUNDLE_PATH if set (refused, with a StaleBundleError, unless it matches
 * `codeRoot` and the failure encoding); else `defaultPath` (or its -encoded-failures twin with encryption on) when it
 * exists and matches; else bundling `codeRoot`/workflows at start (dev).
 */
export function chooseWorkflowBundle(opts: {
  explicitPath?: string;
  defaultPath: string;
  codeRoot: string;
  /** Encryption is on: the bundle must encrypt failure messages (the default path is then its -encoded-failures one). */
  encodeFailures?: boolean;
}): BundleChoice {
  const encode = opts.encodeFailures ?? false;
  if (opts.explicitPath) {
    const manifest = checkWorkflowBundle(opts.explicitPath, opts.codeRoot, encode);
    return { kind: 'prebuilt', path: opts.explicitPath, manifest };
  }
  const defaultPath = encode ? encodedFailuresPathOf(opts.defaultPath) : opts.defaultPath;
  if (!existsSync(defaultPath)) return { kind: 'bundle-at-start', reason: `no ${defaultPath}` };
  try {
    return {
      kind: 'prebuilt',
      path: defaultPath,
      manifest: checkWorkflowBundle(defaultPath, opts.codeRoot, encode),
    };
  } catch (err) {
    if (err instanceof StaleBundleError) return { kind: 'bundle-at-start', reason: err.message };
    throw err;
  }
}
