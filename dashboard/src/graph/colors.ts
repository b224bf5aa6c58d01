/** One colour per lifecycle state, shared by the graph, the lists and the pool. */
export const STATE_COLORS: Record<string, string> = {
  pending: '#cbd5e1',
  created: '#e2e8f0',
  idle: '#d1d5db',
  assigned: '#93c5fd',
  reasoning: '#a78bfa',
  executing: '#3b82f6',
  running: '#3b82f6',
  validating: '#06b6d4',
  waiting: '#f59e0b',
  completed: '#22c55e',
  failed: '#ef4444',
  skipped: '#94a3b8',
  cancelled: '#64748b',
  terminated: '#334155',
  // A schedule's state (the Schedules page).
  active: '#22c55e',
  paused: '#f59e0b',
};

export const colorOf = (state: string): string => STATE_COLORS[state] ?? '#e5e7eb';

/** States whose colour is dark enough for white text. */
const DARK = new Set(['executing', 'running', 'failed', 'cancelled', 'terminated', 'reasoning']);
export const textColorOf = (state: string): string => (DARK.has(state) ? '#ffffff' : '#0f172a');
