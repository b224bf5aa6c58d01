import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { quietRuntime } from './support/harness';

const dir = join(__dirname, 'fixtures/histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

/** What the replay reads of a recorded history beyond passing it on: its first event's workflow id, when recorded. */
interface StartedHistory {
  events?: { workflowExecutionStartedEventAttributes?: { workflowId?: string } }[];
}

beforeAll(quietRuntime);

/**
 * Replays histories recorded from earlier versions (scripts/record-histories.ts) against today's workflow code: a change
 * that would break workflows already running in production fails here with a non-determinism error.
 */
describe('replay of recorded histories', () => {
  test('there are recorded histories of plan and task workflows', () => {
    expect(files).toEqual(expect.arrayContaining(['plan-replay-dag.json', 'plan-replay-hier.json', 'agent-pool.json']));
    expect(files.some((f) => f.includes('-task-'))).toBe(true);
  });

  test.each(files)('%s replays without non-determinism', async (file) => {
    const history = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StartedHistory;
    // The workflow id the history ran under (a scheduled plan's carries its time, which the file name leaves out).
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } },
      history,
      started ?? file.replace(/\.json$/, ''),
    );
  });
});
