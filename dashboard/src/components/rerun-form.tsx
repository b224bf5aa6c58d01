import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { errorText } from '../format';
import { navigate } from '../router';
import type { RerunAnswer, TaskSpecView } from '../types';

/** JSON with every object's keys sorted: two inputs are the same when these are. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** What the input box holds, read as the task's input: an object, or nothing (an empty box); else why not. */
function readInput(text: string): { ok: true; input?: Record<string, unknown> } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `The input is not valid JSON: ${errorText(err)}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, error: 'The input must be a JSON object ({ … }), or empty for none.' };
  return { ok: true, input: value as Record<string, unknown> };
}

/**
 * "Rerun from here": the task's description and input as its plan declares them, editable; submitting starts a new
 * plan from this one (POST /v1/plans/:planId/rerun, `from: [taskId]`, with an override of what changed) and opens it.
 * The tasks it does not reach are reused, not run again (docs/dashboard.md, "Rerun from a task").
 */
export function RerunForm({ planId, taskId, onClose }: { planId: string; taskId: string; onClose: () => void }) {
  const [spec, setSpec] = useState<TaskSpecView>();
  const [description, setDescription] = useState('');
  const [input, setInput] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // The new plan's id, chosen once: the same request sent again (a retry after a lost answer) starts one plan, not two.
  const [newId] = useState(() => crypto.randomUUID());
  const plan = encodeURIComponent(planId);

  useEffect(() => {
    let stale = false;
    setSpec(undefined);
    setError(undefined);
    api<TaskSpecView>(`/v1/plans/${plan}/tasks/${encodeURIComponent(taskId)}/spec`)
      .then((s) => {
        if (stale) return;
        setSpec(s);
        setDescription(s.description ?? '');
        setInput(s.input === undefined ? '' : JSON.stringify(s.input, null, 2));
      })
      .catch((err: unknown) => !stale && setError(errorText(err)));
    return () => {
      stale = true;
    };
  }, [plan, taskId]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!spec) return;
    const read = readInput(input);
    if (!read.ok) {
      setError(read.error);
      return;
    }
    // Only what changed is overridden; an emptied box clears the input.
    const override: { description?: string; input?: Record<string, unknown> } = {};
    if (description !== (spec.description ?? '')) override.description = description;
    if (canonical(read.input ?? {}) !== canonical(spec.input ?? {})) override.input = read.input ?? {};
    const body = {
      id: newId,
      from: [taskId],
      ...(Object.keys(override).length > 0 ? { overrides: { [taskId]: override } } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      const started = await api<RerunAnswer>(`/v1/plans/${plan}/rerun`, { method: 'POST', body });
      navigate(`/plans/${encodeURIComponent(started.planId)}`);
    } catch (err) {
      setError(err instanceof ApiError ? `Not rerun (${err.status} ${err.code}): ${err.message}` : errorText(err));
      setBusy(false);
    }
  };

  return (
    <form class="rerun-form" data-task-id={taskId} onSubmit={(e) => void submit(e)}>
      <h3>Rerun from {taskId}</h3>
      <p class="muted small">
        A new plan: this task runs again with what you change below, and so does everything that depends on it; every
        other completed task is reused from this plan, not run again.
      </p>
      {spec ? (
        <>
          <label>
            Description
            <textarea
              name="description"
              rows={3}
              value={description}
              onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <label>
            Input (JSON object)
            <textarea
              name="input"
              rows={8}
              spellcheck={false}
              value={input}
              onInput={(e) => setInput((e.target as HTMLTextAreaElement).value)}
            />
          </label>
        </>
      ) : error ? null : (
        <p class="muted small">Loading the task…</p>
      )}
      {error ? (
        <p class="error small" role="alert">
          {error}
        </p>
      ) : null}
      <div class="actions">
        <button type="submit" class="approve" disabled={!spec || busy}>
          {busy ? 'Starting…' : 'Start the rerun'}
        </button>
        <button type="button" disabled={busy} onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
