/**
 * Access exceptions against the fake Atlassian over HTTP, with dynalite behind the real record store and audit log:
 * the routes, the approval (the token requests' own), the time-boxed move into the allow policy and back, and every
 * step run again as the workflow's at-least-once delivery may. Every audit record is emailed at once by the
 * notifier's planners (`notifyingAudit`), so the mail each step causes is seen where the step is.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import type { AuditLog } from '../../../functions/adapters/aws/audit-log';
import { cryptoRandom } from '../../../functions/composition/random';
import { activate, close, newException, type StoredException } from '../../../functions/domain/access-exceptions';
import { signApprovalLink } from '../../../functions/domain/links';
import type { Caller } from '../../../functions/domain/model';
import { approvalIdFor } from '../../../functions/domain/naming';
import type { PersonalTokenPolicy, Policy } from '../../../functions/domain/policy';
import { isoSeconds } from '../../../functions/domain/ports';
import {
  cancelException,
  closeException,
  createException,
  type ExceptionRouteDeps,
  type ExceptionStepDeps,
  endException,
  endExecutionName,
  exceptionHolders,
  failException,
  getException,
  grantException,
  listExceptions,
  recordMoveBackFailure,
  revertException,
} from '../../../functions/use-cases/access-exceptions';
import {
  type ApprovalDeps,
  decideApproval,
  type PageAnswer,
  requestApproval,
  showApproval,
} from '../../../functions/use-cases/approvals';
import { beginScan, listPersonalTokens, runScan } from '../../../functions/use-cases/personal-tokens';
import { PolicyMoveFailedError, PolicyMovePendingError } from '../../../functions/use-cases/policy-moves';
import type { Email, WorkflowEngine } from '../../../functions/use-cases/ports';
import { policy, useHarness } from '../../support/harness';
import { notifyingAudit } from '../../support/inline-notifier';

const ses = mockClient(SESv2Client);
const h = useHarness(ses, () => {
  notifierPolicy = policy;
});
/** The policy the inline notifier plans with: the deployed one, unless a test deploys another. */
let notifierPolicy: Policy;
const DAY = 24 * 3600 * 1000;
const KEY = Buffer.alloc(32, 9);
const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:token-warden-access-exception';
const ALICE: Caller = { email: 'alice@example.com', isAdmin: false };
const BOB: Caller = { email: 'bob@example.com', isAdmin: false };
const ADMIN: Caller = { email: 'admin@example.com', isAdmin: true };
const BODY = { days: 7, justification: 'The nightly Jenkins job still runs on my token' };

let sent: Email[];
let started: { arn: string; name: string; input: object }[];
let resumed: { token: string; output: object }[];

const workflows: WorkflowEngine = {
  start: async (arn, name, input) => {
    started.push({ arn, name, input });
    return `${arn}:${name}`;
  },
  succeed: async (token, output) => {
    resumed.push({ token, output });
    return true;
  },
  stop: async () => {},
};
const mailer = {
  send: async (email: Email) => {
    sent.push(email);
    return undefined;
  },
};
/** The audit trail every use case here writes: each record emailed at once, as the notifier would. */
let audit: AuditLog;
beforeAll(() => {
  audit = notifyingAudit(h.dynamo.doc, h.dynamo.auditTableName, () => ({
    store: h.deps.store,
    mailer,
    clock: h.clock,
    policy: notifierPolicy,
    linkBaseUrl: 'https://api.example.com/',
    linkKey: async () => KEY,
  }));
});
/** The fake's add-users task finishes after 300 ms of wall time: the polls really wait, but briefly. */
const shortSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 100)));

function withSettings(over: Partial<PersonalTokenPolicy>): Policy {
  return { ...policy, personalTokens: { ...(policy.personalTokens as PersonalTokenPolicy), ...over } };
}

function withApprovers(approvers: string[], approvalsRequired = 1): Policy {
  const personal = policy.personalTokens as PersonalTokenPolicy;
  return withSettings({ exceptions: { ...(personal.exceptions ?? { maxDays: 30 }), approvers, approvalsRequired } });
}

const routes = (over: Partial<ExceptionRouteDeps> = {}): ExceptionRouteDeps => ({
  store: h.deps.store,
  audit,
  workflows,
  clock: h.clock,
  random: cryptoRandom,
  policy,
  linkAndSealKey: async () => ({ current: KEY }),
  exceptionStateMachineArn: ARN,
  ...over,
});

const steps = (over: Partial<ExceptionStepDeps> = {}): ExceptionStepDeps => ({
  store: h.deps.store,
  audit,
  atlassian: h.deps.atlassian as AtlassianClient,
  clock: h.clock,
  policy,
  sleep: shortSleep,
  log: { warn: () => {} },
  ...over,
});

const approvals = (over: Partial<ApprovalDeps> = {}): ApprovalDeps => ({
  store: h.deps.store,
  audit,
  workflows,
  clock: h.clock,
  random: cryptoRandom,
  policy,
  linkAndSealKey: async () => ({ current: KEY }),
  approvalBaseUrl: 'https://api.example.com/',
  log: { warn: () => {} },
  ...over,
});

/** Every item of the records table. */
async function records(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.tableName, ExclusiveStartKey }));
    items.push(...((out.Items ?? []) as Record<string, unknown>[]));
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** Empties the records table (audit records are keyed by exception id, which never repeats). */
async function clearRecords(): Promise<void> {
  for (const item of await records()) {
    await h.dynamo.doc.send(new DeleteCommand({ TableName: h.dynamo.tableName, Key: { pk: item.pk, sk: item.sk } }));
  }
}

/** Who is in each authentication policy at the fake, as `GET /__control/policies` shows it. */
async function policyOf(email: string): Promise<string | undefined> {
  const res = await fetch(`${h.fakeUrl}/__control/policies`);
  const policies = (await res.json()) as { policyId: string; members: { email: string }[] }[];
  return policies.find((p) => p.members.some((m) => m.email === email))?.policyId;
}

