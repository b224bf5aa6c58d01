import { useState } from 'preact/hooks';
import { api } from '../api';
import { errorText } from '../format';
import type { PlanModel } from '../plan-model';

/** Pause, resume and cancel a running plan (the `operate` scope when the API has keys). */
export function PlanActions({
  planId,
  model,
  onError,
}: {
  planId: string;
  model: PlanModel;
  onError: (message: string | undefined) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const running = model.status === 'running' && !model.ended;
  const act = async (action: 'pause' | 'resume' | 'cancel') => {
    setBusy(true);
    try {
      await api(`/v1/plans/${encodeURIComponent(planId)}/${action}`, {
        method: 'POST',
        ...(action === 'cancel' ? { body: { reason: 'cancelled from the dashboard' } } : {}),
      });
      if (action !== 'cancel') model.paused = action === 'pause';
      onError(undefined);
    } catch (err) {
      onError(`${action}: ${errorText(err)}`);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  if (!running) return <div class="actions" />;
  return (
    <div class="actions">
      {model.paused ? (
        <button disabled={busy} onClick={() => void act('resume')}>
          Resume
        </button>
      ) : (
        <button disabled={busy} onClick={() => void act('pause')} title="Start no new tasks until resumed">
          Pause
        </button>
      )}
      {confirming ? (
        <>
          <button class="danger" disabled={busy} onClick={() => void act('cancel')}>
            Yes, cancel the plan
          </button>
          <button disabled={busy} onClick={() => setConfirming(false)}>
            No
          </button>
        </>
      ) : (
        <button class="danger" disabled={busy} onClick={() => setConfirming(true)}>
          Cancel plan
        </button>
      )}
    </div>
  );
}
