/**
 * Every failure type the orchestrator raises (the `type` of an ApplicationFailure from a lifecycle step or a workflow,
 * and `error.type` of a failed task in the API): what it means, whether Temporal may retry the step, and whether it
 * counts against the agent instance. docs/reliability.md lists them. The HTTP API's own error codes (`400
 * VALIDATION_ERROR`, ...) are a different thing: src/api/errors.ts.
 *
 * No zod and no Temporal import here: workflow code reads it on every start.
 */
interface FailureTypeInfo {
  /** A lifecycle step (activity), the task or plan workflow, or the pool answering an update. */
  raisedBy: 'step' | 'workflow' | 'pool';
  meaning: string;
  /** In every step's retry policy as non-retryable: no retry or other agent can fix it, the task fails at once. */
  nonRetryable?: true;
  /** The step raises it as non-retryable itself. */
  final?: true;
  /** Not retried on the same instance, but another instance (or the fallback type) may do better: reassigned. */
  reassignable?: true;
  /** The plan's budget or an outside service failed, not the instance: it does not count towards quarantine. */
  notTheAgentsFault?: true;
}

const FAILURE_TYPES = {
  // The first six, in this order, are the steps' non-retryable types (the order is part of recorded histories).
  BadInput: { raisedBy: 'step', meaning: 'the task, its input or a tool call is malformed', nonRetryable: true },
  ValidationRejected: {
    raisedBy: 'step',
    meaning: 'the output was rejected (empty; or its contract or reviewer rejected it past `maxRevisions`)',
    nonRetryable: true,
    reassignable: true,
  },
  InvalidSubtasks: {
    raisedBy: 'step',
    meaning: 'a coordinator proposed subtasks that do not check',
    nonRetryable: true,
  },
  SimulatedFatal: { raisedBy: 'step', meaning: 'offline runtime: `simulate.nonRetryable`', nonRetryable: true },
  ModelAuthFailed: {
    raisedBy: 'step',
    meaning: 'the model provider refused the key (401/403), or no key is set',
    nonRetryable: true,
    notTheAgentsFault: true,
  },
  ModelBadRequest: {
    raisedBy: 'step',
    meaning: 'the provider refused the request (400)',
    nonRetryable: true,
    notTheAgentsFault: true,
  },
  ModelRateLimited: {
    raisedBy: 'step',
    meaning: 'the provider answered 429: retried after its retry-after',
    notTheAgentsFault: true,
  },
  ModelServerError: { raisedBy: 'step', meaning: 'the provider answered 5xx', notTheAgentsFault: true },
  ModelUnavailable: { raisedBy: 'step', meaning: 'the provider could not be reached', notTheAgentsFault: true },
  ModelError: { raisedBy: 'step', meaning: 'any other model-call failure' },
  ToolServerUnavailable: {
    raisedBy: 'step',
    meaning: 'an MCP server could not be started or reached',
    notTheAgentsFault: true,
  },
  ToolError: { raisedBy: 'step', meaning: 'an MCP tool answered with an error', final: true },
  RemoteAgentFailed: {
    raisedBy: 'step',
    meaning: 'a remote A2A agent ended its task failed, rejected or cancelled, or no longer knows it',
    final: true,
  },
  RemoteAgentUnavailable: {
    raisedBy: 'step',
    meaning: 'a remote A2A agent (or its card) could not be reached: the retry resumes the same remote task',
    notTheAgentsFault: true,
  },
  AgentTypeUnavailable: { raisedBy: 'step', meaning: "the task's agent type is not in the registry the worker reads" },
  AgentTypeRefused: {
    raisedBy: 'step',
    meaning:
      "the worker's configuration does not allow what the agent type asks: a stdio command, a host, a variable (WORKER_ALLOW_*)",
    final: true,
    notTheAgentsFault: true,
  },
  RuntimeUnavailable: { raisedBy: 'step', meaning: 'offline runtime: `OFFLINE_RUNTIME_OUTAGE_FILE` exists' },
  SimulatedFailure: { raisedBy: 'step', meaning: 'offline runtime: `simulate.failAttempts` or `alwaysFail`' },
  SimulatedAgentFailure: {
    raisedBy: 'step',
    meaning: 'offline runtime: `simulate.failOnAgents` (another agent succeeds)',
  },
  SimulatedHang: { raisedBy: 'step', meaning: 'offline runtime: `simulate.hang` (the step heartbeats out first)' },
  Rejected: { raisedBy: 'workflow', meaning: 'a human answered `approved: false` to a task waiting for approval' },
  InputTimeout: { raisedBy: 'workflow', meaning: 'no human input in time, `onInputTimeout: fail`' },
  InputTimeoutSkip: {
    raisedBy: 'workflow',
    meaning: 'no human input in time, `onInputTimeout: skip`: the task is skipped',
  },
  BudgetExhausted: {
    raisedBy: 'workflow',
    meaning: "the plan's budget ran out: the task is skipped",
    notTheAgentsFault: true,
  },
  SubtaskFailed: { raisedBy: 'workflow', meaning: "a coordinator's sub-agent failed" },
  NoAgentType: { raisedBy: 'workflow', meaning: 'no registered agent type can do the task any more' },
  TaskFailed: { raisedBy: 'workflow', meaning: 'a task workflow failed (its details say who tried what)' },
  Error: { raisedBy: 'workflow', meaning: 'a failure that carried no type' },
  NotFound: { raisedBy: 'pool', meaning: 'no such agent type or agent' },
  Conflict: { raisedBy: 'pool', meaning: 'the agent type or agent is in use' },
} satisfies Record<string, FailureTypeInfo>;

export type FailureType = keyof typeof FAILURE_TYPES;

/** The names as values: `Failure.BadInput` is `'BadInput'`. */
export const Failure = Object.fromEntries(Object.keys(FAILURE_TYPES).map((k) => [k, k])) as {
  readonly [K in FailureType]: K;
};

/** Every type with what it means, in the order above. */
export const failureTypes = (): { type: FailureType; info: FailureTypeInfo }[] =>
  (Object.entries(FAILURE_TYPES) as [FailureType, FailureTypeInfo][]).map(([type, info]) => ({ type, info }));

/** Error types that no retry or other agent can fix: the task fails at once. */
export const NON_RETRYABLE_TYPES: string[] = failureTypes()
  .filter((f) => f.info.nonRetryable)
  .map((f) => f.type);

/** Non-retryable on the instance that raised them, but reassigned to another (FailureTypeInfo.reassignable). */
export const REASSIGNABLE_TYPES: readonly string[] = failureTypes()
  .filter((f) => f.info.reassignable)
  .map((f) => f.type);

/** Failures of the plan's budget or of outside services, not of the agent instance: they do not count against it. */
export const NOT_THE_AGENTS_FAULT: readonly string[] = failureTypes()
  .filter((f) => f.info.notTheAgentsFault)
  .map((f) => f.type);
