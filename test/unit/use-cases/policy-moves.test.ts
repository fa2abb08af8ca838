/** The polled policy move: add-users, the task polled until nothing is in progress, bulk-fetch confirms. */

import {
  moveMember,
  type PolicyMoveDeps,
  PolicyMoveFailedError,
  PolicyMovePendingError,
} from '../../../functions/use-cases/policy-moves';
import type { AuthPolicyTaskStatus } from '../../../functions/use-cases/ports';

const MOVE = { orgId: 'demo-org', policyId: 'policy-allow', email: 'alice@example.com', accountId: 'acc-alice' };

const task = (over: Partial<AuthPolicyTaskStatus> = {}): AuthPolicyTaskStatus => ({
  inProgressCount: 0,
  successCount: 1,
  failureCount: 0,
  failureReasons: [],
  ...over,
});

/** An Atlassian whose task answers `tasks` in turn (the last one for ever), and whose bulk-fetch finds the member in `where` (null: not at all). */
function atlassian(tasks: AuthPolicyTaskStatus[], where: string | null = MOVE.policyId) {
  const calls: string[] = [];
  const slept: number[] = [];
  let polls = 0;
  const deps: PolicyMoveDeps = {
    atlassian: {
      addUsersToAuthPolicy: async (orgId, policyId, emails) => {
        calls.push(`add-users ${orgId} ${policyId} ${emails.join(',')}`);
        return { taskId: 'task-1' };
      },
      authPolicyTask: async (orgId, taskId) => {
        calls.push(`task ${orgId} ${taskId}`);
        const answer = tasks[Math.min(polls, tasks.length - 1)] ?? task();
        polls++;
        return answer;
      },
      bulkFetchAuthPolicies: async (orgId, accountIds) => {
        calls.push(`bulk-fetch ${orgId} ${accountIds.join(',')}`);
        return where === null ? [] : [{ accountId: MOVE.accountId, policyId: where }];
      },
    },
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
  return { deps, calls, slept };
}

describe('Use case: moveMember', () => {
  it('moves, polls until nothing is in progress, then confirms with bulk-fetch', async () => {
    // Prepare
    const { deps, calls, slept } = atlassian([task({ inProgressCount: 1, successCount: 0 }), task()]);
    // Act
    await moveMember(deps, MOVE);
    // Assess
    expect(calls).toEqual([
      'add-users demo-org policy-allow alice@example.com',
      'task demo-org task-1',
      'task demo-org task-1',
      'bulk-fetch demo-org acc-alice',
    ]);
    expect(slept).toEqual([250]);
  });

  it('fails with the task’s failure reasons (status and title), which a retry will not change', async () => {
    // Prepare
    const reasons = [1, 2, 3, 4].map((n) => ({ emails: [`u${n}@example.com`], status: 404, title: `Not found ${n}` }));
    const { deps, calls } = atlassian([task({ successCount: 0, failureCount: 4, failureReasons: reasons })]);
    // Act
    const moved = moveMember(deps, MOVE);
    // Assess
    await expect(moved).rejects.toBeInstanceOf(PolicyMoveFailedError);
    await expect(moved).rejects.toThrow(
      'Atlassian did not move the member into policy policy-allow (404 Not found 1; 404 Not found 2; 404 Not found 3)',
    );
    await expect(moved).rejects.toMatchObject({ name: 'PolicyMoveFailedError' });
    expect(calls.some((c) => c.startsWith('bulk-fetch'))).toBe(false);
  });

  it('fails on a failure count alone, even while other users are still in progress', async () => {
    // Prepare
    const { deps } = atlassian([task({ inProgressCount: 2, failureCount: 1 })]);
    // Act, Assess
    await expect(moveMember(deps, MOVE)).rejects.toThrow(
      new PolicyMoveFailedError('Atlassian did not move the member into policy policy-allow'),
    );
  });

  it('leaves a task still in progress after its budget to the workflow’s retry', async () => {
    // Prepare
    const { deps, calls, slept } = atlassian([task({ inProgressCount: 1, successCount: 0 })]);
    // Act
    const moved = moveMember(deps, MOVE);
    // Assess
    await expect(moved).rejects.toBeInstanceOf(PolicyMovePendingError);
    await expect(moved).rejects.toThrow('the move into policy policy-allow is still in progress');
    // Backoff doubles from 250 ms up to 2 s, and the waits add up to the 20 s budget.
    expect(slept.slice(0, 5)).toEqual([250, 500, 1000, 2000, 2000]);
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20_000);
    expect(slept.reduce((a, b) => a + b, 0)).toBeLessThan(22_000);
    expect(calls.filter((c) => c.startsWith('add-users'))).toHaveLength(1);
    expect(calls.some((c) => c.startsWith('bulk-fetch'))).toBe(false);
  });

  it('is pending while bulk-fetch shows the member elsewhere or not at all', async () => {
    // Prepare
    const elsewhere = atlassian([task()], 'policy-block');
    const absent = atlassian([task()], null);
    // Act, Assess
    await expect(moveMember(elsewhere.deps, MOVE)).rejects.toThrow(
      new PolicyMovePendingError('the member is not in policy policy-allow yet'),
    );
    await expect(moveMember(absent.deps, MOVE)).rejects.toBeInstanceOf(PolicyMovePendingError);
  });

  it('lets an error of the calls themselves through for the workflow to retry', async () => {
    // Prepare
    const { deps } = atlassian([task()]);
    const failing: PolicyMoveDeps = {
      ...deps,
      atlassian: {
        ...deps.atlassian,
        addUsersToAuthPolicy: async () => {
          throw new Error('503 from Atlassian');
        },
      },
    };
    // Act, Assess
    await expect(moveMember(failing, MOVE)).rejects.toThrow('503 from Atlassian');
  });
});
