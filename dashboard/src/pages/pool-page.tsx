import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, Link, StateBadge } from '../components/bits';
import { errorText, fmtInt } from '../format';
import { follow, type LiveMode } from '../live';
import { PoolModel } from '../pool-model';
import { useFrameTicker } from '../ticker';
import type { PoolSnapshot } from '../types';

const POOL_EVENTS = ['snapshot', 'agent', 'pool'] as const;
const STATE_ORDER = ['created', 'idle', 'assigned', 'reasoning', 'executing', 'validating', 'completed', 'failed'];
/** Instances drawn one by one up to this many; past it, the counts by type say it all. */
const MAX_CARDS = 500;

/** The agent pool, live: instances by type and lifecycle state, the queue and the cap. */
export function PoolPage() {
  const model = useMemo(() => new PoolModel(), []);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [error, setError] = useState<string>();
  const { schedule } = useFrameTicker();
  useEffect(
    () =>
      follow({
        path: '/v1/agents/events',
        events: POOL_EVENTS,
        onEvent(name, data) {
          model.apply(name, data);
          schedule();
        },
        async poll() {
          try {
            model.applySnapshot(await api<PoolSnapshot>('/v1/agents'));
            setError(undefined);
          } catch (err) {
            setError(errorText(err));
          }
          schedule();
          return true;
        },
        pollMs: 1_000,
        onMode: setMode,
        onError: (err) => setError(errorText(err)),
      }),
    [model],
  );

  const agents = [...model.agents.values()].sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id));
  const byType = model.byType();
  const states = [...new Set([...STATE_ORDER, ...agents.map((a) => a.state)])].filter((s) =>
    agents.some((a) => a.state === s),
  );
  const idle = model.idle ?? agents.filter((a) => a.state === 'idle').length;
  const capPct = model.maxAgents > 0 ? Math.min(100, (100 * model.busy) / model.maxAgents) : 0;
  return (
    <section class="page pool-page" data-live={mode} data-busy={model.busy} data-queued={model.queued}>
      <div class="toolbar">
        <h1>Agent pool</h1>
        <span class="muted small">
          {mode === 'stream' ? 'live (events)' : mode === 'polling' ? 'live (polling)' : mode}
        </span>
      </div>
      <ErrorNote error={error} />
      <div class="pool-summary">
        <div class="figure" data-testid="pool-busy">
          <span class="big">{fmtInt(model.busy)}</span> busy
        </div>
        <div class="figure">
          <span class="big">{fmtInt(idle)}</span> idle
        </div>
        <div class="figure" data-testid="pool-queued">
          <span class="big">{fmtInt(model.queued)}</span> queued
        </div>
        <div class="figure">
          <span class="big">{fmtInt(model.maxAgents)}</span> cap (MAX_AGENTS)
        </div>
        {model.peakBusy !== undefined ? (
          <div class="figure">
            <span class="big">{fmtInt(model.peakBusy)}</span> peak busy
          </div>
        ) : null}
      </div>
      <div class="cap" title={`${model.busy} of ${model.maxAgents} instances busy`}>
        <span style={{ width: `${capPct}%` }} />
      </div>
      <h2>By type</h2>
      {byType.size === 0 ? (
        <p class="muted">{model.loaded ? 'No instances yet: they are created when plans need them.' : 'Loading…'}</p>
      ) : (
        <table class="by-type" data-testid="pool-by-type">
          <thead>
            <tr>
              <th>Type</th>
              {states.map((s) => (
                <th key={s}>
                  <StateBadge state={s} />
                </th>
              ))}
              <th>All</th>
            </tr>
          </thead>
          <tbody>
            {[...byType].map(([type, counts]) => (
              <tr key={type} data-type={type}>
                <td>{type}</td>
                {states.map((s) => (
                  <td key={s} data-state={s}>
                    {counts.get(s) ?? ''}
                  </td>
                ))}
                <td>{[...counts.values()].reduce((a, b) => a + b, 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Instances ({fmtInt(agents.length)})</h2>
      <div class="agents" data-testid="pool-agents">
        {agents.slice(0, MAX_CARDS).map((a) => (
          <div class="agent" key={a.id} data-agent-id={a.id} data-state={a.state} data-type={a.type}>
            <div class="agent-id">{a.id}</div>
            <StateBadge state={a.state} />
            <div class="muted small">{a.type}</div>
            {a.planId && a.taskId ? (
              <div class="small">
                <Link href={`/plans/${encodeURIComponent(a.planId)}`}>{a.taskId}</Link>
              </div>
            ) : null}
          </div>
        ))}
        {agents.length > MAX_CARDS ? (
          <p class="muted">… and {fmtInt(agents.length - MAX_CARDS)} more (counted above)</p>
        ) : null}
      </div>
    </section>
  );
}
