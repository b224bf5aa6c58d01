import type { AgentInstance } from '../shared/agent';
import { DEFAULT_TENANT } from '../shared/tenant';
import type { AcquireRequest } from '../shared/pool';

/*
 * Fair share between tenants in the agent pool (docs/security.md, "Fair share"): pure and deterministic, called by
 * PoolState. Two parts: who gets the next free instance (serveInTurn), and when a tenant holds more than its share
 * while another waits, which lease holders give instances back as their tasks finish (yieldsFor). A plan keeps its
 * leased instances from task to task, so without the second part a big plan would never free one.
 */

/** A waiting request of the pool's queue; `granted` counts the instances a lease has been given so far. */
export type Queued = AcquireRequest & { seq: number; granted?: number };

/** A lease holder asked to give back `count` more instances. */
export interface Yield {
  holder: string;
  count: number;
}

const tenantOf = (x: { tenant?: string }): string => x.tenant ?? DEFAULT_TENANT;

/** Queued requests of one priority each, highest first (`ordered` is sorted by priority, then arrival). */
export function priorityBands(ordered: Queued[]): Queued[][] {
  const bands: Queued[][] = [];
  for (const req of ordered) {
    const last = bands[bands.length - 1];
    if (last && last[0]?.priority === req.priority) last.push(req);
    else bands.push([req]);
  }
  return bands;
}

/**
 * Fair share within one priority (docs/security.md, "Fair share"): each next instance goes to the tenant holding the
 * fewest (ties: the one waiting longest), to its earliest request. A tenant with a 2,000-task plan queued ahead gets
 * no more than its turn: another tenant's first tasks are served as soon as instances free up. `grantOne` places one
 * instance, or says none can be placed for that request now (the tenant's next request is tried).
 */
export function serveInTurn(
  band: Queued[],
  busyByTenant: Map<string, number>,
  grantOne: (req: Queued) => boolean,
): void {
  const lanes = new Map<string, Queued[]>();
  for (const req of band) {
    const tenant = tenantOf(req);
    const lane = lanes.get(tenant);
    if (lane) lane.push(req);
    else lanes.set(tenant, [req]);
  }
  const busy = (t: string) => busyByTenant.get(t) ?? 0;
  while (lanes.size > 0) {
    let tenant = '';
    let lane: Queued[] = [];
    for (const [t, l] of lanes) {
      const first = l[0] as Queued;
      const best = lane[0];
      if (!best || busy(t) < busy(tenant) || (busy(t) === busy(tenant) && first.seq < best.seq)) {
        tenant = t;
        lane = l;
      }
    }
    const req = lane[0] as Queued;
    if (grantOne(req)) {
      busyByTenant.set(tenant, busy(tenant) + 1);
      if ((req.granted ?? 0) >= (req.count ?? 1)) lane.shift();
    } else lane.shift();
    if (lane.length === 0) lanes.delete(tenant);
  }
}

/** Instances a lease holds: granted for a lease request (`<prefix>/lease-<n>`), given back only when its holder chooses. */
const isLeased = (i: AgentInstance): boolean => i.holder !== null && (i.requestId?.includes('/lease-') ?? false);

/**
 * Which lease holders to ask for instances back, and how many more (what they owe already counts). The share of each
 * tenant with work (holding or waiting) is maxAgents divided among them; what waiting tenants lack of their share (as
 * far as they wait for it) is asked of the tenants over theirs, the biggest holders first. Holders that hold nothing
 * any more owe nothing.
 */
export function yieldsFor(
  queue: readonly Queued[],
  instances: Iterable<AgentInstance>,
  maxAgents: number,
  owed: Map<string, number>,
): Yield[] {
  const waiting = new Map<string, number>();
  for (const r of queue) waiting.set(tenantOf(r), (waiting.get(tenantOf(r)) ?? 0) + (r.count ?? 1) - (r.granted ?? 0));
  const busy = new Map<string, number>();
  const leased = new Map<string, Map<string, number>>();
  for (const i of instances) {
    if (i.holder === null) continue;
    const t = tenantOf(i);
    busy.set(t, (busy.get(t) ?? 0) + 1);
    if (!isLeased(i)) continue;
    const holders = leased.get(t) ?? new Map<string, number>();
    holders.set(i.holder, (holders.get(i.holder) ?? 0) + 1);
    leased.set(t, holders);
  }
  const holding = new Set([...leased.values()].flatMap((h) => [...h.keys()]));
  for (const holder of [...owed.keys()]) if (!holding.has(holder)) owed.delete(holder);
  const tenants = new Set([...waiting.keys(), ...busy.keys()]);
  if (tenants.size < 2) return [];
  const share = Math.max(1, Math.floor(maxAgents / tenants.size));
  let need = 0;
  for (const [t, w] of waiting) need += Math.max(0, Math.min(w, share - (busy.get(t) ?? 0)));
  for (const n of owed.values()) need -= n;
  if (need <= 0) return [];
  const out: Yield[] = [];
  const over = [...busy.entries()]
    .filter(([t, n]) => n > share && leased.has(t))
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  for (const [t, n] of over) {
    const holders = [...(leased.get(t) as Map<string, number>).entries()].sort(
      ([a, x], [b, y]) => y - x || (a < b ? -1 : 1),
    );
    let excess = n - share - holders.reduce((s, [h]) => s + (owed.get(h) ?? 0), 0);
    for (const [holder, count] of holders) {
      const ask = Math.min(excess, need, count - (owed.get(holder) ?? 0));
      if (ask <= 0) continue;
      out.push({ holder, count: ask });
      excess -= ask;
      need -= ask;
    }
    if (need <= 0) break;
  }
  return out;
}
