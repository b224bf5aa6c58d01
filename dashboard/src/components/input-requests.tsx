import { useState } from 'preact/hooks';
import { api } from '../api';
import { errorText } from '../format';
import type { InputRequest, PlanModel } from '../plan-model';

/** Tasks waiting for a human: approve or reject each, with a comment (the `submit` scope when the API has keys). */
export function InputRequests({
  planId,
  model,
  onSelect,
}: {
  planId: string;
  model: PlanModel;
  onSelect: (taskId: string) => void;
}) {
  const waiting = model.waiting();
  if (waiting.length === 0) return null;
  return (
    <section class="inputs" data-testid="input-requests">
      <h2>Waiting for you</h2>
      {waiting.map((r) => (
        <InputRequestRow key={r.taskId} planId={planId} request={r} onSelect={onSelect} />
      ))}
    </section>
  );
}

function prompt(r: InputRequest): string | undefined {
  const d = r.details;
  for (const k of ['prompt', 'request', 'description', 'message']) if (typeof d[k] === 'string') return d[k];
  return undefined;
}

export function InputRequestRow({
  planId,
  request,
  onSelect,
}: {
  planId: string;
  request: InputRequest;
  onSelect?: (taskId: string) => void;
}) {
  const [comment, setComment] = useState('');
  const [state, setState] = useState<'idle' | 'sending' | 'sent'>('idle');
  const [error, setError] = useState<string>();
  const answer = async (approved: boolean) => {
    setState('sending');
    try {
      await api(`/v1/plans/${encodeURIComponent(planId)}/tasks/${encodeURIComponent(request.taskId)}/input`, {
        method: 'POST',
        body: { approved, ...(comment.trim() ? { data: { comment: comment.trim() } } : {}) },
      });
      setState('sent');
      setError(undefined);
    } catch (err) {
      setState('idle');
      setError(errorText(err));
    }
  };
  const text = prompt(request);
  const r = request;
  return (
    <div class="input-request" data-task-id={request.taskId}>
      <div>
        <button class="link" onClick={() => onSelect?.(request.taskId)}>
          {request.taskId}
        </button>
        <span class="muted">
          {' '}
          asks for{' '}
          {r.details.kind === 'input' ? 'input' : r.details.kind === 'approval' ? 'approval' : 'approval or input'}
          {text ? `: ${text}` : ''}
        </span>
      </div>
      <input
        type="text"
        name="comment"
        placeholder="Comment (optional)"
        value={comment}
        disabled={state !== 'idle'}
        onInput={(e) => setComment((e.target as HTMLInputElement).value)}
      />
      <button class="approve" disabled={state !== 'idle'} onClick={() => void answer(true)}>
        Approve
      </button>
      <button class="danger reject" disabled={state !== 'idle'} onClick={() => void answer(false)}>
        Reject
      </button>
      {state === 'sent' ? <span class="muted small">sent</span> : null}
      {error ? <span class="error small">{error}</span> : null}
    </div>
  );
}
