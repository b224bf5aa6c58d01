import { patched, workflowInfo } from '@temporalio/workflow';

/** The patch that brought workflow-task-scoped request ids (plans started before it keep the old ones on replay). */
const REQUEST_IDS_PER_WORKFLOW_TASK = 'request-ids-per-workflow-task';

/**
 * The prefix for the pool requests a workflow makes now: its run and the history length its current workflow task
 * started at, then a counter. A request id must never name two different requests: the pool de-duplicates by id. A
 * workflow task that timed out (its worker died) may already have sent requests from local activities; the retried
 * task sees more events, may decide otherwise, and with a counter alone would send other requests under the same ids.
 * `npm run chaos` found that: a plan waited forever for grants the pool had given to the lost task's requests. With
 * the history length in the id, the retried task's ids differ from the lost task's, and the lost task's grants are
 * handed straight back. Deterministic: a replay sees the history length the task started at.
 *
 * The run is the one the history's WorkflowExecutionStarted event names (`originalExecutionRunId`), not `runId`: a
 * `temporal workflow reset` copies the history into a run with a new id, whose replay must make the requests it
 * recorded, or the grants in that history match nothing and the reset run fails with a non-determinism error
 * (test/reset.test.ts). The two are equal in every run that was not reset, so no recorded id changes. What this
 * leaves: after a reset, the requests the new run makes past the reset point carry the old run's id too, and only the
 * history length (and the counter) sets them apart from the ones the old run made past that point.
 */
export function requestPrefix(): string {
  const info = workflowInfo();
  const run = `${info.workflowId}/${info.originalExecutionRunId}`;
  return patched(REQUEST_IDS_PER_WORKFLOW_TASK) ? `${run}@${info.historyLength}` : run;
}
