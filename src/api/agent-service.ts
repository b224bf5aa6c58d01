import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import { poolSettings } from '../config';
import { signalPool } from '../activities/pool';
import { taskWorkflowId } from '../shared/ids';
import { memorySize, recallFor, type AgentInstance, type AgentView, type MemoryEntry } from '../shared/agent';
import type { PoolAnswer, PoolView } from '../shared/pool';
import type { AgentType } from '../shared/agent-type';
import type { Registry } from '../shared/registry';
import type { TaskView } from '../shared/task';
import {
  agentLeaseQuery,
  poolStatusQuery,
  registryQuery,
  removeAgentTypeUpdate,
  taskStatusQuery,
  terminateAgentUpdate,
  upsertAgentTypeUpdate,
} from '../workflows/messages';
import { claimCheckOf, type ClaimCheck } from '../storage/blob-store';
import { temporalRpc, type Rpc } from './temporal-rpc';
import { ApiError, isTemporalUnavailable } from './errors';
import { Failure } from '../shared/errors';
import { withRemoteCapabilities } from './a2a/remote-card';

/** The registry and the pool, as the API sees them: queries and updates on the pool workflow. Holds no state. */
/**
 * What an agent type registered over HTTP may not do unless TRUST_AGENT_TYPES_FROM_API is set: anything that would make
 * the workers run a command or send one of their secrets somewhere the caller chose. The registry file may do all of it.
 */
export function untrustedRuntimeProblem(body: object): string | undefined {
  const runtime = (body as { runtime?: Record<string, unknown> }).runtime;
  if (!runtime || typeof runtime !== 'object') return undefined;
  const servers = Array.isArray(runtime.mcpServers) ? (runtime.mcpServers as Record<string, unknown>[]) : [];
  const hint = ' (declare it in AGENT_REGISTRY_FILE, or set TRUST_AGENT_TYPES_FROM_API=true)';
  if (servers.some((m) => m?.transport === 'stdio'))
    return `runtime.mcpServers: a stdio MCP server is a command the workers would run${hint}`;
  if (runtime.apiKeyEnv !== undefined)
    return `runtime.apiKeyEnv: naming a worker environment variable over HTTP could send any secret to the endpoint${hint}`;
  if (runtime.baseUrl !== undefined && (runtime.provider === 'openai' || runtime.provider === 'anthropic'))
    return `runtime.baseUrl: the ${String(runtime.provider)} key would be sent to that endpoint${hint}`;
  if (JSON.stringify(servers).includes('${'))
    return `runtime.mcpServers: \${VAR} references would send worker environment variables to the server${hint}`;
  return undefined;
}

type Readiness = { ready: true } | { ready: false; reason: string };
const READINESS_TTL_MS = 1_000;

