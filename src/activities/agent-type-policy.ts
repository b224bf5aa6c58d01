import { ApplicationFailure } from '@temporalio/common';
import type { AgentType, McpServer } from '../shared/agent-type';
import { Failure } from '../shared/errors';

/**
 * What this worker lets an agent type make it do, whoever registered the type (the API, a signal sent straight to
 * Temporal, a forged pool input): run a stdio MCP command, send a request to a host, read an environment variable into
 * a header, an MCP server's environment or a provider key. The worker's own configuration decides: its registry file
 * (AGENT_REGISTRY_FILE, or the built-in one) is trusted as it is written, and WORKER_ALLOW_* add to it
 * (docs/security.md, "The worker's own checks"). Pure: the pool's check and the steps' checks share it.
 */

const VAR_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Variables the providers read when a type names none: a type naming one of them asks for nothing more. */
const PROVIDER_KEY_VARS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'];

export interface AgentTypeAllowances {
  /** Commands stdio MCP servers may run with any arguments (WORKER_ALLOW_MCP_COMMANDS). */
  mcpCommands: readonly string[];
  /** Hosts of model and MCP URLs (WORKER_ALLOW_HOSTS): exact names, or `*.example.com` for its subdomains. */
  hosts: readonly string[];
  /** Variables `${VAR}` and `apiKeyEnv` may read (WORKER_ALLOW_ENV_VARS). */
  envVars: readonly string[];
}

const refsOf = (values: Record<string, string> | undefined): string[] =>
  Object.values(values ?? {}).flatMap((v) => [...v.matchAll(VAR_REF)].map((m) => m[1] as string));

const bare = (host: string): string => host.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** A stdio server as what it runs: its command, arguments, environment and directory (not its name). */
const stdioKey = (s: Extract<McpServer, { transport: 'stdio' }>): string =>
  JSON.stringify([
    s.command,
    s.args ?? [],
    Object.entries(s.env ?? {}).sort(([a], [b]) => a.localeCompare(b)),
    s.cwd ?? null,
  ]);

export class AgentTypePolicy {
  private readonly commands: ReadonlySet<string>;
  private readonly trustedStdio = new Set<string>();
  private readonly hosts: string[];
  private readonly vars: Set<string>;

  /** `trusted`: the worker's own registry (its file): what it declares is allowed as declared. */
  constructor(allow: AgentTypeAllowances, trusted: readonly AgentType[]) {
    this.commands = new Set(allow.mcpCommands);
    this.hosts = allow.hosts.map(bare);
    this.vars = new Set(allow.envVars);
    for (const t of trusted) {
      if (t.runtime.apiKeyEnv) this.vars.add(t.runtime.apiKeyEnv);
      const urls = [
        t.runtime.baseUrl,
        t.runtime.cardUrl,
        ...t.runtime.mcpServers.map((m) => (m.transport === 'http' ? m.url : undefined)),
      ];
      for (const u of urls) if (u) this.hosts.push(bare(new URL(u).hostname));
      for (const m of t.runtime.mcpServers) {
        for (const v of refsOf(m.transport === 'stdio' ? m.env : m.headers)) this.vars.add(v);
        if (m.transport === 'stdio') this.trustedStdio.add(stdioKey(m));
      }
    }
  }

  private hostAllowed(host: string): boolean {
    const h = bare(host);
    return this.hosts.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) : a === h));
  }

  private urlProblem(url: string, where: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `${where}: not a URL`;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${where}: only http(s) URLs`;
    if (!this.hostAllowed(parsed.hostname))
      return `${where}: host "${bare(parsed.hostname)}" is not one this worker allows (WORKER_ALLOW_HOSTS)`;
    return undefined;
  }

  private varProblems(values: Record<string, string> | undefined, where: string): string[] {
    return [...new Set(refsOf(values))]
      .filter((v) => !this.vars.has(v))
      .map((v) => `${where}: \${${v}} is not a variable this worker allows (WORKER_ALLOW_ENV_VARS)`);
  }

  /** What in one MCP server this worker does not allow; empty when it may be used. */
  serverProblems(server: McpServer, where = `mcpServers "${server.name}"`): string[] {
    if (server.transport === 'http') {
      const url = this.urlProblem(server.url, `${where}.url`);
      return [...(url ? [url] : []), ...this.varProblems(server.headers, `${where}.headers`)];
    }
    if (!this.commands.has(server.command) && !this.trustedStdio.has(stdioKey(server)))
      return [
        `${where}: the stdio command "${server.command}" is not one this worker runs (WORKER_ALLOW_MCP_COMMANDS, or the registry file's own servers)`,
      ];
    return this.varProblems(server.env, `${where}.env`);
  }

  /** What in an agent type this worker does not allow; empty when it may run. */
  problems(type: AgentType): string[] {
    const r = type.runtime;
    const out: string[] = [];
    // A model's base URL and a remote A2A agent's card (where the step sends the task) are both requests it makes.
    for (const [u, where] of [
      [r.baseUrl, 'runtime.baseUrl'],
      [r.cardUrl, 'runtime.cardUrl'],
    ] as const) {
      const url = u ? this.urlProblem(u, where) : undefined;
      if (url) out.push(url);
    }
    if (r.apiKeyEnv && !this.vars.has(r.apiKeyEnv) && !PROVIDER_KEY_VARS.includes(r.apiKeyEnv))
      out.push(`runtime.apiKeyEnv: ${r.apiKeyEnv} is not a variable this worker allows (WORKER_ALLOW_ENV_VARS)`);
    for (const m of r.mcpServers) out.push(...this.serverProblems(m, `runtime.mcpServers "${m.name}"`));
    return out;
  }

  /** Throws the step's non-retryable AgentTypeRefused when the type asks for anything this worker does not allow. */
  check(type: AgentType): void {
    const problems = this.problems(type);
    if (problems.length > 0) throw refused(`agent type "${type.name}"`, problems);
  }

  checkServer(server: McpServer): void {
    const problems = this.serverProblems(server);
    if (problems.length > 0) throw refused(`MCP server "${server.name}"`, problems);
  }

  /** `${VAR}` in MCP env values and headers, from `env`; only variables this worker allows (checkServer first). */
  expand(values: Record<string, string> | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(
      Object.entries(values ?? {}).map(([k, v]) => [
        k,
        v.replace(VAR_REF, (whole, n: string) => (this.vars.has(n) ? (env[n] ?? '') : whole)),
      ]),
    );
  }
}

function refused(what: string, problems: string[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${what} refused by this worker: ${problems.join('; ')}`,
    Failure.AgentTypeRefused,
  );
}
