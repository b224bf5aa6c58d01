import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, Link, StateBadge } from '../components/bits';
import { errorText, fmtTime } from '../format';
import type { ScheduleSummary } from '../types';

const REFRESH_MS = 2_000;
/** Recent plans shown per schedule (the API gives up to ten). */
const RECENT = 5;

/** Schedules of plans (docs/schedules.md): when each runs, its next run, its recent plans; pause, unpause, run now. */
export function SchedulesPage() {
  const [schedules, setSchedules] = useState<ScheduleSummary[]>();
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const { schedules: list } = await api<{ schedules: ScheduleSummary[] }>('/v1/schedules');
        if (stopped) return;
        setSchedules(list);
        setError(undefined);
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
  }, [version]);

  const act = async (s: ScheduleSummary, action: 'pause' | 'unpause' | 'trigger') => {
    try {
      await api(`/v1/schedules/${encodeURIComponent(s.scheduleId)}/${action}`, {
        method: 'POST',
        ...(action === 'pause' ? { body: { reason: 'paused from the dashboard' } } : {}),
      });
      setVersion((v) => v + 1);
    } catch (err) {
      setError(`${action} ${s.scheduleId}: ${errorText(err)}`);
    }
  };

  return (
    <section class="page schedules-page">
      <div class="toolbar">
        <h1>Schedules</h1>
      </div>
      <ErrorNote error={error} />
      {schedules === undefined ? (
        <p class="muted">Loading…</p>
      ) : schedules.length === 0 ? (
        <p class="muted">
          No schedules yet. Create one (docs/schedules.md):{' '}
          <code>
            curl -s -X POST {location.origin}/v1/schedules -H 'content-type: application/json' -d '
            {'{"interval":"1h","plan":{"tasks":[{"id":"t","description":"hello"}]}}'}'
          </code>
        </p>
      ) : (
        <table class="schedules">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>When</th>
              <th>State</th>
              <th>Next run</th>
              <th>Recent plans</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.scheduleId} data-schedule-id={s.scheduleId} data-paused={String(s.paused)}>
                <td>
                  {s.name ?? s.scheduleId}
                  {s.name ? <div class="muted small">{s.scheduleId}</div> : null}
                </td>
                <td class="small">
                  {s.cron !== undefined ? <code>{s.cron}</code> : `every ${s.interval ?? '?'}`}
                  {s.cron !== undefined ? <span class="muted"> {s.timeZone}</span> : null}
                </td>
                <td>
                  <StateBadge state={s.paused ? 'paused' : 'active'} />
                  {s.note && s.paused ? <div class="muted small">{s.note}</div> : null}
                </td>
                <td class="small next-run">{s.nextRuns[0] ? fmtTime(s.nextRuns[0]) : '–'}</td>
                <td class="small recent-plans">
                  {s.recentRuns.length === 0 ? <span class="muted">none yet</span> : null}
                  {s.recentRuns.slice(0, RECENT).map((r) => (
                    <div key={r.planId}>
                      <Link href={`/plans/${encodeURIComponent(r.planId)}`}>{r.planId}</Link>
                    </div>
                  ))}
                </td>
                <td class="actions">
                  {s.paused ? (
                    <button onClick={() => void act(s, 'unpause')}>Unpause</button>
                  ) : (
                    <button onClick={() => void act(s, 'pause')} title="Start no plan until unpaused">
                      Pause
                    </button>
                  )}
                  <button onClick={() => void act(s, 'trigger')} title="Start one plan now">
                    Run now
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