export class AgentService {
  private lastReadiness?: { answer: Promise<Readiness>; settledAt?: number };
  private readonly claimCheck: ClaimCheck;
  private readonly rpc: Rpc;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly fileRegistry: Registry,
  ) {
    this.claimCheck = claimCheckOf(config);
    this.rpc = temporalRpc(client, config.TEMPORAL_RPC_TIMEOUT_MS);
  }

  private pool() {
    return this.client.workflow.getHandle(this.config.AGENT_POOL_ID);
  }

  /** Starts the pool (seeded from the registry file) if no worker has yet. */
  private async ensurePool(): Promise<void> {
    await this.rpc(() =>
      signalPool(
        {
          client: this.client,
          taskQueue: this.config.TEMPORAL_TASK_QUEUE,
          poolInput: () => ({ settings: poolSettings(this.config), types: this.fileRegistry.agentTypes }),
        },
        this.config.AGENT_POOL_ID,
        { kind: 'cancel', requestId: 'api-ensure-pool' },
      ),
    );
  }

  /** Queries the pool, starting it first if it does not exist. */
  private async query<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.rpc(fn);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) && !/not found|already completed/i.test((err as Error).message))
        throw err;
      await this.ensurePool();
      return this.rpc(fn);
    }
  }

  /**
   * Read from the pool's memo: describe() is answered by the server, so this works even while no worker is up. The pool
   * writes the memo in its first workflow task: without it, no worker has run the pool yet, and a query would fail too.
   */
  async registry(): Promise<Registry> {
    const desc = await this.query(() => this.pool().describe());
    const types = desc.memo?.registry;
    if (Array.isArray(types)) return { agentTypes: types as AgentType[] };
    // A worker may be about to run the pool's first workflow task: ask it, briefly. Without one the query fails.
    try {
      return { agentTypes: await this.rpc(() => this.pool().query(registryQuery), 3_000) };
    } catch (err) {
      // The query fails as "unavailable" without a worker, too: tell that apart from Temporal itself being down.
      const reachable = await this.rpc(() => this.client.workflowService.getSystemInfo({}), 2_000).then(
        () => true,
        () => false,
      );
      if (!reachable) throw err;
      throw new ApiError('NOT_READY', this.noWorker());
    }
  }

  private noWorker(): string {
    return `no worker has started the agent pool "${this.config.AGENT_POOL_ID}" yet: start one (npm run worker) on task queue "${this.config.TEMPORAL_TASK_QUEUE}"`;
  }

  /** Ready means: the pool runs, a worker has started it, and it has every agent type of AGENT_REGISTRY_FILE. */
  /**
   * Whether this API can serve (see /readyz). One check against Temporal at a time, and none within a second of the
   * last one's answer, however many probes ask: /readyz is public, so it must not make the API call Temporal at will.
   */
  readiness(): Promise<Readiness> {
    const last = this.lastReadiness;
    if (last && (last.settledAt === undefined || Date.now() - last.settledAt < READINESS_TTL_MS)) return last.answer;
    const entry: { answer: Promise<Readiness>; settledAt?: number } = { answer: this.checkReadiness() };
    const settle = () => {
      entry.settledAt = Date.now();
    };
    entry.answer.then(settle, settle);
    this.lastReadiness = entry;
    return entry.answer;
  }

  private async checkReadiness(): Promise<Readiness> {
    let desc;
    try {
      desc = await this.rpc(() => this.pool().describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { ready: false, reason: this.noWorker() };
      throw err;
    }
    if (desc.status.name !== 'RUNNING')
      return { ready: false, reason: `the agent pool is ${desc.status.name.toLowerCase()}: ${this.noWorker()}` };
    // Types a worker has applied from its registry file count even when removed since (DELETE /v1/agent-types) or
    // refused by its policy (shown in GET /v1/agents): readiness is about the worker having seen the file, not the
    // registry as it is now. Pools from before `applied` have only their registry to go by. (Temporal drops a memo
    // field set to an empty list: a registry emptied by removals has no `registry` field.)
    const applied = Array.isArray(desc.memo?.applied) ? (desc.memo.applied as string[]) : undefined;
    const types = desc.memo?.registry ?? (applied ? [] : undefined);
    if (!Array.isArray(types)) return { ready: false, reason: this.noWorker() };
    const have = new Set([...(types as AgentType[]).map((t) => t.name), ...(applied ?? [])]);
    const missing = this.fileRegistry.agentTypes.map((t) => t.name).filter((n) => !have.has(n));
    if (missing.length > 0)
      return { ready: false, reason: `the worker has not applied the registry yet (missing: ${missing.join(', ')})` };
    return { ready: true };
  }

  async agentType(name: string): Promise<AgentType> {
    const type = (await this.registry()).agentTypes.find((t) => t.name === name);
    if (!type) throw new ApiError('NOT_FOUND', `no agent type "${name}"`);
    return type;
  }

  private async update<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.query(fn);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        const type = cause instanceof ApplicationFailure ? cause.type : undefined;
        const message = cause?.message ?? err.message;
        if (type === Failure.NotFound) throw new ApiError('NOT_FOUND', message);
        if (type === Failure.Conflict) throw new ApiError('CONFLICT', message);
        throw new ApiError('VALIDATION_ERROR', message);
      }
      throw err;
    }
  }

  async putAgentType(name: string, body: unknown): Promise<{ created: boolean; type: AgentType }> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ApiError('VALIDATION_ERROR', 'body must be an agent type object');
    const problem = this.config.TRUST_AGENT_TYPES_FROM_API ? undefined : untrustedRuntimeProblem(body);
    if (problem) throw new ApiError('VALIDATION_ERROR', problem);
    const filled = await withRemoteCapabilities(body);
    const caps = (filled as { capabilities?: unknown }).capabilities;
    if (!Array.isArray(caps) || caps.length === 0)
      throw new ApiError(
        'VALIDATION_ERROR',
        'capabilities: an agent type needs at least one (an a2a type may take them from its card)',
      );
    const existed = (await this.registry()).agentTypes.some((t) => t.name === name);
    const type = await this.update(() =>
      this.pool().executeUpdate(upsertAgentTypeUpdate, { args: [{ ...filled, name }] }),
    );
    return { created: !existed, type };
  }

  async deleteAgentType(name: string): Promise<void> {
    await this.update(() => this.pool().executeUpdate(removeAgentTypeUpdate, { args: [name] }));
  }

  /** The pool, with each busy instance's live lifecycle step read from the task workflow that holds it. */
  async agents(): Promise<PoolAnswer> {
    const view = await this.poolView();
    const agents = await Promise.all(view.agents.map((a) => this.live(a)));
    return {
      maxAgents: view.maxAgents,
      active: view.active,
      queued: view.queued,
      busy: view.busy,
      peakBusy: view.peakBusy,
      agents,
      usageByType: view.usageByType ?? {},
      ...(view.refusedTypes ? { refusedTypes: view.refusedTypes } : {}),
    };
  }

  /** The pool as it is (no per-task lookups): what /metrics reads. */
  async poolView(): Promise<PoolView> {
    return this.query(() => this.pool().query(poolStatusQuery));
  }

  /** `tenant`: show only that tenant's notes of the agent's memory (undefined: an admin, or an open API: all). */
  async agent(
    agentId: string,
    tenant?: string,
  ): Promise<AgentView & { transitions: AgentInstance['transitions']; recentMemory: MemoryEntry[] }> {
    const view = await this.poolView();
    const inst = view.agents.find((a) => a.id === agentId) ?? view.recentlyTerminated.find((a) => a.id === agentId);
    if (!inst) throw new ApiError('NOT_FOUND', `no agent "${agentId}"`);
    const live = await this.live(inst);
    // The pool records assignments; the lifecycle steps in between live in the task workflows it served.
    const served = [
      ...new Map(
        inst.transitions.filter((t) => t.planId && t.taskId).map((t) => [`${t.planId}/${t.taskId}`, t]),
      ).values(),
    ];
    const steps = await Promise.all(served.map((t) => this.taskView(t.planId as string, t.taskId as string)));
    const fine = steps.flatMap((task) =>
      (task?.transitions ?? [])
        .filter((t) => t.agentId === agentId && ['reasoning', 'executing', 'validating', 'waiting'].includes(t.state))
        .map((t) => ({ state: t.state, at: t.at, taskId: task?.id })),
    );
    const transitions = [...inst.transitions, ...fine].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    // The pool keeps a claim check of the instance's memory; the entries are in the blob store.
    const entries = Array.isArray(inst.memory)
      ? inst.memory
      : ((await this.claimCheck.resolve(inst.memory).catch(() => [])) as MemoryEntry[]);
    const recentMemory = tenant === undefined ? entries : recallFor(entries, tenant);
    return { ...live, transitions, recentMemory };
  }

  async terminate(agentId: string): Promise<void> {
    await this.update(() => this.pool().executeUpdate(terminateAgentUpdate, { args: [agentId] }));
  }

  private async taskView(planId: string, taskId: string): Promise<TaskView | undefined> {
    return this.rpc(
      () => this.client.workflow.getHandle(taskWorkflowId(planId, taskId)).query(taskStatusQuery),
      2_000,
    ).catch((err: unknown) => {
      if (isTemporalUnavailable(err)) throw err;
      return undefined;
    });
  }

  /**
   * What a busy instance is doing. The pool records an instance leased to a plan against the first task it was asked
   * for; the plan assigns it on from task to task, so its lease (the holder's `agentLease` query) says which task now.
   */
  private async live(inst: AgentInstance): Promise<AgentView> {
    const { holder, tenant: _t, requestId: _r, consecutiveFailures: _c, memory, ...rest } = inst;
    const view: AgentView = { ...rest, memory: memorySize(memory) };
    if (inst.state !== 'assigned' || !inst.planId || !inst.taskId) return view;
    if (holder) {
      const lease = await this.rpc(() => this.client.workflow.getHandle(holder).query(agentLeaseQuery), 2_000).catch(
        (err: unknown) => {
          if (isTemporalUnavailable(err)) throw err;
          return undefined;
        },
      );
      const mine = lease?.find((l) => l.agentId === inst.id);
      if (mine) {
        view.taskId = mine.taskId ?? null;
        if (!mine.taskId) return view; // leased, between two tasks of its plan
      }
    }
    const task = await this.taskView(inst.planId, view.taskId ?? inst.taskId);
    if (task && ['reasoning', 'executing', 'validating', 'completed', 'failed'].includes(task.state))
      view.state = task.state as AgentView['state'];
    return view;
  }
}
