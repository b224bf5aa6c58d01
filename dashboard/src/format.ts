import type { PlanProgress, Usage } from './types';

export const fmtInt = (n: number): string => n.toLocaleString('en-US');

export const fmtUsd = (usd: number): string =>
  usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;

export const fmtUsage = (u: Usage | undefined): string =>
  u ? `${fmtInt(u.totalTokens)} tokens · ${fmtUsd(u.costUsd)} · ${fmtInt(u.modelCalls)} calls` : 'no model calls';

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function fmtDuration(from: string | undefined, to: string | null | undefined): string {
  if (!from) return '';
  const ms = (to ? new Date(to).getTime() : Date.now()) - new Date(from).getTime();
  if (!(ms >= 0)) return '';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** Finished tasks of all. */
export const done = (p: PlanProgress): number => p.completed + p.failed + p.skipped + p.cancelled;

/** JSON for display, cut to `max` characters. */
export function preview(value: unknown, max = 20_000): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.length > max ? `${text.slice(0, max)}\n… (${fmtInt(text.length - max)} more characters)` : text;
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
