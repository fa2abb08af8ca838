/** The approval use cases against the current policy: a decision is checked against the policy of now. */
import type { AuditLog } from '../../../functions/adapters/aws/audit-log';
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { cryptoRandom } from '../../../functions/composition/random';
import type { Policy } from '../../../functions/domain/policy';
import type { StoredRequest } from '../../../functions/domain/records';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../../../functions/domain/requests';
import {
  type ApprovalDeps,
  decideApproval,
  requestApproval,
  showApproval,
} from '../../../functions/use-cases/approvals';
import type { Mailer } from '../../../functions/use-cases/ports';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { policy } from '../../support/harness';
import { notifyingAudit } from '../../support/inline-notifier';

let dynamo: LocalDynamo;
let store: RecordStore;
let audit: AuditLog;
const emails: { to: string; text: string }[] = [];
const resumed: object[] = [];

const mailer = {
  send: async (email: { to: string; text: string }) => {
    emails.push(email);
    return 'm';
  },
} as unknown as Mailer;
const workflows = {
  start: async () => '',
  succeed: async (_token: string, output: object) => {
    resumed.push(output);
    return true;
  },
  stop: async () => {},
} as unknown as Workflows;

/** Deps under `current`, the policy the functions were deployed with now. */
function deps(current: Policy = policy): ApprovalDeps {
  return {
    store,
    audit,
    workflows,
    clock: { now: () => new Date() },
    random: cryptoRandom,
    policy: current,
    linkAndSealKey: async () => ({ current: Buffer.alloc(32, 7) }),
    approvalBaseUrl: 'https://api.example.com',
    log: { warn: () => {} },
  };
}

/** The policy after an admin removed `approver` from jenkins-bot's approvers. */
function without(approver: string): Policy {
  const [account, ...rest] = policy.serviceAccounts;
  return {
    ...policy,
    serviceAccounts: [{ ...account!, approvers: account!.approvers.filter((a) => a !== approver) }, ...rest],
  };
}

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
  // The approvers' emails come from the notifier's planners, run inline on every appended record.
  audit = notifyingAudit(dynamo.doc, dynamo.auditTableName, () => ({
    store,
    mailer,
    clock: { now: () => new Date() },
    policy,
  }));
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(() => {
  emails.length = 0;
  resumed.length = 0;
});

/** A pending request whose approval links went out under the policy of the time; answers each approver's link. */
async function pending(name: string) {
  const body = parseCreateRequestBody({
    serviceAccount: 'jenkins-bot',
    name,
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'tests',
  });
  const request: StoredRequest = {
    ...newRequest({
      requestId: `req_${cryptoRandom.id()}`,
      body,
      check: checkRequestAgainstPolicy(body, policy, 'alice@example.com'),
      requester: 'alice@example.com',
      now: new Date(),
    }),
    version: 1,
  };
  await store.createRequest(request);
  await requestApproval(deps(), { requestId: request.requestId, taskToken: `task-${name}` });
  const links = new Map<string, URL>();
  for (const email of emails) {
    const line = email.text.split('\n').find((l) => l.startsWith('https://'));
    links.set(email.to, new URL(line ?? 'https://missing'));
  }
  return { requestId: request.requestId, links };
}

const approvalIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';
const csrfOf = (answer: Awaited<ReturnType<typeof showApproval>>) =>
  'form' in answer.model && answer.model.form ? answer.model.form.csrf : '';

describe('an approver removed from the policy after the links went out', () => {
  it('cannot decide: the decision answers 403 and records nothing', async () => {
    const { requestId, links } = await pending('removed-approver');
    const url = links.get('approver1@example.com')!;
    const sig = url.searchParams.get('sig') ?? '';
    // The page was opened while approver1 was still an approver: the form and its csrf value are genuine.
    const csrf = csrfOf(await showApproval(deps(), approvalIdOf(url), sig));
    expect(csrf).not.toBe('');

    const current = without('approver1@example.com');
    const answer = await decideApproval(
      deps(current),
      approvalIdOf(url),
      new URLSearchParams({ decision: 'approve', sig, csrf }),
    );
    expect(answer.status).toBe(403);
    expect(answer.model.form).toBeUndefined();
    const after = await store.getRequest(requestId);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', approvals: [] });
    expect((await store.getApproval(approvalIdOf(url)))?.status).toBe('OPEN');
    expect(resumed).toEqual([]);
    expect((await audit.list(requestId)).map((r) => r.event)).not.toContain('APPROVED');

    // The page shows no form to the removed approver either; the approver still in the policy decides as before.
    expect((await showApproval(deps(current), approvalIdOf(url), sig)).status).toBe(403);
    const other = links.get('approver2@example.com')!;
    const otherSig = other.searchParams.get('sig') ?? '';
    const otherCsrf = csrfOf(await showApproval(deps(current), approvalIdOf(other), otherSig));
    const decided = await decideApproval(
      deps(current),
      approvalIdOf(other),
      new URLSearchParams({ decision: 'approve', sig: otherSig, csrf: otherCsrf }),
    );
    expect(decided.status).toBe(200);
    expect((await store.getRequest(requestId))?.status).toBe('APPROVED');
  });

  it('cannot decide once the service account itself left the policy', async () => {
    const { requestId, links } = await pending('removed-account');
    const url = links.get('approver2@example.com')!;
    const sig = url.searchParams.get('sig') ?? '';
    const csrf = csrfOf(await showApproval(deps(), approvalIdOf(url), sig));
    const other = {
      ...policy.serviceAccounts[0]!,
      alias: 'other-bot',
    };
    const answer = await decideApproval(
      deps({ ...policy, serviceAccounts: [other] }),
      approvalIdOf(url),
      new URLSearchParams({ decision: 'reject', sig, csrf }),
    );
    expect(answer.status).toBe(403);
    expect((await store.getRequest(requestId))?.status).toBe('PENDING_APPROVAL');
  });
});

describe('Use case: requestApproval', () => {
  it('records APPROVAL_REQUESTED once per approver, however often the step runs, with no link in it', async () => {
    // Prepare
    const { requestId, links } = await pending('approval-events');

    // Act: the step runs again (a retry, or a duplicate delivery)
    await requestApproval(deps(), { requestId, taskToken: 'task-approval-events' });

    // Assess
    const records = (await audit.list(requestId)).filter((r) => r.event === 'APPROVAL_REQUESTED');
    const approvers = policy.serviceAccounts[0]!.approvers;
    expect(records.map((r) => r.details?.approver).sort()).toEqual([...approvers].sort());
    for (const record of records) {
      const link = links.get(String(record.details?.approver));
      expect(record).toMatchObject({
        correlationId: requestId,
        requestId,
        actor: 'token-warden',
        details: { approvalId: approvalIdOf(link!), subject: 'request', expiresAt: expect.any(String) },
      });
      expect(JSON.stringify(record)).not.toContain(link!.searchParams.get('sig')!);
    }
    expect(emails).toHaveLength(approvers.length);
  });
});
