/**
 * The request use cases against the records table: the per-member limit on pending requests, and a token name's
 * binding to its owner after the token is revoked or expires.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { cryptoRandom } from '../../../functions/composition/random';
import { RequestError } from '../../../functions/domain/errors';
import type { Caller } from '../../../functions/domain/model';
import type { Policy } from '../../../functions/domain/policy';
import {
  type ApprovalDeps,
  decideApproval,
  requestApproval,
  showApproval,
} from '../../../functions/use-cases/approvals';
import { closeRequest } from '../../../functions/use-cases/close-request';
import { mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import {
  cancelTokenRequest,
  createTokenRequest,
  getTokenRequest,
  type RequestDeps,
} from '../../../functions/use-cases/requests';
import { revokeToken } from '../../../functions/use-cases/revoke';
import { sweep } from '../../../functions/use-cases/sweep';
import { type Harness, policy, useHarness } from '../../support/harness';
import { INLINE_LINK_KEY } from '../../support/inline-notifier';

const ses = mockClient(SESv2Client);
const DAY = 86_400_000;
const started: string[] = [];
const workflows = {
  start: async (_arn: string, name: string) => {
    started.push(name);
    return `arn:execution:${name}`;
  },
  succeed: async () => true,
  stop: async () => {},
} as unknown as Workflows;

const member = (email: string): Caller => ({ email, isAdmin: false });
const admin: Caller = { email: 'admin@example.com', isAdmin: true };
// The key the harness's inline notifier signs the emailed links with.
const linkAndSealKey = async () => ({ current: INLINE_LINK_KEY });

function requestDeps(current: Policy = policy): RequestDeps & { store: Harness['deps']['store'] } {
  return {
    store: h.deps.store,
    audit: h.deps.audit,
    workflows,
    clock: h.clock,
    random: cryptoRandom,
    policy: current,
    issuanceStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Issuance',
    linkAndSealKey,
  };
}

const approvalDeps = (): ApprovalDeps => ({
  ...requestDeps(),
  approvalBaseUrl: 'https://api.example.com',
  log: { warn: () => {} },
});

const body = (name: string, extra: Record<string, unknown> = {}) => ({
  serviceAccount: 'jenkins-bot',
  name,
  scopes: ['read:jira-work', 'read:jira-user'],
  lifetimeDays: 30,
  justification: 'tests',
  ...extra,
});

/** The refusal a use case threw (code, status, field), or a failure when it succeeded. */
async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RequestError) return { code: error.code, status: error.status, field: error.field };
    throw error;
  }
  throw new Error('expected a refusal');
}

const create = (who: string, name: string, key?: string, current?: Policy) =>
  createTokenRequest(requestDeps(current), member(who), body(name), key);

const h = useHarness(ses, () => {
  started.length = 0;
});

