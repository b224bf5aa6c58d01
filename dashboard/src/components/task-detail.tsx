import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { errorText, fmtTime, fmtUsage, preview } from '../format';
import { isFinalState, type PlanModel, type TaskNode } from '../plan-model';
import type { TaskDetailView } from '../types';
import { Link, ReusedBadge, StateBadge } from './bits';
import { InputRequestRow } from './input-requests';
import { RerunForm } from './rerun-form';

/**
 * The Web UI's page of a task's workflow (`plan-<planId>-task-<taskId>`), next to its plan's; the plan's own page for a
 * task that ran inline in it (its step is an activity there).
 */
const taskUiLink = (planUi: string | undefined, taskId: string, inline: boolean): string | undefined =>
  planUi ? (inline ? planUi : `${planUi}${encodeURIComponent(`-task-${taskId}`)}`) : undefined;

/** A task's agent and assignments, attempts and errors, output, messages, usage, and its workflow in the Web UI. */
export function TaskDetail({
  planId,
  model,
  task,
  onClose,
}: {
  planId: string;
  model: PlanModel;
  task: TaskNode;
  onClose: () => void;
}) {
  const [detail, setDetail] = useState<TaskDetailView>();
  const [error, setError] = useState<string>();
  const [cancelling, setCancelling] = useState(false);
  const [rerunning, setRerunning] = useState(false);
  useEffect(() => setRerunning(false), [planId, task.id]);
  useEffect(() => {
    let stale = false;
    api<TaskDetailView>(`/v1/plans/${encodeURIComponent(planId)}/tasks/${encodeURIComponent(task.id)}`)
      .then((d) => {
        if (!stale) {
          setDetail(d);
          setError(undefined);
        }
      })
      .catch((err: unknown) => !stale && setError(errorText(err)));
    return () => {
      stale = true;
    };
  }, [planId, task.id, task.state, task.attempts]);

  const cancel = async () => {
    setCancelling(true);
    try {
      await api(`/v1/plans/${encodeURIComponent(planId)}/tasks/${encodeURIComponent(task.id)}/cancel`, {
        method: 'POST',
        body: { reason: 'cancelled from the dashboard' },
      });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setCancelling(false);
    }
  };
  const usage = model.usageByTask[task.id] ?? detail?.usage ?? task.usage;
  const messages = model.messagesOf(task);
  const text = model.texts.get(task.id);
  const inline = detail?.inline === true;
  const reusedFrom = task.reusedFrom ?? (detail?.reused ? detail.reusedFrom : undefined);
  // A reused task has no workflow in this plan: the plan that ran it (linked above) has its own.
  const ui = reusedFrom === undefined ? taskUiLink(model.links?.ui, task.id, inline) : undefined;
  const err = detail?.error ?? task.error;
  const request = model.inputs.get(task.id);
  return (
    <div
      class="task-detail"
      data-task-id={task.id}
      data-state={task.state}
      data-reused={String(reusedFrom !== undefined)}
    >
      <div class="detail-head">
        <h2>
          {task.id} <StateBadge state={task.state} />
          {reusedFrom !== undefined ? <ReusedBadge from={reusedFrom} /> : null}
        </h2>
        <button class="link" onClick={onClose} title="Close">
          ×
        </button>
      </div>
      {task.path.length > 1 ? <div class="muted small">in {task.path.slice(0, -1).join(' › ')}</div> : null}
      {reusedFrom !== undefined ? (
        <p class="muted small reused-note">
          Not run in this plan: its output is the one it had in{' '}
          <Link href={`/plans/${encodeURIComponent(reusedFrom)}`}>{reusedFrom}</Link>, reused by this rerun.
        </p>
      ) : null}
      <dl>
        <dt>Agent</dt>
        <dd>
          {task.agentId ?? detail?.agentId ?? '—'} <span class="muted">({task.agentType ?? detail?.agentType})</span>
        </dd>
        <dt>Attempts</dt>
        <dd>{detail?.attempts ?? task.attempts}</dd>
        <dt>Usage</dt>
        <dd>{fmtUsage(usage)}</dd>
        {task.dependsOn.length > 0 ? (
          <>
            <dt>Depends on</dt>
            <dd>{task.dependsOn.join(', ')}</dd>
          </>
        ) : null}
        {ui ? (
          <>
            <dt>Workflow</dt>
            <dd>
              <a href={ui} target="_blank" rel="noreferrer">
                Temporal UI
              </a>
              {inline ? " (ran inline: its step is an activity of the plan's workflow)" : null}
            </dd>
          </>
        ) : null}
      </dl>
      {request ? <InputRequestRow planId={planId} request={request} /> : null}
      {task.path.length === 1 && !isFinalState(task.state) && model.status === 'running' ? (
        <button class="danger" disabled={cancelling} onClick={() => void cancel()}>
          Cancel task
        </button>
      ) : null}
      {rerunning ? (
        <RerunForm planId={planId} taskId={task.id} onClose={() => setRerunning(false)} />
      ) : (
        <button class="rerun" onClick={() => setRerunning(true)} title="Start a new plan from this task">
          Rerun from here
        </button>
      )}
      {error ? <p class="error small">{error}</p> : null}
      {err ? (
        <div class="task-error">
          <strong>{err.type}</strong>: {err.message}
        </div>
      ) : null}
      {detail && detail.assignments.length > 0 ? (
        <>
          <h3>Assignments</h3>
          <table class="small">
            <tbody>
              {detail.assignments.map((a, i) => (
                <tr key={i}>
                  <td>{a.agentId}</td>
                  <td class="muted">{a.agentType}</td>
                  <td>
                    <StateBadge state={a.outcome} />
                  </td>
                  <td class="error">{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {detail?.revisions && detail.revisions.length > 0 ? (
        <>
          <h3>Revisions</h3>
          <ol class="revisions small">
            {detail.revisions.map((r) => (
              <li key={r.round} data-accepted={String(r.accepted)}>
                <StateBadge state={r.accepted ? 'completed' : 'failed'} /> round {r.round}, by{' '}
                {r.by === 'schema' ? 'its output contract' : r.by} <span class="muted">{fmtTime(r.at)}</span>
                {r.reasons.length > 0 ? (
                  <ul>
                    {r.reasons.map((reason, i) => (
                      <li key={i} class="error">
                        {reason}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {detail?.transitions && detail.transitions.length > 0 ? (
        <>
          <h3>Lifecycle</h3>
          <ol class="transitions small">
            {detail.transitions.map((t, i) => (
              <li key={i}>
                <StateBadge state={t.state} /> <span class="muted">{fmtTime(t.at)}</span>
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {text ? (
        <>
          <h3>Model output so far{text.step ? ` (${text.step})` : ''}</h3>
          <pre class="text">{text.text}</pre>
        </>
      ) : null}
      {detail && 'output' in detail ? (
        <>
          <h3>Output</h3>
          <pre class="output">{preview(detail.output)}</pre>
        </>
      ) : null}
      <h3>Messages</h3>
      {messages.length === 0 ? (
        <p class="muted small">none</p>
      ) : (
        <ul class="messages small">
          {messages.map((m) => (
            <li key={m.id}>
              <span class="muted">
                {m.from} → {m.to} · {m.state}
              </span>
              <pre>{preview(m.body, 2_000)}</pre>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
