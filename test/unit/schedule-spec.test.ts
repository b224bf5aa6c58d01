import { ScheduleOverlapPolicy } from '@temporalio/client';
import { durationMs, durationOf, overlapOf, temporalTiming } from '../../src/api/schedules/schedule-spec';
import { ScheduleFields, ScheduleIdParam } from '../../src/api/schemas';
import { OVERLAP_POLICIES } from '../../src/shared/schedule';

const PLAN = { tasks: [{ id: 'a', description: 'a' }] };

describe('a schedule’s timing, in the API’s words and Temporal’s', () => {
  test('durations go to milliseconds and back in the largest unit that divides them', () => {
    expect(['250ms', '2s', '15m', '36h', '1d'].map(durationMs)).toEqual([250, 2_000, 900_000, 129_600_000, 86_400_000]);
    expect([250, 2_000, 90_000, 900_000, 129_600_000, 31_536_000_000].map(durationOf)).toEqual([
      '250ms',
      '2s',
      '90s',
      '15m',
      '36h',
      '365d',
    ]);
  });

  test('every overlap policy maps to Temporal’s and back', () => {
    for (const overlap of OVERLAP_POLICIES) {
      const fields = ScheduleFields.parse({ interval: '1m', overlap, plan: PLAN });
      const policy = temporalTiming(fields).policies?.overlap;
      expect(policy).toBeDefined();
      expect(overlapOf(policy as ScheduleOverlapPolicy)).toBe(overlap);
    }
    expect(temporalTiming(ScheduleFields.parse({ cron: '0 8 * * *', plan: PLAN })).policies?.overlap).toBe(
      ScheduleOverlapPolicy.SKIP,
    );
  });

  test('a cron expression or an interval, with the time zone, paused or not', () => {
    const cron = temporalTiming(
      ScheduleFields.parse({ cron: '30 2 * * *', timeZone: 'Asia/Kolkata', paused: true, note: 'later', plan: PLAN }),
    );
    expect(cron).toEqual({
      spec: { cronExpressions: ['30 2 * * *'], timezone: 'Asia/Kolkata' },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { paused: true, note: 'later' },
    });
    const every = temporalTiming(ScheduleFields.parse({ interval: '2s', catchupWindow: '10m', plan: PLAN }));
    expect(every).toEqual({
      spec: { intervals: [{ every: 2_000 }], timezone: 'UTC' },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 600_000 },
      state: { paused: false },
    });
  });

  test('the body is refused without exactly one timing, with a bad duration, time zone or id', () => {
    const issues = (body: unknown) =>
      ScheduleFields.safeParse(body).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ plan: PLAN })).toEqual(['cron: give one of `cron` and `interval`']);
    expect(issues({ cron: '* * * * *', interval: '1m', plan: PLAN })).toEqual([
      'cron: give one of `cron` and `interval`',
    ]);
    expect(issues({ interval: '1 minute', plan: PLAN })[0]).toMatch(/^interval: a duration/);
    expect(issues({ interval: '0s', plan: PLAN })[0]).toMatch(/^interval: a duration/);
    expect(issues({ cron: '@daily', timeZone: 'Nowhere/Atlantis', plan: PLAN })[0]).toMatch(/^timeZone: an IANA/);
    expect(issues({ interval: '1m', plan: 'a plan' })[0]).toMatch(/^plan:/);
    expect(ScheduleIdParam.safeParse({ scheduleId: 'x'.repeat(79) }).success).toBe(true);
    expect(ScheduleIdParam.safeParse({ scheduleId: 'x'.repeat(80) }).success).toBe(false);
    expect(ScheduleIdParam.safeParse({ scheduleId: 'a-task-b' }).success).toBe(false);
  });
});
