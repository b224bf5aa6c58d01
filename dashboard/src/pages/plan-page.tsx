import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ErrorNote, Link, ProgressBar, StateBadge } from '../components/bits';
import { InputRequests } from '../components/input-requests';
import { PlanActions } from '../components/plan-actions';
import { TaskDetail } from '../components/task-detail';
import { TaskList } from '../components/task-list';
import { errorText, fmtUsage } from '../format';
import { GraphView } from '../graph/graph-view';
import { follow, type LiveMode } from '../live';
import { perf } from '../perf';
import { PlanModel } from '../plan-model';
import { useFrameTicker } from '../ticker';
import type { MailLogEntry, PlanStatusView, PlanSummary } from '../types';

/** The events of GET /v1/plans/:planId/events (docs/dashboard.md). */
const PLAN_EVENTS = ['snapshot', 'task', 'message', 'input', 'usage', 'text', 'plan', 'end'] as const;
const POLL_MS = 1_000;
/** How often the plan's reruns are listed again (a rerun started elsewhere shows up). */
const FORKS_MS = 5_000;

/** One plan, live: its graph, the tasks waiting for a human, the selected task, every task in a list. */
export function PlanPage({ planId }: { planId: string }) {
  const model = useMemo(() => new PlanModel(planId), [planId]);
  const graphBox = useRef<HTMLDivElement>(null);
  const graph = useRef<GraphView | undefined>(undefined);
  const [selected, setSelected] = useState<string>();
  const [mode, setMode] = useState<LiveMode>('connecting');
  /** How the page learnt of the plan's changes: its event stream, or polling (an API without streams). */
  const [source, setSource] = useState<'events' | 'polling'>();
  const [error, setError] = useState<string>();
  const { schedule } = useFrameTicker(() => graph.current?.sync(model));
  const enc = encodeURIComponent(planId);

  useEffect(() => {
    const box = graphBox.current;
    if (!box) return;
    const view = new GraphView(box, (id) => setSelected(id));
    graph.current = view;
    return () => {
      view.destroy();
      graph.current = undefined;
    };
  }, []);

  useEffect(() => {
    const loaded = () => {
      if (perf.graph.snapshotMs === undefined) perf.graph.snapshotMs = Math.round(performance.now());
    };
    // The bus's past messages: a stream sends only new ones.
    const loadMessages = () =>
      api<{ messages: MailLogEntry[] }>(`/v1/plans/${enc}/messages`)
        .then((r) => {
          model.applyMessages(r.messages);
          schedule();
        })
        .catch(() => undefined);
    void loadMessages();
    let polls = 0;
    return follow({
      path: `/v1/plans/${enc}/events`,
      events: PLAN_EVENTS,
      onEvent(name, data) {
        model.apply(name, data);
        if (name === 'snapshot') loaded();
        // The plan closed: read the bus once more, so its last deliveries show whatever the stream carried.
        if (name === 'end') void loadMessages();
        schedule();
      },
      async poll() {
        let view: PlanStatusView;
        try {
          view = await api<PlanStatusView>(`/v1/plans/${enc}`);
        } catch (err) {
          setError(errorText(err));
          return !(err instanceof ApiError && (err.status === 404 || err.status === 401));
        }
        setError(undefined);
        model.applySnapshot(view);
        loaded();
        if (++polls % 2 === 0 || view.status !== 'running') await loadMessages();
        schedule();
        return view.status === 'running';
      },
      pollMs: POLL_MS,
      onMode: (m) => {
        setMode(m);
        if (m === 'stream' || m === 'polling') setSource(m === 'stream' ? 'events' : 'polling');
      },
      onError: (err) => setError(errorText(err)),
    });
  }, [model]);

  useEffect(() => graph.current?.select(selected), [selected]);

  // Its reruns (GET /v1/plans?rerunOf=): listed from Temporal visibility, which may lag a new one by a moment.
  const [forks, setForks] = useState<PlanSummary[]>([]);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const r = await api<{ plans: PlanSummary[] }>(`/v1/plans?rerunOf=${enc}&limit=100`).catch(() => undefined);
      if (stopped) return;
      if (r) setForks(r.plans);
      timer = setTimeout(() => void load(), FORKS_MS);
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [enc]);

  const task = selected ? model.tasks.get(selected) : undefined;
  return (
    <section
      class="page plan-page"
      data-plan-id={planId}
      data-status={model.status}
      data-live={mode}
      data-source={source}
    >
      <div class="plan-head">
        <div>
          <div class="crumbs">
            <Link href="/">Plans</Link> /
          </div>
          <h1>
            {model.name ?? planId} <StateBadge state={model.status} />
            {model.paused ? <span class="badge paused">paused</span> : null}
          </h1>
          <div class="muted small">
            {planId}
            {model.mode ? ` · ${model.mode}` : ''} · {fmtUsage(model.usage)}
            {model.reason ? ` · ${model.reason}` : ''} ·{' '}
            <span class="live" title="how the page follows the plan">
              {mode === 'stream' ? 'live (events)' : mode === 'polling' ? 'live (polling)' : mode}
            </span>
            {model.links?.ui ? (
              <>
                {' '}
                ·{' '}
                <a href={model.links.ui} target="_blank" rel="noreferrer">
                  Temporal UI
                </a>
              </>
            ) : null}
          </div>
          <Lineage rerunOf={model.rerunOf} forks={forks} />
        </div>
        <ProgressBar progress={model.progress} />
        <PlanActions planId={planId} model={model} onError={setError} />
      </div>
      <ErrorNote error={error} />
      <InputRequests planId={planId} model={model} onSelect={setSelected} />
      <div class="plan-body">
        <div class="graph-wrap">
          <div class="graph" ref={graphBox} data-testid="plan-graph" />
          <button class="fit" title="Fit the whole plan" onClick={() => graph.current?.fit()}>
            Fit
          </button>
          {!model.loaded ? <div class="graph-note muted">Loading…</div> : null}
        </div>
        <aside class="side">
          {task ? (
            <TaskDetail planId={planId} model={model} task={task} onClose={() => setSelected(undefined)} />
          ) : (
            <p class="muted">Click a task in the graph or the list to see its agent, attempts, output and messages.</p>
          )}
        </aside>
      </div>
      <TaskList model={model} selected={selected} onSelect={setSelected} />
    </section>
  );
}

const planHref = (planId: string) => `/plans/${encodeURIComponent(planId)}`;

/** Where the plan comes from (a rerun: its parent) and the reruns made from it, each a link to its page. */
function Lineage({ rerunOf, forks }: { rerunOf: string | undefined; forks: PlanSummary[] }) {
  if (!rerunOf && forks.length === 0) return null;
  return (
    <div class="lineage small" data-testid="lineage">
      {rerunOf ? (
        <div class="rerun-of">
          Rerun of <Link href={planHref(rerunOf)}>{rerunOf}</Link>
        </div>
      ) : null}
      {forks.length > 0 ? (
        <div class="forks">
          Reruns of this plan:{' '}
          {forks.map((f, i) => (
            <span key={f.planId} class="fork" data-plan-id={f.planId}>
              {i > 0 ? ', ' : ''}
              <Link href={planHref(f.planId)}>{f.planId}</Link> <StateBadge state={f.status} />
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}