/** A personal token created at the fake as the member would (201 only while their policy allows tokens). */
async function personalToken(email: string, label: string): Promise<string> {
  const res = await fetch(`${h.fakeUrl}/__control/personal-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, label }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The exception's audit events, sorted (records of the same second are not kept in the order they were made). */
const auditOf = async (exceptionId: string) => (await h.deps.audit.list(exceptionId)).map((r) => r.event).sort();

/** The approval links emailed so far, by approver. */
function links(): Map<string, URL> {
  const out = new Map<string, URL>();
  for (const email of sent) {
    const line = email.text.split('\n').find((l) => l.startsWith('https://api.example.com/approvals/'));
    if (line) out.set(email.to, new URL(line));
  }
  return out;
}

const approvalIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';
const csrfOf = (answer: Awaited<ReturnType<typeof showApproval>>) =>
  'form' in answer.model && answer.model.form ? answer.model.form.csrf : '';

/** Opens `approver`'s emailed link and posts `decision` with the page's form. */
async function decide(approver: string, decision: 'approve' | 'reject', d = approvals()): Promise<PageAnswer> {
  const url = links().get(approver);
  if (!url) throw new Error(`no link was emailed to ${approver}`);
  const sig = url.searchParams.get('sig') ?? '';
  const csrf = csrfOf(await showApproval(d, approvalIdOf(url), sig));
  return decideApproval(d, approvalIdOf(url), new URLSearchParams({ decision, sig, csrf }));
}

/** Alice's exception through the real approval path: created, its links emailed, approved by security@. */
async function approvedException(caller: Caller = ALICE, d = approvals()): Promise<string> {
  const created = await createException(routes(), caller, BODY, undefined);
  await requestApproval(d, { exceptionId: created.exceptionId, taskToken: `task-${created.exceptionId}` });
  const answer = await decide('security@example.com', 'approve', d);
  expect(answer.status).toBe(200);
  return created.exceptionId;
}

/** An approved exception, granted: the member in the allow policy, `ACTIVE`. */
async function activeException(caller: Caller = ALICE, d = steps()): Promise<string> {
  const exceptionId = await approvedException(caller);
  await grantException(d, { exceptionId });
  return exceptionId;
}

const stored = async (exceptionId: string) => {
  const e = await h.deps.store.getException(exceptionId);
  if (!e) throw new Error(`no exception ${exceptionId}`);
  return e;
};

async function scan(p: Policy) {
  const d = {
    store: h.deps.store,
    audit: h.deps.audit,
    atlassian: h.deps.atlassian as AtlassianClient,
    mailer,
    clock: h.clock,
    random: cryptoRandom,
    policy: p,
    consoleUrl: 'https://warden.example.com/console/',
    exceptions: exceptionHolders(h.deps.store, h.clock),
  };
  const begun = await beginScan(d, { caller: ADMIN });
  await runScan(d, begun.scanId);
  return d;
}

beforeEach(async () => {
  sent = [];
  started = [];
  resumed = [];
  h.fake.reset();
  await clearRecords();
});

describe('Use case: createException', () => {
  it('creates a pending exception, audits it and starts its workflow named for it', async () => {
    // Act
    const created = await createException(routes(), ALICE, BODY, undefined);
    // Assess
    expect(created).toMatchObject({
      status: 'PENDING_APPROVAL',
      member: 'alice@example.com',
      days: 7,
      approvalsRequired: 1,
      approvals: [],
    });
    expect(created).not.toHaveProperty('approvers');
    expect(started).toEqual([{ arn: ARN, name: created.exceptionId, input: { exceptionId: created.exceptionId } }]);
    expect(await auditOf(created.exceptionId)).toEqual(['EXCEPTION_REQUESTED']);
    expect(await getException(routes(), ALICE, created.exceptionId)).toEqual(created);
  });

  it('names the field of a bad body, and refuses an unusable Idempotency-Key', async () => {
    // Act, Assess
    await expect(createException(routes(), ALICE, { ...BODY, days: 31 }, undefined)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'days',
    });
    await expect(
      createException(routes(), ALICE, { days: 3, justification: 'too short' }, undefined),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'justification',
    });
    await expect(createException(routes(), ALICE, BODY, 'has a space')).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'Idempotency-Key',
    });
    expect(started).toEqual([]);
    expect((await h.deps.store.listExceptions({ limit: 10 })).items).toEqual([]);
  });

  it('refuses with POLICY_VIOLATION when too few approvers are left besides the member', async () => {
    // Prepare
    const p = withApprovers(['alice@example.com', 'security@example.com'], 2);
    // Act, Assess
    await expect(createException(routes({ policy: p }), ALICE, BODY, undefined)).rejects.toMatchObject({
      code: 'POLICY_VIOLATION',
    });
    await expect(createException(routes({ policy: p }), BOB, BODY, undefined)).resolves.toMatchObject({
      status: 'PENDING_APPROVAL',
    });
  });

  it('replays an Idempotency-Key with the same exception, and refuses it with another body', async () => {
    // Prepare
    const key = `key-${cryptoRandom.id()}`;
    const first = await createException(routes(), ALICE, BODY, key);
    // Act
    const again = await createException(routes(), ALICE, { ...BODY, justification: `  ${BODY.justification} ` }, key);
    const other = createException(routes(), ALICE, { ...BODY, days: 8 }, key);
    // Assess
    expect(again).toEqual(first);
    await expect(other).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' });
    // The replay starts the same execution again (idempotent by name), in case the first call stopped before it.
    expect(started.map((s) => s.name)).toEqual([first.exceptionId, first.exceptionId]);
    expect((await h.deps.store.listExceptions({ limit: 10 })).items).toHaveLength(1);
    expect(await auditOf(first.exceptionId)).toEqual(['EXCEPTION_REQUESTED']);
    // Another member's same key is their own exception.
    const bobs = await createException(routes(), BOB, BODY, key);
    expect(bobs.exceptionId).not.toBe(first.exceptionId);
  });

  it('allows one live exception per member (409), and a new one once the first is over', async () => {
    // Prepare
    const first = await createException(routes(), ALICE, BODY, undefined);
    // Act, Assess: pending, then approved, then active are all live.
    await expect(createException(routes(), ALICE, BODY, undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
    await requestApproval(approvals(), { exceptionId: first.exceptionId, taskToken: 'task-1' });
    await decide('security@example.com', 'approve');
    await expect(createException(routes(), ALICE, BODY, undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
    await grantException(steps(), { exceptionId: first.exceptionId });
    await expect(createException(routes(), ALICE, BODY, `k-${cryptoRandom.id()}`)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // Bob is not held back by alice's exception.
    const bobs = await createException(routes(), BOB, BODY, undefined);
    // Ended: alice may ask again.
    await revertException(steps(), { exceptionId: first.exceptionId });
    const second = await createException(routes(), ALICE, BODY, undefined);
    expect(second.status).toBe('PENDING_APPROVAL');
    // Rejected (and closed): bob may ask again.
    await requestApproval(approvals(), { exceptionId: bobs.exceptionId, taskToken: 'task-bob' });
    expect((await decide('security@example.com', 'reject')).status).toBe(200);
    await closeException(steps(), { exceptionId: bobs.exceptionId, outcome: 'REJECTED' });
    await expect(createException(routes(), BOB, BODY, undefined)).resolves.toMatchObject({
      status: 'PENDING_APPROVAL',
    });
  });

  it('lets a member ask again once the pending one is cancelled, even before the workflow closed it', async () => {
    // Prepare
    const first = await createException(routes(), ALICE, BODY, undefined);
    await cancelException(routes(), ALICE, first.exceptionId);
    // Act
    const second = await createException(routes(), ALICE, BODY, undefined);
    // Assess
    expect(second.exceptionId).not.toBe(first.exceptionId);
    // The late close of the cancelled one does not free the new one's place.
    await closeException(steps(), { exceptionId: first.exceptionId, outcome: 'CANCELLED' });
    await expect(createException(routes(), ALICE, BODY, undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('Use case: listExceptions and getException', () => {
  it('shows members their own only (another’s is 404), admins all, newest first', async () => {
    // Prepare
    const alices = await createException(routes(), ALICE, BODY, undefined);
    h.clock.advance(2000);
    const bobs = await createException(routes(), BOB, BODY, undefined);
    // Act
    const mine = await listExceptions(routes(), ALICE, {});
    const all = await listExceptions(routes(), ADMIN, {});
    // Assess
    expect(mine.items.map((e) => e.exceptionId)).toEqual([alices.exceptionId]);
    expect(all.items.map((e) => e.exceptionId)).toEqual([bobs.exceptionId, alices.exceptionId]);
    await expect(getException(routes(), ALICE, bobs.exceptionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(getException(routes(), ADMIN, bobs.exceptionId)).resolves.toMatchObject({ member: 'bob@example.com' });
    await expect(getException(routes(), ALICE, 'exc_notanid')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(listExceptions(routes(), ALICE, { member: 'bob@example.com' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'member',
    });
    const page = await listExceptions(routes(), ADMIN, { limit: '1' });
    expect(page.items).toHaveLength(1);
    const rest = await listExceptions(routes(), ADMIN, { limit: '1', nextToken: page.nextToken });
    expect(rest.items.map((e) => e.exceptionId)).toEqual([alices.exceptionId]);
  });
});

describe('Use case: cancelException', () => {
  it('a place claimed by a call still in flight is refused for a while, then taken over', async () => {
    // Prepare: another call of alice's claimed her place and has not stored its exception yet.
    const inFlight = `exc_${cryptoRandom.id()}`;
    await h.deps.store.claimLiveException('alice@example.com', inFlight, undefined, isoSeconds(h.clock.now()));
    // Act, Assess
    await expect(createException(routes(), ALICE, BODY, undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(started).toEqual([]);
    h.clock.advance(6 * 60_000);
    const created = await createException(routes(), ALICE, BODY, undefined);
    expect(created.status).toBe('PENDING_APPROVAL');
    expect((await h.deps.store.liveExceptionClaim('alice@example.com'))?.exceptionId).toBe(created.exceptionId);
  });

  it('a workflow that does not start leaves the exception FAILED and the place free', async () => {
    // Prepare
    const failing = routes({
      workflows: {
        ...workflows,
        start: async () => {
          throw new Error('throttled');
        },
      },
    });
    // Act
    await expect(createException(failing, ALICE, BODY, undefined)).rejects.toThrow('throttled');
    // Assess: she can ask again at once.
    const [failed] = (await listExceptions(routes(), ALICE, {})).items;
    expect(failed).toMatchObject({ status: 'FAILED', reason: 'WORKFLOW_NOT_STARTED' });
    await expect(createException(routes(), ALICE, BODY, undefined)).resolves.toMatchObject({
      status: 'PENDING_APPROVAL',
    });
  });

  it('cancels while pending and resumes the waiting workflow with CANCELLED', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-cancel' });
    // Act
    const cancelled = await cancelException(routes(), ALICE, created.exceptionId);
    // Assess
    expect(cancelled).toMatchObject({ status: 'REJECTED', reason: 'CANCELLED' });
    expect(resumed).toEqual([{ token: 'task-cancel', output: { outcome: 'CANCELLED' } }]);
    expect(await auditOf(created.exceptionId)).toEqual([
      'APPROVAL_REQUESTED',
      'EXCEPTION_CANCELLED',
      'EXCEPTION_REQUESTED',
    ]);
    // A repeat answers it unchanged and resumes again: a first call that stopped before resuming is finished.
    await expect(cancelException(routes(), ALICE, created.exceptionId)).resolves.toEqual(cancelled);
    expect(resumed).toEqual([
      { token: 'task-cancel', output: { outcome: 'CANCELLED' } },
      { token: 'task-cancel', output: { outcome: 'CANCELLED' } },
    ]);
    expect(await auditOf(created.exceptionId)).toEqual([
      'APPROVAL_REQUESTED',
      'EXCEPTION_CANCELLED',
      'EXCEPTION_REQUESTED',
    ]);
    // The security@ link no longer decides.
    expect((await decide('security@example.com', 'approve')).status).toBe(409);
    expect(resumed).toHaveLength(2);
  });

  it('cancelled before the approval step ran: that step resumes at once with CANCELLED and sends no link', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    await cancelException(routes(), ADMIN, created.exceptionId);
    expect(resumed).toEqual([]);
    // Act
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-late' });
    // Assess: no link went out; the workflow's close, resumed with CANCELLED, tells the cancellation.
    expect(resumed).toEqual([{ token: 'task-late', output: { outcome: 'CANCELLED' } }]);
    expect(links().size).toBe(0);
    expect(sent).toEqual([]);
    await closeException(steps(), { exceptionId: created.exceptionId, outcome: 'CANCELLED' });
    expect(sent.map((m) => [m.to, m.subject]).sort()).toEqual([
      ['alice@example.com', 'Access exception for alice@example.com was cancelled'],
      ['security@example.com', 'Access exception for alice@example.com was cancelled'],
    ]);
  });

  it("a repeat records the cancellation a first call saved but did not audit; the workflow's close tells it", async () => {
    // Prepare: the first call saved the cancellation and stopped before its audit record.
    const created = await createException(routes(), ALICE, BODY, undefined);
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-stopped' });
    const saved = await h.deps.store.saveException(
      close(await stored(created.exceptionId), 'REJECTED', 'CANCELLED', h.clock.now()),
    );
    expect(saved).toBeDefined();
    sent = [];
    // Act
    await cancelException(routes(), ALICE, created.exceptionId);
    await cancelException(routes(), ALICE, created.exceptionId);
    // Assess
    const cancelled = (await h.deps.audit.list(created.exceptionId)).filter((r) => r.event === 'EXCEPTION_CANCELLED');
    expect(cancelled).toEqual([expect.objectContaining({ actor: 'alice@example.com' })]);
    expect(sent).toEqual([]);
    await closeException(steps(), { exceptionId: created.exceptionId, outcome: 'CANCELLED' });
    expect(sent.map((m) => [m.to, m.subject]).sort()).toEqual([
      ['alice@example.com', 'Access exception for alice@example.com was cancelled'],
      ['security@example.com', 'Access exception for alice@example.com was cancelled'],
    ]);
    expect(resumed).toEqual([
      { token: 'task-stopped', output: { outcome: 'CANCELLED' } },
      { token: 'task-stopped', output: { outcome: 'CANCELLED' } },
    ]);
  });

  it('refuses another member (404) and an exception that is not pending (409)', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    // Act, Assess
    await expect(cancelException(routes(), BOB, created.exceptionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const active = await activeException(BOB);
    await expect(cancelException(routes(), BOB, active)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await stored(active)).status).toBe('ACTIVE');
  });
});

describe('Use case: the approval of an exception', () => {
  it('emails security@ once, however often the step runs; the page decides nothing; the form approves', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    // Act: the approval step delivered twice.
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-approve' });
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-approve' });
    // Assess
    expect(sent.map((e) => e.to)).toEqual(['security@example.com']);
    expect(sent[0]?.subject).toBe(
      'Approval needed: access exception for alice@example.com (7 days of personal API tokens)',
    );
    expect(sent[0]?.text).toContain(BODY.justification);
    const url = links().get('security@example.com') as URL;
    expect(approvalIdOf(url)).toBe(approvalIdFor(created.exceptionId, 'security@example.com'));
    const sig = url.searchParams.get('sig') ?? '';

    // The page shows the exception and a form, and decides nothing.
    const shown = await showApproval(approvals(), approvalIdOf(url), sig);
    expect(shown.status).toBe(200);
    expect(shown.model.title).toBe('Approve access exception?');
    expect(shown.model.exception).toMatchObject({
      member: 'alice@example.com',
      days: 7,
      justification: BODY.justification,
    });
    expect(await stored(created.exceptionId)).toMatchObject({ status: 'PENDING_APPROVAL', approvals: [] });
    expect(resumed).toEqual([]);

    // A form without the page's csrf decides nothing.
    const forged = await decideApproval(
      approvals(),
      approvalIdOf(url),
      new URLSearchParams({ decision: 'approve', sig, csrf: 'guessed' }),
    );
    expect(forged.status).toBe(403);
    expect((await stored(created.exceptionId)).status).toBe('PENDING_APPROVAL');

    const decided = await decideApproval(
      approvals(),
      approvalIdOf(url),
      new URLSearchParams({ decision: 'approve', sig, csrf: csrfOf(shown) }),
    );
    expect(decided.status).toBe(200);
    expect(decided.model.exception).toMatchObject({
      status: 'APPROVED',
      approvals: [{ approver: 'security@example.com', decision: 'APPROVED' }],
    });
    expect(resumed).toEqual([{ token: 'task-approve', output: { outcome: 'APPROVED' } }]);
    expect(await auditOf(created.exceptionId)).toEqual([
      'APPROVAL_REQUESTED',
      'EXCEPTION_APPROVED',
      'EXCEPTION_REQUESTED',
    ]);
    // Single use: the link decides nothing more.
    expect((await decide('security@example.com', 'approve')).status).toBe(409);
    expect(resumed).toHaveLength(1);
  });

  it('never sends the member a link, and refuses the member’s own link to their exception', async () => {
    // Prepare: alice is an exception approver herself.
    const p = withApprovers(['alice@example.com', 'security@example.com']);
    const d = approvals({ policy: p });
    const created = await createException(routes({ policy: p }), ALICE, BODY, undefined);
    await requestApproval(d, { exceptionId: created.exceptionId, taskToken: 'task-own' });
    expect(sent.map((e) => e.to)).toEqual(['security@example.com']);
    // A genuinely signed link for alice to her own exception.
    const approvalId = approvalIdFor(created.exceptionId, 'alice@example.com');
    const expiresAt = new Date(Date.parse(created.createdAt) + p.approvalExpiryHours * 3_600_000);
    await h.deps.store.createApproval({
      approvalId,
      requestId: created.exceptionId,
      subject: 'exception',
      approver: 'alice@example.com',
      expiresAt: isoSeconds(expiresAt),
      status: 'OPEN',
      csrfHashes: [],
      createdAt: isoSeconds(h.clock.now()),
    });
    const sig = signApprovalLink(KEY, approvalId, 'alice@example.com', expiresAt);
    // Act
    const shown = await showApproval(d, approvalId, sig);
    const decided = await decideApproval(d, approvalId, new URLSearchParams({ decision: 'approve', sig, csrf: 'x' }));
    // Assess
    expect(shown).toMatchObject({ status: 403, model: { title: 'Not allowed' } });
    expect(shown.model.message).toBe('You cannot decide on your own access exception.');
    expect(shown.model.form).toBeUndefined();
    expect(decided.status).toBe(403);
    expect(await stored(created.exceptionId)).toMatchObject({ status: 'PENDING_APPROVAL', approvals: [] });
    expect(resumed).toEqual([]);
  });

  it('needs the quorum before resuming; one reject resumes with REJECTED', async () => {
    // Prepare
    const p = withApprovers(['security@example.com', 'approver1@example.com', 'approver2@example.com'], 2);
    notifierPolicy = p;
    const d = approvals({ policy: p });
    const first = await createException(routes({ policy: p }), ALICE, BODY, undefined);
    await requestApproval(d, { exceptionId: first.exceptionId, taskToken: 'task-quorum' });
    expect(sent.map((e) => e.to).sort()).toEqual([
      'approver1@example.com',
      'approver2@example.com',
      'security@example.com',
    ]);
    // Act
    const one = await decide('security@example.com', 'approve', d);
    const two = await decide('approver1@example.com', 'approve', d);
    // Assess
    expect(one.model.message).toBe('Your approval was recorded. More approvals are needed.');
    expect(two.model.exception?.status).toBe('APPROVED');
    expect(resumed).toEqual([{ token: 'task-quorum', output: { outcome: 'APPROVED' } }]);
    expect((await decide('approver2@example.com', 'reject', d)).status).toBe(409);

    // Another member's exception, rejected by one approver after an approval.
    sent = [];
    const bobs = await createException(routes({ policy: p }), BOB, BODY, undefined);
    await requestApproval(d, { exceptionId: bobs.exceptionId, taskToken: 'task-reject' });
    await decide('approver2@example.com', 'approve', d);
    const rejected = await decide('approver1@example.com', 'reject', d);
    expect(rejected.model.exception).toMatchObject({ status: 'REJECTED', reason: 'REJECTED_BY_APPROVER' });
    expect(resumed[1]).toEqual({ token: 'task-reject', output: { outcome: 'REJECTED' } });
  });
});

describe('Use case: grantException', () => {
  it('a retried step records the activation a first attempt saved but did not audit, and so tells the member', async () => {
    // Prepare: the first attempt moved the member and saved ACTIVE, then stopped before its audit record.
    const exceptionId = await approvedException();
    expect(await h.deps.store.saveException(activate(await stored(exceptionId), h.clock.now()))).toBeDefined();
    sent = [];
    // Act
    await grantException(steps(), { exceptionId });
    await grantException(steps(), { exceptionId });
    // Assess
    expect((await auditOf(exceptionId)).filter((e) => e === 'EXCEPTION_ACTIVATED')).toHaveLength(1);
    expect(sent.map((m) => m.to)).toEqual(['alice@example.com']);
  });

  it('moves the member into the allow policy, confirms it, and makes the exception ACTIVE for its days', async () => {
    // Prepare
    const exceptionId = await approvedException();
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    sent = [];
    // Act
    const granted = await grantException(steps(), { exceptionId });
    // Assess
    expect(await policyOf('alice@example.com')).toBe('policy-allow');
    const e = await stored(exceptionId);
    expect(e.status).toBe('ACTIVE');
    expect(granted).toEqual({ exceptionId, endsAt: e.endsAt });
    expect(Date.parse(e.endsAt ?? '') - Date.parse(e.startsAt ?? '')).toBe(7 * DAY);
    expect(e.accountId).toBeDefined();
    expect(await auditOf(exceptionId)).toEqual([
      'APPROVAL_REQUESTED',
      'EXCEPTION_ACTIVATED',
      'EXCEPTION_APPROVED',
      'EXCEPTION_REQUESTED',
    ]);
    expect(sent.map((m) => [m.to, m.subject])).toEqual([
      ['alice@example.com', `Access exception for alice@example.com is active until ${e.endsAt}`],
    ]);
    // Alice can now create a personal token at Atlassian.
    await personalToken('alice@example.com', 'allowed now');
  });

  it('run again answers the same and changes nothing', async () => {
    // Prepare
    const exceptionId = await activeException();
    const before = await stored(exceptionId);
    const mails = sent.length;
    h.clock.advance(60_000);
    // Act
    const again = await grantException(steps(), { exceptionId });
    // Assess
    expect(again).toEqual({ exceptionId, endsAt: before.endsAt });
    expect(await stored(exceptionId)).toEqual(before);
    expect(sent).toHaveLength(mails);
    expect((await auditOf(exceptionId)).filter((e) => e === 'EXCEPTION_ACTIVATED')).toHaveLength(1);
  });

  it('run again after the move but before ACTIVE was saved: moves again and activates once', async () => {
    // Prepare: the first delivery moved alice and died before saving.
    const exceptionId = await approvedException();
    await h.control('/__control/policies/policy-allow/members', { email: 'alice@example.com' });
    // Act
    await grantException(steps(), { exceptionId });
    await grantException(steps(), { exceptionId });
    // Assess
    expect((await stored(exceptionId)).status).toBe('ACTIVE');
    expect(await policyOf('alice@example.com')).toBe('policy-allow');
    expect((await auditOf(exceptionId)).filter((e) => e === 'EXCEPTION_ACTIVATED')).toHaveLength(1);
  });

  it('fails with PolicyMoveFailedError on the task’s failure reason (a member unknown to the org)', async () => {
    // Prepare: an approved exception of someone the fake's directory does not know, account id already resolved.
    const e: StoredException = {
      ...newException({
        exceptionId: `exc_${cryptoRandom.id()}`,
        body: BODY,
        bodyHash: 'h',
        member: 'stranger@example.com',
        policy,
        now: h.clock.now(),
      }),
      status: 'APPROVED',
      accountId: 'acc-stranger',
    };
    await h.deps.store.createException(e);
    await h.deps.store.claimLiveException(e.member, e.exceptionId);
    // Act
    const granted = grantException(steps(), { exceptionId: e.exceptionId });
    // Assess
    await expect(granted).rejects.toBeInstanceOf(PolicyMoveFailedError);
    await expect(granted).rejects.toThrow('(404 User not found)');
    expect((await stored(e.exceptionId)).status).toBe('APPROVED');
    // Moving them back fails the same way (add-users into the block policy: 404 User not found).
    await expect(revertException(steps(), { exceptionId: e.exceptionId, failed: true })).rejects.toBeInstanceOf(
      PolicyMoveFailedError,
    );
    expect((await stored(e.exceptionId)).status).toBe('APPROVED');
  });

  it('fails with PolicyMoveFailedError for a member not in the org directory, and for one not APPROVED', async () => {
    // Prepare
    const e: StoredException = {
      ...newException({
        exceptionId: `exc_${cryptoRandom.id()}`,
        body: BODY,
        bodyHash: 'h',
        member: 'stranger@example.com',
        policy,
        now: h.clock.now(),
      }),
      status: 'APPROVED',
    };
    await h.deps.store.createException(e);
    const pending = await createException(routes(), ALICE, BODY, undefined);
    // Act, Assess
    await expect(grantException(steps(), { exceptionId: e.exceptionId })).rejects.toThrow(
      new PolicyMoveFailedError("stranger@example.com is not in the organization's directory"),
    );
    await expect(grantException(steps(), { exceptionId: pending.exceptionId })).rejects.toBeInstanceOf(
      PolicyMoveFailedError,
    );
    expect(await policyOf('alice@example.com')).toBe('policy-block');
  });

  it('leaves a move still in progress after its poll budget to the retry (PolicyMovePendingError)', async () => {
    // Prepare: a sleep that does not wait spends the poll budget before the fake's task finishes.
    const exceptionId = await approvedException();
    // Act
    const granted = grantException(steps({ sleep: async () => {} }), { exceptionId });
    // Assess
    await expect(granted).rejects.toBeInstanceOf(PolicyMovePendingError);
    expect((await stored(exceptionId)).status).toBe('APPROVED');
    // The retry, once the task is done, completes it.
    await grantException(steps(), { exceptionId });
    expect((await stored(exceptionId)).status).toBe('ACTIVE');
  });

  it('after a failed move in, the move back marks it FAILED, frees the place and tells member and approvers', async () => {
    // Prepare
    const exceptionId = await approvedException();
    await h.control('/__control/faults', { route: 'bulk_fetch', status: 404, count: 10 });
    await expect(grantException(steps(), { exceptionId })).rejects.toThrow();
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    sent = [];
    // Act
    const reverted = await revertException(steps(), { exceptionId, failed: true });
    // Assess
    expect(reverted).toMatchObject({ moved: true, status: 'FAILED' });
    expect(await stored(exceptionId)).toMatchObject({ status: 'FAILED', reason: 'MOVE_FAILED' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    expect(sent.map((m) => m.to).sort()).toEqual(['alice@example.com', 'security@example.com']);
    expect(await auditOf(exceptionId)).toContain('EXCEPTION_FAILED');
    await expect(createException(routes(), ALICE, BODY, undefined)).resolves.toMatchObject({
      status: 'PENDING_APPROVAL',
    });
  });

  it('a move in and the move back after it both failing: failException ends it FAILED and tells the admins', async () => {
    // Prepare: someone the fake's directory does not know; both moves fail with a failure reason.
    const STRANGER: Caller = { email: 'stranger@example.com', isAdmin: false };
    const created = await createException(routes(), STRANGER, BODY, undefined);
    const approved = { ...(await stored(created.exceptionId)), status: 'APPROVED' as const, accountId: 'acc-x' };
    expect(await h.deps.store.saveException(approved)).toBeDefined();
    await expect(grantException(steps(), { exceptionId: created.exceptionId })).rejects.toThrow();
    await expect(revertException(steps(), { exceptionId: created.exceptionId, failed: true })).rejects.toThrow();
    sent = [];
    // Act: delivered twice.
    const failed = await failException(steps(), { exceptionId: created.exceptionId, error: 'PolicyMoveFailedError' });
    await failException(steps(), { exceptionId: created.exceptionId, error: 'PolicyMoveFailedError' });
    // Assess
    expect(failed).toEqual({ exceptionId: created.exceptionId, status: 'FAILED' });
    expect(await stored(created.exceptionId)).toMatchObject({ status: 'FAILED', reason: 'MOVE_FAILED' });
    expect(sent.map((m) => m.to).sort()).toEqual(['admin@example.com', 'stranger@example.com']);
    expect(sent.find((m) => m.to === 'admin@example.com')?.subject).toBe(
      'Action needed: the access exception of stranger@example.com failed; check their authentication policy',
    );
    expect((await auditOf(created.exceptionId)).filter((e) => e === 'EXCEPTION_FAILED')).toHaveLength(1);
    // The place is free again.
    await expect(createException(routes(), STRANGER, BODY, undefined)).resolves.toMatchObject({
      status: 'PENDING_APPROVAL',
    });
  });
});

describe('Use case: revertException', () => {
  it('moves the member back into the block policy, ENDED (DAYS_OVER), and tells member and approvers', async () => {
    // Prepare
    const exceptionId = await activeException();
    h.clock.advance(7 * DAY);
    sent = [];
    // Act
    const reverted = await revertException(steps(), { exceptionId });
    // Assess
    expect(reverted).toEqual({ exceptionId, moved: true, status: 'ENDED' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    expect(await stored(exceptionId)).toMatchObject({ status: 'ENDED', reason: 'DAYS_OVER' });
    expect(await auditOf(exceptionId)).toEqual([
      'APPROVAL_REQUESTED',
      'EXCEPTION_ACTIVATED',
      'EXCEPTION_APPROVED',
      'EXCEPTION_ENDED',
      'EXCEPTION_REQUESTED',
    ]);
    expect(sent.map((m) => m.to).sort()).toEqual(['alice@example.com', 'security@example.com']);
    expect(sent[0]?.subject).toMatch(/ended \(DAYS_OVER\)/);
  });

  it('run again does nothing more', async () => {
    // Prepare
    const exceptionId = await activeException();
    await revertException(steps(), { exceptionId });
    const after = await stored(exceptionId);
    const mails = sent.length;
    // A member moved into the allow policy by hand later is not this exception's to move.
    await h.control('/__control/policies/policy-allow/members', { email: 'alice@example.com' });
    // Act
    const again = await revertException(steps(), { exceptionId });
    // Assess
    expect(again).toEqual({ exceptionId, moved: false, status: 'ENDED' });
    expect(await stored(exceptionId)).toEqual(after);
    expect(sent).toHaveLength(mails);
    expect(await policyOf('alice@example.com')).toBe('policy-allow');
    expect((await auditOf(exceptionId)).filter((e) => e === 'EXCEPTION_ENDED')).toHaveLength(1);
  });

  it('report mode: the member’s EXEMPT records are OPEN again', async () => {
    // Prepare: a scan while alice's exception is active lists her token EXEMPT.
    const exceptionId = await activeException();
    const d = await scan(policy);
    const before = (await listPersonalTokens(d, ALICE, {}, 'mine')).items;
    expect(before.map((t) => t.state)).toEqual(['EXEMPT']);
    // Act
    await revertException(steps(), { exceptionId });
    // Assess
    const after = (await listPersonalTokens(d, ALICE, {}, 'mine')).items;
    expect(after.map((t) => t.state)).toEqual(['OPEN']);
    expect(h.fake.personalTokens().every((t) => t.status === 'ACTIVE')).toBe(true);
  });

  it('revoke mode: every personal token of the member is revoked at once, known to the scan or not', async () => {
    // Prepare
    const p = withSettings({ mode: 'revoke' });
    const exceptionId = await activeException(ALICE, steps({ policy: p }));
    const d = await scan(p);
    const made = await personalToken('alice@example.com', 'made during the exception');
    const seeded = h.fake.personalTokens().filter((t) => t.id !== made);
    expect(seeded).toHaveLength(1);
    // Act
    const reverted = await revertException(steps({ policy: p }), { exceptionId });
    // Assess
    expect(reverted.status).toBe('ENDED');
    const alices = h.fake.personalTokens();
    expect(alices.map((t) => t.status)).toEqual(['REVOKED', 'REVOKED']);
    expect(alices.map((t) => t.id)).toContain(made);
    const known = (await listPersonalTokens(d, ALICE, {}, 'mine')).items;
    expect(known).toEqual([
      expect.objectContaining({ state: 'REVOKED', revokedBy: 'token-warden', revokeReason: 'EXCEPTION_ENDED' }),
    ]);
    expect((await h.deps.audit.list(`personal-token:${made}`)).map((r) => [r.event, r.details?.reason])).toEqual([
      ['PERSONAL_TOKEN_REVOKED', 'EXCEPTION_ENDED'],
    ]);
    expect(sent.find((m) => m.to === 'alice@example.com' && /ended/.test(m.subject))?.subject).toMatch(
      /2 personal token\(s\) of theirs revoked/,
    );
    // Recorded once they were handled, with what handling them did.
    const ended = (await h.deps.audit.list(exceptionId)).find((r) => r.event === 'EXCEPTION_ENDED');
    expect(ended?.details).toMatchObject({ reason: 'DAYS_OVER', tokens: 'REVOKED', revokedTokens: 2 });
  });

  it('revoke mode: an exempt member keeps their tokens', async () => {
    // Prepare
    const p = withSettings({ mode: 'revoke', exemptUsers: ['alice@example.com'] });
    const exceptionId = await activeException(ALICE, steps({ policy: p }));
    // Act
    await revertException(steps({ policy: p }), { exceptionId });
    // Assess
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    expect(h.fake.personalTokens().map((t) => t.status)).toEqual(['ACTIVE']);
  });

  it('an early end: POST …/end starts `<id>-end`, and the move back ends it ENDED_EARLY', async () => {
    // Prepare
    const exceptionId = await activeException();
    started = [];
    // Act
    const answered = await endException(routes(), ALICE, exceptionId);
    const repeated = await endException(routes(), ADMIN, exceptionId);
    // Assess
    expect(answered.status).toBe('ACTIVE');
    expect(repeated).toEqual(answered);
    expect(endExecutionName(exceptionId)).toBe(`${exceptionId}-end`);
    expect(started).toEqual([
      { arn: ARN, name: `${exceptionId}-end`, input: { exceptionId, end: true } },
      { arn: ARN, name: `${exceptionId}-end`, input: { exceptionId, end: true } },
    ]);
    expect(await stored(exceptionId)).toMatchObject({ endRequestedBy: 'alice@example.com' });
    expect((await auditOf(exceptionId)).filter((e) => e === 'EXCEPTION_END_REQUESTED')).toHaveLength(1);

    await revertException(steps(), { exceptionId });
    expect(await stored(exceptionId)).toMatchObject({ status: 'ENDED', reason: 'ENDED_EARLY' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    const ended = (await h.deps.audit.list(exceptionId)).find((r) => r.event === 'EXCEPTION_ENDED');
    expect(ended).toMatchObject({ actor: 'alice@example.com', details: { reason: 'ENDED_EARLY' } });
    // The main execution's move back at endsAt finds it ended and does nothing.
    h.clock.advance(7 * DAY);
    await expect(revertException(steps(), { exceptionId })).resolves.toEqual({
      exceptionId,
      moved: false,
      status: 'ENDED',
    });
    await expect(endException(routes(), ALICE, exceptionId)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('an early end is refused while not active (409) and to another member (404)', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    // Act, Assess
    await expect(endException(routes(), ALICE, created.exceptionId)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(endException(routes(), BOB, created.exceptionId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(started.map((s) => s.name)).toEqual([created.exceptionId]);
  });

  it('a repeated move back finishes what a stopped one left, and never acts on tokens twice', async () => {
    // Prepare: revoke mode; the step moved alice back and saved ENDED, then stopped before her tokens.
    const p = withSettings({ mode: 'revoke' });
    const exceptionId = await activeException(ALICE, steps({ policy: p }));
    const made = await personalToken('alice@example.com', 'made during the exception');
    await fetch(`${h.fakeUrl}/__control/policies/policy-block/members`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com' }),
    });
    const current = await stored(exceptionId);
    await h.deps.store.saveException({
      ...current,
      status: 'ENDED',
      endedAt: isoSeconds(h.clock.now()),
      reason: 'DAYS_OVER',
    });
    // Act: the step again.
    const again = await revertException(steps({ policy: p }), { exceptionId });
    // Assess: her token is revoked now, once, and the end told with it.
    expect(again).toMatchObject({ moved: false, status: 'ENDED' });
    expect(h.fake.personalTokens().find((t) => t.id === made)?.status).toBe('REVOKED');
    expect(await stored(exceptionId)).toMatchObject({
      tokensHandledAt: expect.any(String),
      tokensHandled: { outcome: 'REVOKED', revoked: 2 },
    });
    const endMails = () => sent.filter((m) => /ended \(DAYS_OVER\)/.test(m.subject));
    expect(
      endMails()
        .map((m) => [m.to, m.subject])
        .sort(),
    ).toEqual([
      [
        'alice@example.com',
        'Access exception for alice@example.com ended (DAYS_OVER); 2 personal token(s) of theirs revoked',
      ],
      [
        'security@example.com',
        'Access exception for alice@example.com ended (DAYS_OVER); 2 personal token(s) of theirs revoked',
      ],
    ]);
    // A later wake-up (the main execution after an early end) leaves a token made since alone.
    const older = await fetch(`${h.fakeUrl}/__control/personal-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com', label: 'predates the block', createdDaysAgo: 30 }),
    });
    const olderId = ((await older.json()) as { id: string }).id;
    await revertException(steps({ policy: p }), { exceptionId });
    expect(h.fake.personalTokens().find((t) => t.id === olderId)?.status).toBe('ACTIVE');
    // It records the same end again, and nobody is told twice.
    const ended = (await h.deps.audit.list(exceptionId)).filter((r) => r.event === 'EXCEPTION_ENDED');
    expect(ended.map((r) => r.details)).toEqual([expect.objectContaining({ tokens: 'REVOKED', revokedTokens: 2 })]);
    expect(endMails()).toHaveLength(2);
  });

  it('moves the member back even after the policy turned exceptions off', async () => {
    // Prepare
    const exceptionId = await activeException();
    expect(await policyOf('alice@example.com')).toBe('policy-allow');
    const { exceptions: _off, ...withoutExceptions } = policy.personalTokens as PersonalTokenPolicy;
    const changed: Policy = { ...policy, personalTokens: withoutExceptions };
    // Act
    const reverted = await revertException(steps({ policy: changed }), { exceptionId });
    // Assess
    expect(reverted).toMatchObject({ moved: true, status: 'ENDED' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
  });

  it('does not move a member whose live exception is another one', async () => {
    // Prepare: alice's live exception is active; a stale one of hers (never her live one) is reverted.
    const live = await activeException();
    const stale: StoredException = {
      ...newException({
        exceptionId: `exc_${cryptoRandom.id()}`,
        body: BODY,
        bodyHash: 'h',
        member: 'alice@example.com',
        policy,
        now: h.clock.now(),
      }),
      status: 'ACTIVE',
    };
    await h.deps.store.createException(stale);
    const made = await personalToken('alice@example.com', 'made during the live exception');
    // Act: in revoke mode, where handling her tokens would revoke them.
    const reverted = await revertException(steps({ policy: withSettings({ mode: 'revoke' }) }), {
      exceptionId: stale.exceptionId,
    });
    // Assess: nothing happens to her membership or her tokens; they are the live exception's.
    expect(reverted.moved).toBe(false);
    expect(await policyOf('alice@example.com')).toBe('policy-allow');
    expect((await stored(live)).status).toBe('ACTIVE');
    expect(h.fake.personalTokens().map((t) => [t.id === made, t.status])).toEqual(
      expect.arrayContaining([[true, 'ACTIVE']]),
    );
    expect(h.fake.personalTokens().every((t) => t.status === 'ACTIVE')).toBe(true);
    // Her place is still the live one's.
    await expect(createException(routes(), ALICE, BODY, undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
    await revertException(steps(), { exceptionId: live });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
  });

  it('a move back that fails twice then succeeds: the admins are told each time, the member never left', async () => {
    // Prepare: add-users refused (429, before anything is processed) for the first two deliveries of the step.
    const exceptionId = await activeException();
    h.clock.advance(7 * DAY);
    sent = [];
    await h.control('/__control/faults', { route: 'add_users', status: 429, count: 1000, retryAfterSeconds: 0 });
    // Act: the workflow's loop — move back, on failure tell the admins (with the input the workflow sends), wait,
    // move back again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await revertException(steps(), { exceptionId }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).toBe('AtlassianTransientError');
      await recordMoveBackFailure(steps(), { exceptionId, error: error?.name ?? '' });
      // Still ACTIVE and still in the allow policy, but no longer exempt: its days are over.
      expect((await stored(exceptionId)).status).toBe('ACTIVE');
      expect(await policyOf('alice@example.com')).toBe('policy-allow');
      expect(await exceptionHolders(h.deps.store, h.clock).activeHolders()).toEqual(new Set());
    }
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    const reverted = await revertException(steps(), { exceptionId });
    // Assess
    expect(reverted).toMatchObject({ moved: true, status: 'ENDED' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    expect(await stored(exceptionId)).toMatchObject({ status: 'ENDED', reason: 'DAYS_OVER' });
    const toAdmins = sent.filter((m) => m.to === 'admin@example.com');
    expect(toAdmins.map((m) => m.subject)).toEqual([
      'Action needed: alice@example.com could not be moved back into the block policy',
      'Action needed: alice@example.com could not be moved back into the block policy',
    ]);
    expect(toAdmins.map((m) => m.text.match(/\d+ time\(s\); \w+/)?.[0])).toEqual([
      '1 time(s); AtlassianTransientError',
      '2 time(s); AtlassianTransientError',
    ]);
    const failed = (await h.deps.audit.list(exceptionId)).filter((r) => r.event === 'EXCEPTION_FAILED');
    expect(failed.map((r) => [r.details?.reason, r.details?.failures])).toEqual([
      ['MOVE_BACK_FAILED', 1],
      ['MOVE_BACK_FAILED', 2],
    ]);
  });
});

describe('Use case: closeException', () => {
  it('closes an exception approved whose workflow then expired before moving anyone, and tells it', async () => {
    // Prepare: approved, but the workflow's resume was lost; it timed out into `Expire the exception`.
    const created = await createException(routes(), ALICE, BODY, undefined);
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-lost' });
    await h.deps.store.saveException({ ...(await stored(created.exceptionId)), status: 'APPROVED' });
    sent = [];
    // Act
    const closed = await closeException(steps(), { exceptionId: created.exceptionId, outcome: 'EXPIRED' });
    // Assess
    expect(closed).toEqual({ exceptionId: created.exceptionId, status: 'EXPIRED' });
    expect(await policyOf('alice@example.com')).toBe('policy-block');
    expect(sent.map((m) => m.subject)).toContain(
      'Access exception for alice@example.com expired before enough approvals arrived',
    );
  });

  it.each([
    ['REJECTED', 'REJECTED', 'REJECTED_BY_APPROVER', 'was rejected'],
    ['CANCELLED', 'REJECTED', 'CANCELLED', 'was cancelled'],
    ['EXPIRED', 'EXPIRED', 'APPROVAL_EXPIRED', 'expired before enough approvals arrived'],
    ['FAILED', 'FAILED', 'APPROVAL_FAILED', 'failed before a decision could be recorded (nobody was moved)'],
  ] as const)(
    '%s: moves nobody, frees the member’s place, closes the links, tells once',
    async (outcome, status, reason, what) => {
      // Prepare
      const created = await createException(routes(), ALICE, BODY, undefined);
      await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-close' });
      if (outcome === 'REJECTED') await decide('security@example.com', 'reject');
      if (outcome === 'CANCELLED') await cancelException(routes(), ALICE, created.exceptionId);
      if (outcome === 'EXPIRED') h.clock.advance(policy.approvalExpiryHours * 3_600_000);
      const outcomes = () => sent.filter((m) => m.subject.startsWith('Access exception for'));
      // A reject or a cancel is told when the workflow closes the exception, whatever became of the route's record.
      const toldBefore = outcomes().length;
      // Act: delivered twice.
      const closed = await closeException(steps(), { exceptionId: created.exceptionId, outcome });
      await closeException(steps(), { exceptionId: created.exceptionId, outcome });
      // Assess
      expect(closed).toEqual({ exceptionId: created.exceptionId, status });
      expect(await stored(created.exceptionId)).toMatchObject({ status, reason });
      expect(await policyOf('alice@example.com')).toBe('policy-block');
      expect(toldBefore).toBe(0);
      const told = outcomes();
      expect(told.map((m) => m.to).sort()).toEqual(['alice@example.com', 'security@example.com']);
      expect(told.map((m) => m.subject)).toEqual([
        `Access exception for alice@example.com ${what}`,
        `Access exception for alice@example.com ${what}`,
      ]);
      expect(
        (await h.deps.store.getApproval(approvalIdFor(created.exceptionId, 'security@example.com')))?.status,
      ).not.toBe('OPEN');
      if (outcome === 'EXPIRED') {
        expect((await auditOf(created.exceptionId)).filter((e) => e === 'EXCEPTION_EXPIRED')).toHaveLength(1);
      }
      await expect(createException(routes(), ALICE, BODY, undefined)).resolves.toMatchObject({
        status: 'PENDING_APPROVAL',
      });
    },
  );

  it('an expired link decides nothing', async () => {
    // Prepare
    const created = await createException(routes(), ALICE, BODY, undefined);
    await requestApproval(approvals(), { exceptionId: created.exceptionId, taskToken: 'task-expiry' });
    const url = links().get('security@example.com') as URL;
    h.clock.advance(policy.approvalExpiryHours * 3_600_000);
    // Act
    const shown = await showApproval(approvals(), approvalIdOf(url), url.searchParams.get('sig') ?? '');
    // Assess
    expect(shown.status).toBe(410);
    expect((await stored(created.exceptionId)).status).toBe('PENDING_APPROVAL');
  });
});

describe('Use case: the scan and access exceptions', () => {
  it('lists an exception holder’s token EXEMPT, and flags UNAPPROVED_ACCESS for a member moved in by hand', async () => {
    // Prepare
    const exceptionId = await activeException();
    await h.control('/__control/policies/policy-allow/members', { email: 'bob@example.com' });
    const bobs = await personalToken('bob@example.com', 'moved in by hand');
    // Act
    const d = await scan(policy);
    // Assess
    const all = (await listPersonalTokens(d, ADMIN, {}, 'all')).items;
    const alices = all.filter((t) => t.owner.email === 'alice@example.com');
    const bob = all.find((t) => t.atlassianTokenId === bobs);
    expect(alices).toEqual([expect.objectContaining({ state: 'EXEMPT', atlassianStatus: 'ALLOWED' })]);
    expect(alices[0]?.flags).not.toContain('UNAPPROVED_ACCESS');
    expect(bob).toMatchObject({ state: 'OPEN', atlassianStatus: 'ALLOWED' });
    expect(bob?.flags).toContain('UNAPPROVED_ACCESS');
    // Once it ended, alice's token is governed again and blocked.
    await revertException(steps(), { exceptionId });
    await scan(policy);
    const after = (await listPersonalTokens(d, ALICE, {}, 'mine')).items;
    expect(after).toEqual([expect.objectContaining({ state: 'OPEN', atlassianStatus: 'BLOCKED' })]);
  });
});

describe('Access exceptions never leak', () => {
  it('keeps the sealed task token and account id out of every answer', async () => {
    // Prepare
    const exceptionId = await activeException();
    // Act
    const answers = [
      await getException(routes(), ALICE, exceptionId),
      await listExceptions(routes(), ADMIN, {}),
      await endException(routes(), ALICE, exceptionId),
    ];
    // Assess
    const e = await stored(exceptionId);
    expect(e.taskTokenSealed).toBeDefined();
    const text = JSON.stringify(answers);
    expect(text).not.toContain(e.taskTokenSealed);
    expect(text).not.toContain(e.accountId);
    expect(text).not.toContain(`task-${exceptionId}`);
    expect(text).not.toContain('bodyHash');
  });
});
