import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { fmtInt } from '../format';
import type { PlanModel, TaskNode } from '../plan-model';
import { ReusedBadge, StateBadge } from './bits';

interface RowProps {
  task: TaskNode;
  /** What the row shows, as one string: the row renders again only when it changes. */
  sig: string;
  selected: boolean;
  onSelect: (id: string) => void;
}

class TaskRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    return next.sig !== this.props.sig || next.selected !== this.props.selected;
  }
  override render({ task, selected, onSelect }: RowProps) {
    return (
      <tr
        class={selected ? 'selected' : ''}
        data-task-id={task.id}
        data-state={task.state}
        data-reused={task.reusedFrom !== undefined ? 'true' : undefined}
        onClick={() => onSelect(task.id)}
      >
        <td style={{ paddingLeft: `${task.path.length * 12}px` }}>{task.id}</td>
        <td>
          <StateBadge state={task.state} />
          {task.reusedFrom !== undefined ? <ReusedBadge from={task.reusedFrom} /> : null}
        </td>
        <td class="muted">{task.agentType}</td>
        <td>{task.agentId ?? ''}</td>
        <td>{task.attempts}</td>
        <td class="error">{task.error?.message ?? ''}</td>
      </tr>
    );
  }
}

/** Every task of the plan, in tree order, filterable by id or state. */
export function TaskList({
  model,
  selected,
  onSelect,
}: {
  model: PlanModel;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const [filter, setFilter] = useState('');
  const tasks = ordered(model);
  const f = filter.trim().toLowerCase();
  const shown = f ? tasks.filter((t) => t.id.toLowerCase().includes(f) || t.state === f) : tasks;
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return (
    <section class="task-list">
      <div class="toolbar">
        <h2>Tasks ({fmtInt(tasks.length)})</h2>
        <span class="small">
          {[...counts].map(([s, n]) => (
            <span key={s} class="count-by-state">
              <StateBadge state={s} /> {fmtInt(n)}
            </span>
          ))}
        </span>
        <input
          type="search"
          placeholder="Filter by id or state"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="scroll">
        <table data-testid="task-list">
          <thead>
            <tr>
              <th>Task</th>
              <th>State</th>
              <th>Agent type</th>
              <th>Agent</th>
              <th>Attempts</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <TaskRow
                key={t.id}
                task={t}
                sig={`${t.state}|${t.agentId}|${t.attempts}|${t.error?.message}|${t.reusedFrom}`}
                selected={t.id === selected}
                onSelect={onSelect}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Parents first, each followed by its sub-agents. */
function ordered(model: PlanModel): TaskNode[] {
  const byParent = new Map<string | undefined, TaskNode[]>();
  for (const t of model.tasks.values()) {
    const key = t.parent && model.tasks.has(t.parent) ? t.parent : undefined;
    const list = byParent.get(key);
    if (list) list.push(t);
    else byParent.set(key, [t]);
  }
  const out: TaskNode[] = [];
  const visit = (parent: string | undefined) => {
    for (const t of byParent.get(parent) ?? []) {
      out.push(t);
      visit(t.id);
    }
  };
  visit(undefined);
  return out;
}
