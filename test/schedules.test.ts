import { temporalCli } from './support/deploy';
import { eventually, startHarness, startInProcessApi, uniqueId, type Harness } from './support/harness';

// Response bodies are arbitrary JSON; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let h: Harness;
let api: { base: string; close(): Promise<void> };

beforeAll(async () => {
  h = await startHarness();
  api = await startInProcessApi(h, {
    RETRY_INITIAL_INTERVAL_MS: '50',
    RETRY_MAX_INTERVAL_MS: '200',
    TEMPORAL_UI_URL: 'http://ui.example:8233',
  });
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

async function call(path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${api.base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const post = (path: string, body?: unknown) => call(path, 'POST', body);

const PLAN = { name: 'tick', tasks: [{ id: 'only', description: 'say hello', capabilities: ['general'] }] };

/** What `temporal schedule list` shows, one schedule id per row. */
const cliSchedules = async (): Promise<string> => temporalCli('schedule', 'list');

/** The schedule's plans Temporal knows of (visibility), once there are `n` completed ones. */
const completedPlans = (scheduleId: string, n: number) =>
  eventually(
    async () => {
      const { body } = await call(`/v1/schedules/${scheduleId}`);
      const done = (body.plans as Json[]).filter((p) => p.status === 'completed');
      return done.length >= n ? done : undefined;
    },
    `${n} completed plans of ${scheduleId}`,
    60_000,
  );

test('a schedule every 2 s starts plans that complete; paused it starts none; triggered it starts one; deleted it is gone', async () => {
  const id = uniqueId('every2s');
  const created = await post('/v1/schedules', { id, interval: '2s', plan: PLAN });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ scheduleId: id, paused: false, links: { self: `/v1/schedules/${id}` } });
  expect(created.body.nextRuns.length).toBeGreaterThan(0);

  // A Temporal Schedule: the CLI lists it.
  await eventually(async () => ((await cliSchedules()).includes(id) ? true : undefined), `${id} in the CLI's list`);

  // Two plans start and complete, each with its own id, each naming its schedule.
  const done = await completedPlans(id, 2);
  const ids = new Set(done.map((p: Json) => p.planId));
  expect(ids.size).toBe(done.length);
  for (const p of done.slice(0, 2)) {
    expect(p.planId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    expect(p).toMatchObject({ workflowId: `plan-${p.planId}`, schedule: id, name: 'tick' });
    const view = await call(`/v1/plans/${p.planId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ planId: p.planId, schedule: id, status: 'completed' });
    expect(view.body.tasks[0]).toMatchObject({ id: 'only', state: 'completed' });
    const result = await call(`/v1/plans/${p.planId}/result`);
    expect(result.body).toMatchObject({ planId: p.planId, status: 'completed' });
    expect(Object.keys(result.body.outputs)).toEqual(['only']);
    // Temporal and the CLI find it by its own id and by its schedule.
    const byId = await temporalCli('workflow', 'list', '--query', `PlanId = '${p.planId}'`);
    expect(byId).toContain(`plan-${p.planId}`);
  }
  const bySchedule = await call(`/v1/plans?schedule=${id}`);
  expect(bySchedule.body.plans.length).toBeGreaterThanOrEqual(2);
  expect(bySchedule.body.plans.every((p: Json) => p.schedule === id)).toBe(true);

  const listed = await call('/v1/schedules');
  const row = (listed.body.schedules as Json[]).find((s) => s.scheduleId === id);
  expect(row).toMatchObject({ interval: '2s', timeZone: 'UTC', paused: false, name: 'tick' });
  expect(row.nextRuns.length).toBeGreaterThan(0);
  expect(row.recentRuns.length).toBeGreaterThanOrEqual(2);
  expect(row.recentRuns[0].planId).toBe(row.recentRuns[0].workflowId.replace(/^plan-/, ''));
  expect(row.links.ui).toBe(`http://ui.example:8233/namespaces/default/schedules/${id}`);

  // Paused: no plan starts. The schedule's own count of actions (Temporal's) stays put over several intervals.
  const paused = await post(`/v1/schedules/${id}/pause`, { reason: 'maintenance' });
  expect(paused).toEqual({ status: 200, body: { scheduleId: id, paused: true } });
  const before = await call(`/v1/schedules/${id}`);
  // Temporal's defaults where the body said nothing: overlap skip, a catch-up window of a year.
  expect(before.body).toMatchObject({ paused: true, note: 'maintenance', overlap: 'skip', catchupWindow: '365d' });
  expect(before.body.nextRuns).toEqual([]);
  const taken = before.body.actions.taken as number;
  // Three intervals go by: a schedule that ignored the pause would start a plan in them (this sleep cannot make the
  // test fail on a slow machine, only give a broken pause the time to show).
  await new Promise((r) => setTimeout(r, 6_000));
  const after = await call(`/v1/schedules/${id}`);
  expect(after.body.actions.taken).toBe(taken);
  expect(after.body.recentRuns[0]).toEqual(before.body.recentRuns[0]);
  await eventually(async () => (await cliSchedules()).includes(id) || undefined, `${id} still in the CLI's list`);

  // Triggered once: one plan starts now, even though the schedule is paused, and completes.
  const triggered = await post(`/v1/schedules/${id}/trigger`);
  expect(triggered).toEqual({ status: 202, body: { scheduleId: id, triggered: true } });
  const now = await eventually(async () => {
    const { body } = await call(`/v1/schedules/${id}`);
    return body.actions.taken > taken ? body : undefined;
  }, 'the triggered plan');
  expect(now.actions.taken).toBe(taken + 1);
  const run = now.recentRuns[0].planId as string;
  const result = await call(`/v1/plans/${run}/result?wait=30`);
  expect(result.body).toMatchObject({ planId: run, status: 'completed' });
  expect(now.paused).toBe(true);

  // Deleted: gone from the API and the CLI; its plans remain.
  expect((await call(`/v1/schedules/${id}`, 'DELETE')).status).toBe(204);
  expect((await call(`/v1/schedules/${id}`)).status).toBe(404);
  expect((await post(`/v1/schedules/${id}/trigger`)).status).toBe(404);
  await eventually(async () => (!(await cliSchedules()).includes(id) ? true : undefined), `${id} gone from the CLI`);
  expect((await call(`/v1/plans/${run}`)).body).toMatchObject({ planId: run, schedule: id, status: 'completed' });
});

test('a bad schedule or plan template is a 400 naming the problem, as for a plan, and nothing is created', async () => {
  const id = uniqueId('bad');
  const cyclic = {
    tasks: [
      { id: 'a', description: 'a', dependsOn: ['b'] },
      { id: 'b', description: 'b', dependsOn: ['a'] },
    ],
  };
  const asPlan = await post('/v1/plans', { ...cyclic, id: uniqueId('cyclic') });
  const asTemplate = await post('/v1/schedules', { id, interval: '1m', plan: cyclic });
  expect(asTemplate.status).toBe(400);
  expect(asTemplate.body.error.code).toBe('VALIDATION_ERROR');
  expect(asTemplate.body.error.message).toBe(asPlan.body.error.message);
  expect(asTemplate.body.error.message).toMatch(/cycle/);

  const cases: [string, Json, RegExp][] = [
    ['no timing', { id, plan: PLAN }, /one of `cron` and `interval`/],
    ['both timings', { id, cron: '* * * * *', interval: '1m', plan: PLAN }, /one of `cron` and `interval`/],
    ['a bad interval', { id, interval: 'often', plan: PLAN }, /interval.*duration/],
    ['an interval under a second', { id, interval: '500ms', plan: PLAN }, /interval: at least 1s/],
    ['an unknown time zone', { id, cron: '0 8 * * *', timeZone: 'Mars/Olympus', plan: PLAN }, /timeZone/],
    ['a bad overlap policy', { id, interval: '1m', overlap: 'sometimes', plan: PLAN }, /overlap/],
    ['a short catch-up window', { id, interval: '1m', catchupWindow: '5s', plan: PLAN }, /catchupWindow: at least 10s/],
    ['a cron expression Temporal cannot read', { id, cron: 'every tuesday', plan: PLAN }, /Temporal refused/],
    ['no plan', { id, interval: '1m' }, /plan/],
    [
      'an unknown capability',
      { id, interval: '1m', plan: { tasks: [{ id: 't', description: 't', capabilities: ['telepathy'] }] } },
      /"telepathy"/,
    ],
    ['a plan id too long to prefix', { id, interval: '1m', plan: { ...PLAN, id: 'p'.repeat(80) } }, /at most 79/],
    ['a bad schedule id', { id: 'no spaces', interval: '1m', plan: PLAN }, /id/],
  ];
  for (const [what, body, message] of cases) {
    const reply = await post('/v1/schedules', body);
    expect({ what, status: reply.status, code: reply.body.error?.code }).toEqual({
      what,
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    expect({ what, message: reply.body.error.message }).toEqual({ what, message: expect.stringMatching(message) });
  }
  expect((await call(`/v1/schedules/${id}`)).status).toBe(404);
  expect(await cliSchedules()).not.toContain(id);
});

test('a cron schedule in a time zone, created paused: the same body again is 200, another 409; a trigger runs it', async () => {
  const id = uniqueId('nightly');
  const body = {
    id,
    cron: '30 2 * * *',
    timeZone: 'Asia/Kolkata',
    overlap: 'buffer-one',
    catchupWindow: '10m',
    paused: true,
    note: 'not yet',
    plan: { ...PLAN, id: uniqueId('night') },
  };
  const created = await post('/v1/schedules', body);
  expect(created.status).toBe(201);
  const again = await post('/v1/schedules', { ...body });
  expect(again).toMatchObject({ status: 200, body: { scheduleId: id, paused: true } });
  expect((await post('/v1/schedules', { ...body, cron: '0 3 * * *' })).status).toBe(409);

  const view = (await call(`/v1/schedules/${id}`)).body;
  expect(view).toMatchObject({
    scheduleId: id,
    cron: '30 2 * * *',
    timeZone: 'Asia/Kolkata',
    overlap: 'buffer-one',
    catchupWindow: '10m',
    paused: true,
    note: 'not yet',
    plan: { idPrefix: body.plan.id, mode: 'dag', tasks: 1 },
    actions: { taken: 0 },
    plans: [],
    recentRuns: [],
  });

  // Unpaused, it would next run at 02:30 in Kolkata: 21:00 UTC.
  const unpaused = await post(`/v1/schedules/${id}/unpause`);
  expect(unpaused).toEqual({ status: 200, body: { scheduleId: id, paused: false } });
  const next = (await call(`/v1/schedules/${id}`)).body.nextRuns as string[];
  expect(next.length).toBeGreaterThan(1);
  for (const t of next) expect(t).toMatch(/T21:00:00(\.000)?Z$/);

  expect((await post(`/v1/schedules/${id}/trigger`)).status).toBe(202);
  const [plan] = await completedPlans(id, 1);
  expect(plan.planId.startsWith(`${body.plan.id}-`)).toBe(true);
  expect((await call(`/v1/schedules/${id}`, 'DELETE')).status).toBe(204);
});

test('schedules are their tenant’s: another tenant’s key finds none of it, its runs are the tenant’s plans', async () => {
  const KEY = {
    a: 'sched-team-a-key-0123456789abcdef',
    b: 'sched-team-b-key-0123456789abcdef',
    admin: 'sched-admin-key-0123456789abcdefgh',
  };
  const keyed = await startInProcessApi(h, {
    API_KEYS: JSON.stringify([
      { name: 'alice', key: KEY.a, scopes: ['read', 'submit', 'operate'], tenant: 'team-a' },
      { name: 'bob', key: KEY.b, scopes: ['read', 'submit', 'operate'], tenant: 'team-b' },
      { name: 'root', key: KEY.admin, scopes: ['*'] },
    ]),
  });
  const as = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${keyed.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
  };
  try {
    const id = uniqueId('team-a-hourly');
    const body = { id, interval: '1h', paused: true, plan: PLAN };
    expect((await as(KEY.a, 'POST', '/v1/schedules', body)).status).toBe(201);

    // Bob's key: no such schedule, on every route; the same id is taken (409), whatever the body.
    expect((await as(KEY.b, 'GET', `/v1/schedules/${id}`)).status).toBe(404);
    for (const action of ['pause', 'unpause', 'trigger'])
      expect({ action, status: (await as(KEY.b, 'POST', `/v1/schedules/${id}/${action}`)).status }).toEqual({
        action,
        status: 404,
      });
    expect((await as(KEY.b, 'DELETE', `/v1/schedules/${id}`)).status).toBe(404);
    expect((await as(KEY.b, 'POST', '/v1/schedules', body)).status).toBe(409);
    await eventually(async () => {
      const mine = await as(KEY.a, 'GET', '/v1/schedules');
      return mine.body.schedules.some((s: Json) => s.scheduleId === id) ? true : undefined;
    }, `${id} in team-a's list`);
    const theirs = await as(KEY.b, 'GET', '/v1/schedules');
    expect(theirs.body.schedules.map((s: Json) => s.scheduleId)).not.toContain(id);
    const admin = await as(KEY.admin, 'GET', '/v1/schedules');
    expect(admin.body.schedules.map((s: Json) => s.scheduleId)).toContain(id);

    // A run is team-a's plan: alice reads it, bob gets 404; Temporal has its Tenant and Submitter.
    expect((await as(KEY.a, 'POST', `/v1/schedules/${id}/trigger`)).status).toBe(202);
    const run = await eventually(async () => {
      const { body: view } = await as(KEY.a, 'GET', `/v1/schedules/${id}`);
      return view.recentRuns[0]?.planId as string | undefined;
    }, 'the triggered run');
    const result = await as(KEY.a, 'GET', `/v1/plans/${run}/result?wait=30`);
    expect(result.body).toMatchObject({ planId: run, status: 'completed' });
    expect((await as(KEY.b, 'GET', `/v1/plans/${run}`)).status).toBe(404);
    const listed = await temporalCli(
      'workflow',
      'list',
      '--query',
      `Schedule = '${id}' AND Tenant = 'team-a' AND Submitter = 'alice'`,
    );
    expect(listed).toContain(`plan-${run}`);
    await eventually(async () => {
      const { body: view } = await as(KEY.a, 'GET', `/v1/schedules/${id}`);
      return view.plans.some((p: Json) => p.planId === run) ? true : undefined;
    }, 'the run among the schedule’s plans');
    expect((await as(KEY.b, 'GET', `/v1/plans?schedule=${id}`)).body.plans).toEqual([]);

    expect((await as(KEY.admin, 'DELETE', `/v1/schedules/${id}`)).status).toBe(204);
  } finally {
    await keyed.close();
  }
});
