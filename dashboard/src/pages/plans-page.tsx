import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, Link, ProgressBar, StateBadge } from '../components/bits';
import { errorText, fmtDuration, fmtTime, fmtUsage } from '../format';
import { navigate, useLocation } from '../router';
import { PLAN_STATUSES, type PlanStatusView, type PlanSummary } from '../types';

/** How many rows get their progress and usage (one status query each; closed plans only once). */
const DETAILED_ROWS = 25;
const REFRESH_MS = 2_000;

/** Plans, newest first, filtered by status, with progress, usage and cost. */
export function PlansPage() {
  const { search } = useLocation();
  const status = new URLSearchParams(search).get('status') ?? '';
  const [plans, setPlans] = useState<PlanSummary[]>();
  const [error, setError] = useState<string>();
  const details = useRef(new Map<string, PlanStatusView>());
  const [, setDetailsVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const q = new URLSearchParams({ limit: '100', ...(status ? { status } : {}) });
        const { plans: list } = await api<{ plans: PlanSummary[] }>(`/v1/plans?${q}`);
        if (stopped) return;
        setPlans(list);
        setError(undefined);
        // Running plans change; a closed plan's view does not: fetched once.
        const wanted = list
          .slice(0, DETAILED_ROWS)
          .filter((p) => p.status === 'running' || details.current.get(p.planId)?.status !== p.status);
        await Promise.all(
          wanted.map(async (p) => {
            const view = await api<PlanStatusView>(`/v1/plans/${encodeURIComponent(p.planId)}`).catch(() => undefined);
            if (view) details.current.set(p.planId, view);
          }),
        );
        if (!stopped) setDetailsVersion((v) => v + 1);
      } catch (err) {
        if (!stopped) setError(errorText(err));
      }
      if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [status]);

  return (
    <section class="page plans-page">
      <div class="toolbar">
        <h1>Plans</h1>
        <label>
          Status{' '}
          <select
            name="status"
            value={status}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              navigate(v ? `/?status=${v}` : '/');
            }}
          >
            <option value="">all</option>
            {PLAN_STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={error} />
      {plans === undefined ? (
        <p class="muted">Loading…</p>
      ) : plans.length === 0 ? (
        <p class="muted">
          No plans{status ? ` with status ${status}` : ''} yet. Submit one:{' '}
          <code>
            curl -s -X POST {location.origin}/v1/plans -H 'content-type: application/json' -d @examples/dag.json
          </code>
        </p>
      ) : (
        <table class="plans">
          <thead>
            <tr>
              <th>Plan</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Usage and cost</th>
              <th>Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {plans.map((p) => {
              const view = details.current.get(p.planId);
              return (
                <tr key={p.planId} data-plan-id={p.planId} data-status={p.status}>
                  <td>
                    <Link href={`/plans/${encodeURIComponent(p.planId)}`}>{p.name ?? p.planId}</Link>
                    {p.name ? <div class="muted small">{p.planId}</div> : null}
                    {p.rerunOf ? (
                      <div class="muted small rerun-of">
                        rerun of <Link href={`/plans/${encodeURIComponent(p.rerunOf)}`}>{p.rerunOf}</Link>
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <StateBadge state={p.status} />
                    {view?.paused ? <span class="muted small"> paused</span> : null}
                  </td>
                  <td>
                    <ProgressBar progress={view?.progress} />
                  </td>
                  <td class="small">{view ? fmtUsage(view.usage?.total) : ''}</td>
                  <td class="small">{fmtTime(p.startedAt)}</td>
                  <td class="small">{fmtDuration(p.startedAt, p.closedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
