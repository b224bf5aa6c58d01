import { existsSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { memoryEntries, recallFor } from '../shared/agent';
import type { AiRuntime, ExecuteContext, Messenger, ReviewContext, StepContext, StepControl } from './types';
import { Failure } from '../shared/errors';

import { Simulate } from '../shared/simulate';
import { describeIssues } from '../shared/zod-issues';

function directives(ctx: StepContext): Simulate {
  const raw = ctx.input?.simulate;
  if (raw === undefined) return {};
  const parsed = Simulate.safeParse(raw);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `task "${ctx.taskId}": bad input.simulate: ${describeIssues(parsed.error.issues)}`,
      Failure.BadInput,
    );
  }
  return parsed.data;
}

/** A short, bounded rendering of another task's output, so chains of tasks do not grow their outputs quadratically. */
export function summarize(output: unknown): unknown {
  if (output && typeof output === 'object' && 'summary' in output) return (output as { summary: unknown }).summary;
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  return text !== undefined && text.length > 200 ? `${text.slice(0, 200)}…` : output;
}

const summarizeAll = (outputs: Record<string, unknown> | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(outputs ?? {}).map(([k, v]) => [k, summarize(v)]));

/**
 * The built-in AI runtime used when an agent type has no model: deterministic, never touches the network, and driven by
 * `task.input.simulate` so every path of the orchestrator (latency, retries, reassignment, hangs, decomposition) can be
 * reached without an LLM.
 */
export class OfflineRuntime implements AiRuntime {
  /** @param outageFile fault injection: while this file exists, every call fails as if the model provider were down. */
  constructor(private readonly outageFile?: string) {}

  private checkOutage(ctx: StepContext): void {
    if (this.outageFile && existsSync(this.outageFile)) {
      throw ApplicationFailure.create({
        type: Failure.RuntimeUnavailable,
        message: `AI runtime unavailable for "${ctx.taskId}" (outage file ${this.outageFile} present)`,
      });
    }
  }

  async reason(
    ctx: StepContext,
    control: StepControl,
  ): Promise<{ thoughts: string; subtasks?: Record<string, unknown>[] }> {
    const sim = directives(ctx);
    this.checkOutage(ctx);
    if (sim.latencyMs) await control.sleep(sim.latencyMs);
    const deps = Object.keys(ctx.dependencies);
    return {
      thoughts: `${ctx.agentId} plans "${ctx.description ?? ctx.taskId}"${deps.length ? ` using ${deps.join(', ')}` : ''}`,
      subtasks: sim.subtasks,
    };
  }

  async act(ctx: ExecuteContext, control: StepControl, env: { messenger: Messenger }): Promise<unknown> {
    const sim = directives(ctx);
    this.checkOutage(ctx);
    // Messages first, with ids derived from the step's idempotency key: a retried step re-sends them and the plan's
    // de-duplication drops the copies.
    for (const [i, m] of (sim.send ?? []).entries()) {
      await env.messenger.send(ctx.planId, {
        id: m.id ?? `${control.idempotencyKey}/${i}`,
        from: ctx.agentId,
        to: m.to,
        body: m.body,
        sentAt: new Date().toISOString(),
      });
    }
    if (sim.hang) {
      // Stop heartbeating and never finish; the server's heartbeat timeout fails this attempt. The activity gives up
      // on its own after a while so a hung attempt does not occupy the worker forever.
      await new Promise<void>((resolve) =>
        setTimeout(resolve, Math.max(3 * (control.heartbeatTimeoutMs ?? 30_000), 1_000)).unref(),
      );
      throw ApplicationFailure.create({ type: Failure.SimulatedHang, message: 'simulated hang ended' });
    }
    if (sim.latencyMs) await control.sleep(sim.latencyMs);
    if (sim.alwaysFail) {
      throw ApplicationFailure.create({
        type: sim.nonRetryable ? Failure.SimulatedFatal : Failure.SimulatedFailure,
        message: `simulated failure of "${ctx.taskId}" on ${ctx.agentId} (attempt ${control.attempt})`,
        nonRetryable: sim.nonRetryable ?? false,
      });
    }
    if (sim.failAttempts !== undefined && control.attempt <= sim.failAttempts) {
      throw ApplicationFailure.create({
        type: Failure.SimulatedFailure,
        message: `simulated failure of "${ctx.taskId}", attempt ${control.attempt} of the first ${sim.failAttempts}`,
      });
    }
    if (sim.failOnAgents !== undefined && ctx.assignment < sim.failOnAgents) {
      throw ApplicationFailure.create({
        type: Failure.SimulatedAgentFailure,
        message: `simulated failure of "${ctx.taskId}" on agent ${ctx.agentId} (${ctx.assignment + 1} of ${sim.failOnAgents})`,
        nonRetryable: false,
      });
    }
    const round = ctx.revision?.round ?? 1;
    if (sim.outputs && round <= sim.outputs.length) return sim.outputs[round - 1];
    if ('output' in sim) return sim.output;
    if (sim.outputBytes !== undefined) return `${ctx.taskId}:`.padEnd(sim.outputBytes, 'x').slice(0, sim.outputBytes);
    const { simulate: _simulate, ...input } = ctx.input ?? {};
    return {
      summary: `${ctx.taskId} done by ${ctx.agentId} (${ctx.agentType})`,
      task: ctx.taskId,
      agent: ctx.agentId,
      agentType: ctx.agentType,
      description: ctx.description,
      input,
      dependencies: summarizeAll(ctx.dependencies),
      // Whole, not summarized: a coordinator's output carries its sub-agents' results, so the top of a tree holds its leaves'.
      ...(ctx.subtaskOutputs ? { subtasks: ctx.subtaskOutputs } : {}),
      reasoning: ctx.reasoning,
      memory: recallFor(memoryEntries(ctx.memory), ctx.tenant).map((m) => m.note),
      ...(ctx.humanInput !== undefined ? { humanInput: ctx.humanInput } : {}),
      inbox: ctx.inbox.map((m) => ({ id: m.id, from: m.from, body: m.body })),
    };
  }

  async validate(ctx: StepContext, control: StepControl): Promise<{ ok: true } | { ok: false; reason: string }> {
    const sim = directives(ctx);
    if (sim.latencyMs) await control.sleep(sim.latencyMs);
    return { ok: true };
  }

  /** As a reviewer: the task's scripted verdict for this round (`simulate.verdicts`), accepted past the end. */
  async review(ctx: ReviewContext, control: StepControl): Promise<{ accepted: boolean; reasons: string[] }> {
    const sim = directives(ctx);
    this.checkOutage(ctx);
    if (sim.latencyMs) await control.sleep(sim.latencyMs);
    const verdict = sim.verdicts?.[ctx.round - 1];
    return verdict ?? { accepted: true, reasons: [] };
  }
}
