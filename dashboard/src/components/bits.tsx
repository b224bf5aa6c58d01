import type { ComponentChildren } from 'preact';
import { colorOf, textColorOf } from '../graph/colors';
import { done, fmtInt } from '../format';
import { onLinkClick } from '../router';
import type { PlanProgress } from '../types';

export function StateBadge({ state }: { state: string }) {
  return (
    <span class="badge" data-state={state} style={{ background: colorOf(state), color: textColorOf(state) }}>
      {state}
    </span>
  );
}

export function ProgressBar({ progress }: { progress: PlanProgress | undefined }) {
  if (!progress || progress.total === 0) return <span class="muted">–</span>;
  const pct = (n: number) => `${(100 * n) / progress.total}%`;
  return (
    <span class="progress" title={`${done(progress)} of ${progress.total} finished`}>
      <span class="bar">
        <span style={{ width: pct(progress.completed), background: colorOf('completed') }} />
        <span style={{ width: pct(progress.failed), background: colorOf('failed') }} />
        <span style={{ width: pct(progress.skipped + progress.cancelled), background: colorOf('cancelled') }} />
        <span style={{ width: pct(progress.running), background: colorOf('executing') }} />
      </span>
      <span class="count">
        {fmtInt(done(progress))}/{fmtInt(progress.total)}
      </span>
    </span>
  );
}

export function Link({ href, children, class: cls }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} class={cls} onClick={onLinkClick}>
      {children}
    </a>
  );
}

export function ErrorNote({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** A task a rerun did not run: its output is that of the plan that ran it (a link to that plan's page). */
export function ReusedBadge({ from }: { from: string }) {
  return (
    <Link class="badge reused" href={`/plans/${encodeURIComponent(from)}`}>
      <span title={`reused from plan ${from}: it did not run in this plan`}>reused from {from}</span>
    </Link>
  );
}
