import { RerunBody } from '../../src/api/schemas';

/** What a rerun request leaves out stays the source's: the body's schema adds no defaults of its own. */
describe('POST /v1/plans/:planId/rerun body', () => {
  test('an override names only what it changes: no capabilities appear (they would move the task to another type)', () => {
    expect(RerunBody.parse({ from: ['a'], overrides: { a: { description: 'again' } } })).toEqual({
      from: ['a'],
      overrides: { a: { description: 'again' } },
    });
    expect(RerunBody.parse({ from: [], overrides: { a: { capabilities: ['writing'] } } }).overrides).toEqual({
      a: { capabilities: ['writing'] },
    });
  });

  test('settings name only what they change: the source keeps its failure policy and concurrency', () => {
    expect(RerunBody.parse({ from: 'failed', settings: { name: 'again' } })).toEqual({
      from: 'failed',
      settings: { name: 'again' },
    });
  });

  test('unknown fields and bad values are refused', () => {
    expect(RerunBody.safeParse({ from: ['a'], overrides: { a: { dependsOn: ['b'] } } }).success).toBe(false);
    expect(RerunBody.safeParse({ from: ['a'], settings: { mode: 'parallel' } }).success).toBe(false);
    expect(RerunBody.safeParse({ from: 'everything' }).success).toBe(false);
    expect(RerunBody.safeParse({ from: ['a'], settings: { maxConcurrency: 0 } }).success).toBe(false);
  });
});