describe('maxPendingRequestsPerMember', () => {
  it('defaults to 5', () => {
    expect(policy.maxPendingRequestsPerMember).toBe(5);
  });

  it('refuses a member’s sixth pending request with 429 TOO_MANY_REQUESTS, starting nothing and holding no name', async () => {
    for (let i = 1; i <= 5; i++)
      expect((await create('limit@example.com', `limit-${i}`)).status).toBe('PENDING_APPROVAL');
    started.length = 0;
    expect(await refusal(create('limit@example.com', 'limit-6'))).toEqual({
      code: 'TOO_MANY_REQUESTS',
      status: 429,
      field: undefined,
    });
    expect(started).toEqual([]);
    // The refused request holds no name, and other members are not limited by this one.
    expect((await create('other@example.com', 'limit-6')).status).toBe('PENDING_APPROVAL');
  });

  it('replays an Idempotency-Key at the limit with the original request, not a 429', async () => {
    const first = await create('replay@example.com', 'replay-1', 'key-1');
    for (let i = 2; i <= 5; i++) await create('replay@example.com', `replay-${i}`);
    const again = await create('replay@example.com', 'replay-1', 'key-1');
    expect(again).toEqual(first);
    expect((await refusal(create('replay@example.com', 'replay-6', 'key-6'))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('bounds a burst of parallel requests from one member to the limit', async () => {
    const answers = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => create('burst@example.com', `burst-${i}`)),
    );
    const accepted = answers.filter((a) => a.status === 'fulfilled');
    expect(accepted).toHaveLength(5);
    for (const a of answers) {
      if (a.status === 'rejected') expect(a.reason).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    }
    const page = await h.deps.store.listRequests({ requester: 'burst@example.com', limit: 100 });
    expect(page.items.filter((r) => r.status === 'PENDING_APPROVAL')).toHaveLength(5);
  });

  it('frees a slot when a request is cancelled, decided or expires, once per request', async () => {
    const who = 'slots@example.com';
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await create(who, `slots-${i}`)).requestId);
    expect((await refusal(create(who, 'slots-6'))).code).toBe('TOO_MANY_REQUESTS');

    // Cancelled by the member, then closed by the workflow: one slot, freed once.
    await cancelTokenRequest(requestDeps(), member(who), ids[0]!);
    await closeRequest({ ...h.deps }, { requestId: ids[0]!, outcome: 'CANCELLED' });
    await closeRequest({ ...h.deps }, { requestId: ids[0]!, outcome: 'CANCELLED' });
    expect((await create(who, 'slots-6')).status).toBe('PENDING_APPROVAL');
    expect((await refusal(create(who, 'slots-7'))).code).toBe('TOO_MANY_REQUESTS');

    // Expired by the workflow.
    await closeRequest({ ...h.deps }, { requestId: ids[1]!, outcome: 'EXPIRED' });
    expect((await create(who, 'slots-7')).status).toBe('PENDING_APPROVAL');
    expect((await refusal(create(who, 'slots-8'))).code).toBe('TOO_MANY_REQUESTS');

    // Approved from the emailed link.
    ses.resetHistory();
    await requestApproval(approvalDeps(), { requestId: ids[2]!, taskToken: 'task' });
    const text = ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '';
    const url = new URL(text.split('\n').find((l) => l.startsWith('https://')) ?? 'https://missing');
    const approvalId = url.pathname.split('/').pop() ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    const page = await showApproval(approvalDeps(), approvalId, sig);
    const csrf = 'form' in page.model ? (page.model.form?.csrf ?? '') : '';
    expect(
      (await decideApproval(approvalDeps(), approvalId, new URLSearchParams({ decision: 'approve', sig, csrf })))
        .status,
    ).toBe(200);
    expect((await getTokenRequest(requestDeps(), member(who), ids[2]!)).status).toBe('APPROVED');
    expect((await create(who, 'slots-8')).status).toBe('PENDING_APPROVAL');
    expect((await refusal(create(who, 'slots-9'))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('takes back a slot whose request left PENDING_APPROVAL without freeing it', async () => {
    const who = 'stale@example.com';
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await create(who, `stale-${i}`)).requestId);
    const request = await h.deps.store.getRequest(ids[0]!);
    await h.deps.store.saveRequest({ ...request!, status: 'REJECTED', reason: 'REJECTED_BY_APPROVER' });
    expect((await create(who, 'stale-6')).status).toBe('PENDING_APPROVAL');
    expect((await refusal(create(who, 'stale-7'))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('follows the policy’s value', async () => {
    const two = { ...policy, maxPendingRequestsPerMember: 2 };
    await create('two@example.com', 'two-1', undefined, two);
    await create('two@example.com', 'two-2', undefined, two);
    expect((await refusal(create('two@example.com', 'two-3', undefined, two))).code).toBe('TOO_MANY_REQUESTS');
  });
});

describe('a token name after its token is revoked or expires', () => {
  /** A token issued for `who` under `name` through the request API and the issuance steps. */
  async function issue(who: string, name: string) {
    const { requestId } = await create(who, name);
    const request = await h.deps.store.getRequest(requestId);
    await h.deps.store.saveRequest({ ...request!, status: 'APPROVED' });
    const minted = await mintToken(h.deps, { requestId });
    await verifyToken(h.deps, minted);
    await promoteToken(h.deps, minted);
    return minted.tokenId;
  }

  const revokeDeps = () =>
    ({ ...h.deps, workflows, stopRotation: async () => {}, startRevocation: async () => {} }) as unknown as Parameters<
      typeof revokeToken
    >[0];
  const sweepDeps = () =>
    ({
      ...h.deps,
      workflows,
      rotationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Rotation',
    }) as unknown as Parameters<typeof sweep>[0];

  it('stays bound to its owner for 7 days after a revoke: another member is refused (409 on name)', async () => {
    const tokenId = await issue('alice@example.com', 'bound-revoked');
    await revokeToken(revokeDeps(), admin, tokenId, 'leaked');
    expect(await refusal(create('bob@example.com', 'bound-revoked'))).toEqual({
      code: 'CONFLICT',
      status: 409,
      field: 'name',
    });
    h.clock.advance(7 * DAY - 60_000);
    expect((await refusal(create('bob@example.com', 'bound-revoked'))).code).toBe('CONFLICT');
    h.clock.advance(2 * 60_000);
    expect((await create('bob@example.com', 'bound-revoked')).requester).toBe('bob@example.com');
  });

  it('lets its owner take it again at once', async () => {
    const tokenId = await issue('alice@example.com', 'bound-owner');
    await revokeToken(revokeDeps(), admin, tokenId, 'replaced');
    expect((await create('alice@example.com', 'bound-owner')).status).toBe('PENDING_APPROVAL');
    // …and then it is theirs again: live, so refused to anyone else, the owner included.
    expect((await refusal(create('bob@example.com', 'bound-owner'))).code).toBe('CONFLICT');
  });

  it('stays bound through the owner’s own later request that ended without a token', async () => {
    const tokenId = await issue('alice@example.com', 'bound-carried');
    await revokeToken(revokeDeps(), admin, tokenId, 'replaced');
    const again = await create('alice@example.com', 'bound-carried');
    await cancelTokenRequest(requestDeps(), member('alice@example.com'), again.requestId);
    await closeRequest({ ...h.deps }, { requestId: again.requestId, outcome: 'CANCELLED' });
    expect((await refusal(create('bob@example.com', 'bound-carried'))).code).toBe('CONFLICT');
    h.clock.advance(7 * DAY + 60_000);
    expect((await create('bob@example.com', 'bound-carried')).requester).toBe('bob@example.com');
  });

  it('stays bound to its owner for 7 days after the token expired', async () => {
    await issue('alice@example.com', 'bound-expired');
    h.clock.advance(31 * DAY);
    await sweep(sweepDeps());
    const mine = await h.deps.store.listTokens({ owner: 'alice@example.com', limit: 100 });
    expect(mine.items.find((t) => t.name === 'bound-expired')?.status).toBe('EXPIRED');
    expect((await refusal(create('bob@example.com', 'bound-expired'))).code).toBe('CONFLICT');
    h.clock.advance(7 * DAY + 60_000);
    expect((await create('bob@example.com', 'bound-expired')).requester).toBe('bob@example.com');
  });

  it('is free for anyone at once when its request was never issued', async () => {
    const { requestId } = await create('alice@example.com', 'never-issued');
    await cancelTokenRequest(requestDeps(), member('alice@example.com'), requestId);
    await closeRequest({ ...h.deps }, { requestId, outcome: 'CANCELLED' });
    expect((await create('bob@example.com', 'never-issued')).requester).toBe('bob@example.com');
  });
});
