/**
 * Moving a member between authentication policies with Atlassian's Admin Control API: `add-users` answers at once
 * with a task, the move happens asynchronously; the task is polled until nothing is in progress, a failure reason
 * fails the move, and `bulk-fetch` confirms where the member is. Moving a member into the policy they are already in
 * changes nothing, so a retried step simply moves again.
 */
import type { Atlassian } from './ports';

/** Atlassian refused the move (a failure reason on the task): retrying will not help. */
export class PolicyMoveFailedError extends Error {
  override readonly name = 'PolicyMoveFailedError';
}

/** The move is not finished or not visible yet: the workflow retries the step. */
export class PolicyMovePendingError extends Error {
  override readonly name = 'PolicyMovePendingError';
}

export interface PolicyMoveDeps {
  atlassian: Pick<Atlassian, 'addUsersToAuthPolicy' | 'authPolicyTask' | 'bulkFetchAuthPolicies'>;
  /** Waits between polls of the task. */
  sleep: (ms: number) => Promise<void>;
}

/** How long one step polls the task before leaving the rest to the workflow's retry. */
const POLL_BUDGET_MS = 20_000;

/** Moves `email` (account `accountId`) into `policyId` of `orgId` and confirms it. */
export async function moveMember(
  deps: PolicyMoveDeps,
  move: { orgId: string; policyId: string; email: string; accountId: string },
): Promise<void> {
  const { taskId } = await deps.atlassian.addUsersToAuthPolicy(move.orgId, move.policyId, [move.email]);
  let waited = 0;
  for (let poll = 0; ; poll++) {
    const task = await deps.atlassian.authPolicyTask(move.orgId, taskId);
    if (task.failureCount > 0 || task.failureReasons.length > 0) {
      const reasons = task.failureReasons
        .map((r) => [r.status, r.title].filter((x) => x !== undefined).join(' '))
        .filter((r) => r !== '')
        .slice(0, 3);
      throw new PolicyMoveFailedError(
        `Atlassian did not move the member into policy ${move.policyId}${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
      );
    }
    if (task.inProgressCount === 0) break;
    if (waited >= POLL_BUDGET_MS) {
      throw new PolicyMovePendingError(`the move into policy ${move.policyId} is still in progress`);
    }
    const wait = Math.min(250 * 2 ** poll, 2_000);
    await deps.sleep(wait);
    waited += wait;
  }
  const [where] = await deps.atlassian.bulkFetchAuthPolicies(move.orgId, [move.accountId]);
  if (where?.policyId !== move.policyId) {
    throw new PolicyMovePendingError(`the member is not in policy ${move.policyId} yet`);
  }
}
