import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureTypes, NON_RETRYABLE_TYPES, NOT_THE_AGENTS_FAULT } from '../../src/shared/errors';

/** The cells docs/reliability.md's "Failure types" table must show for each type of src/shared/errors.ts. */
const expectedRows = (): string[][] =>
  failureTypes().map(({ type, info }) => [
    `\`${type}\``,
    info.raisedBy,
    info.meaning,
    info.raisedBy !== 'step' ? '—' : info.nonRetryable || info.final ? 'no' : 'yes',
    info.notTheAgentsFault ? 'no' : 'yes',
  ]);

function documentedRows(): string[][] {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'reliability.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Failure types'));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
}

describe('failure types', () => {
  test('docs/reliability.md lists every failure type as src/shared/errors.ts defines it', () => {
    expect(documentedRows()).toEqual(expectedRows());
  });

  test("the steps' non-retryable types keep their recorded order, and budget and provider failures spare the agent", () => {
    // Part of every recorded ScheduleActivityTask: changing it changes what replays compare.
    expect(NON_RETRYABLE_TYPES).toEqual([
      'BadInput',
      'ValidationRejected',
      'InvalidSubtasks',
      'SimulatedFatal',
      'ModelAuthFailed',
      'ModelBadRequest',
    ]);
    expect([...NOT_THE_AGENTS_FAULT].sort()).toEqual(
      [
        'AgentTypeRefused',
        'BudgetExhausted',
        'ModelAuthFailed',
        'ModelBadRequest',
        'ModelRateLimited',
        'ModelServerError',
        'ModelUnavailable',
        'ToolServerUnavailable',
        'RemoteAgentUnavailable',
      ].sort(),
    );
  });
});
