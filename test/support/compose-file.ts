import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '..', '..');

export interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  restart?: string;
  environment?: Record<string, string | number | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  entrypoint?: string[];
  command?: string[];
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** Compose's interpolation of one string: `${VAR:-default}`, `${VAR}`, `${VAR:?message}` (throws), `$$`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-|:\?)([^}]*))?\}/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      const set = env[name!];
      if (set !== undefined && set !== '') return set;
      if (op === ':?') throw new Error(`${name}: ${arg}`);
      return op ? arg! : '';
    },
  );
}

function interpolateAll(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  return node;
}

/**
 * A compose file as `docker compose config` sees it with only `env` set in the shell: parsed (YAML merge keys
 * resolved), then every string value interpolated, as compose does.
 */
export function loadCompose(relativePath: string, env: Record<string, string> = {}): ComposeFile {
  const text = readFileSync(join(ROOT, relativePath), 'utf8');
  // Compose's own tags (!reset, !override) parse as their plain value: `depends_on: !reset {}` reads as {}.
  return interpolateAll(parse(text, { merge: true, logLevel: 'error' }), env) as ComposeFile;
}
