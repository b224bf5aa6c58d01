/*
 * src/temporal/: how the worker and the API reach Temporal, shared by both: the connection from a profile and the
 * TEMPORAL_* variables (this file), what counts as this machine (loopback.ts), and the search attributes the worker
 * registers in the namespace at start (namespace-setup.ts).
 */
import { hostOf, isLoopbackHost } from './loopback';
import { existsSync, readFileSync } from 'node:fs';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { ConnectionOptions } from '@temporalio/client';

/**
 * Where Temporal is and how to reach it, by Temporal's own conventions (`@temporalio/envconfig`): a profile from
 * `temporal.toml` (`TEMPORAL_CONFIG_FILE`, else the platform's default path; `TEMPORAL_PROFILE`, else "default"),
 * overridden by `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
 * `TEMPORAL_TLS_*`, `TEMPORAL_GRPC_META_*`. The same settings the `temporal` CLI reads, so one profile serves both.
 * See docs/operations.md ("Connecting to Temporal").
 */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Whether the connection uses TLS (set explicitly, by a certificate, or implied by an API key). */
  tls: boolean;
  /** Whether an API key is sent (never the key itself: this object is printed). */
  apiKey: boolean;
  /** The profile read from a config file, if one was. */
  profile?: string;
}

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

export class TemporalConfigError extends Error {}

/** What `NativeConnection.connect`, `Connection.connect` and `Connection.lazy` take, plus a printable summary. */
export interface TemporalConnectConfig {
  target: TemporalTarget;
  /** Holds the API key and key material: pass it to a connection, never print or log it. */
  connectionOptions: Pick<ConnectionOptions, 'tls' | 'metadata'> & { address: string; apiKey?: string };
}

/** Reads the profile and the TEMPORAL_* variables; a missing profile or unreadable file throws a TemporalConfigError. */
export function loadTemporalConnectConfig(env: NodeJS.ProcessEnv = process.env): TemporalConnectConfig {
  const vars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  let profile;
  try {
    // envconfig 1.24 fails on a config file without any table (an empty placeholder): read that as no profiles.
    const disableFile = vars.TEMPORAL_CONFIG_FILE !== undefined && isBlankToml(vars.TEMPORAL_CONFIG_FILE);
    profile = disableFile
      ? loadClientConfigProfile({ overrideEnvVars: vars, disableFile })
      : loadClientConfigProfile({ overrideEnvVars: vars, configFileStrict: false });
  } catch (err) {
    const where = vars.TEMPORAL_CONFIG_FILE ? ` (${vars.TEMPORAL_CONFIG_FILE})` : '';
    throw new TemporalConfigError(
      `Temporal connection profile${where}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const { connectionOptions, namespace } = toClientOptions(profile);
  const address = connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const tls = connectionOptions.tls;
  return {
    target: {
      address,
      namespace: namespace ?? DEFAULT_TEMPORAL_NAMESPACE,
      tls: tls !== undefined && tls !== false && tls !== null,
      apiKey: typeof connectionOptions.apiKey === 'string' && connectionOptions.apiKey.length > 0,
      ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
    },
    connectionOptions: {
      address,
      ...(tls !== undefined ? { tls } : {}),
      ...(typeof connectionOptions.apiKey === 'string' ? { apiKey: connectionOptions.apiKey } : {}),
      ...(connectionOptions.metadata && Object.keys(connectionOptions.metadata).length > 0
        ? { metadata: connectionOptions.metadata }
        : {}),
    },
  };
}

function isBlankToml(path: string): boolean {
  if (!existsSync(path)) return false; // envconfig reads a missing file as "no profiles" itself
  return readFileSync(path, 'utf8')
    .split('\n')
    .every((line) => /^\s*(#.*)?$/.test(line));
}

const TEMPORAL_CLOUD = /\.tmprl\.cloud(:\d+)?$/;

/**
 * Where links to the Temporal Web UI point when TEMPORAL_UI_URL is not set: Temporal Cloud's UI for a Cloud address,
 * the dev server's UI (port 8233) for a local one, and nowhere otherwise (a self-hosted UI's address cannot be guessed).
 */
export function defaultUiUrl(target: TemporalTarget): string | undefined {
  if (TEMPORAL_CLOUD.test(target.address)) return 'https://cloud.temporal.io';
  if (isLoopbackHost(hostOf(target.address)) && !target.tls) return 'http://localhost:8233';
  return undefined;
}

/** "host:port (namespace ns, TLS, API key, profile p)": for start-up lines and error messages. */
export function describeTarget(target: TemporalTarget): string {
  const extras = [
    `namespace ${target.namespace}`,
    ...(target.tls ? ['TLS'] : []),
    ...(target.apiKey ? ['API key'] : []),
    ...(target.profile ? [`profile ${target.profile}`] : []),
  ];
  return `${target.address} (${extras.join(', ')})`;
}
