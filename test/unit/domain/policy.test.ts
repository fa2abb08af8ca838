import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  allAllowedConsumers,
  DEFAULT_CHAT_EVENTS,
  DEFAULT_REMINDERS,
  formatPath,
  PolicyError,
} from '../../../functions/domain/policy';
import { parsePolicy } from '../../../functions/domain/policy-text';

const defaultText = readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8');

function errorsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.lines;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

/** The default policy as an object, to change one field at a time. */
const base = () => JSON.parse(JSON.stringify(parsePolicy(defaultText, 'policy.yaml')));

describe('parsePolicy', () => {
  it('accepts the shipped policy and fills defaults', () => {
    const policy = parsePolicy(defaultText, 'policy/policy.yaml');
    expect(policy.serviceAccounts[0]?.alias).toBe('jenkins-bot');
    expect(policy.adminGroup).toBe('token-warden-admins');
    expect(policy.groupsClaim).toBe('groups');
    expect(policy.serviceAccounts[0]?.issuance).toBe('api');
  });

  it('lower-cases emails', () => {
    const p = base();
    p.serviceAccounts[0].approvers = ['Approver1@Example.com', 'approver2@example.com'];
    expect(parsePolicy(JSON.stringify(p), 'p.json').serviceAccounts[0]?.approvers[0]).toBe('approver1@example.com');
  });

  it('refuses emails that are not plain ASCII (a caller with such an email is refused, so it could never match)', () => {
    const p = base();
    p.serviceAccounts[0].approvers = ['\u212Aate@example.com', 'approver2@example.com'];
    p.notifications.adminEmails = ['\uff41dmin@example.com'];
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: serviceAccounts[0].approvers[0]: must be an email address',
      'p.yaml: notifications.adminEmails[0]: must be an email address',
    ]);
  });

  it('reports every problem as <file>: <field path>: <message>', () => {
    const p = base();
    p.serviceAccounts[0].approvalsRequired = 3;
    p.serviceAccounts[0].allowedScopes = [];
    p.gracePeriodHours = 24 * 7;
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: serviceAccounts[0].allowedScopes: Too small: expected array to have >=1 items',
      'p.yaml: gracePeriodHours: must be less than rotationLeadDays × 24 (168)',
      'p.yaml: serviceAccounts[0].approvalsRequired: must not exceed the number of approvers (2)',
    ]);
  });

  it('refuses rotationLeadDays not below maxLifetimeDays', () => {
    const p = base();
    p.serviceAccounts[0].maxLifetimeDays = 7;
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: serviceAccounts[0].maxLifetimeDays: must be greater than rotationLeadDays (7)',
    ]);
  });

  it('refuses duplicate scopes, lifetimes over 365 days, unknown keys and default consumers outside the allowed', () => {
    const p = base();
    p.serviceAccounts[0].allowedScopes = ['read:jira-work', 'read:jira-work'];
    p.serviceAccounts[0].maxLifetimeDays = 366;
    p.serviceAccounts[0].defaultConsumers = ['arn:aws:iam::000000000000:role/other'];
    p.extra = true;
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: serviceAccounts[0].allowedScopes: must not contain duplicates',
      'p.yaml: serviceAccounts[0].maxLifetimeDays: Too big: expected number to be <=365',
      'p.yaml: (root): Unrecognized key: "extra"',
      'p.yaml: serviceAccounts[0].defaultConsumers[0]: must be one of allowedConsumers',
    ]);
  });

  it('limits pending requests per member: 5 unless the policy says otherwise, a whole number from 1 to 1000', () => {
    const p = base();
    delete p.maxPendingRequestsPerMember;
    expect(parsePolicy(JSON.stringify(p), 'p.json').maxPendingRequestsPerMember).toBe(5);
    expect(
      parsePolicy(JSON.stringify({ ...p, maxPendingRequestsPerMember: 20 }), 'p.json').maxPendingRequestsPerMember,
    ).toBe(20);
    expect(errorsOf(JSON.stringify({ ...p, maxPendingRequestsPerMember: 0 }))).toEqual([
      'p.yaml: maxPendingRequestsPerMember: Too small: expected number to be >=1',
    ]);
    expect(errorsOf(JSON.stringify({ ...p, maxPendingRequestsPerMember: 2.5 }))).toEqual([
      'p.yaml: maxPendingRequestsPerMember: Invalid input: expected int, received number',
    ]);
    expect(errorsOf(JSON.stringify({ ...p, maxPendingRequestsPerMember: 1001 }))).toEqual([
      'p.yaml: maxPendingRequestsPerMember: Too big: expected number to be <=1000',
    ]);
  });

  it('refuses more than 50 allowed scopes', () => {
    const p = base();
    p.serviceAccounts[0].allowedScopes = Array.from({ length: 51 }, (_, i) => `scope:${i}`);
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: serviceAccounts[0].allowedScopes: Too big: expected array to have <=50 items',
    ]);
  });

  it('reports unparseable text without a stack', () => {
    expect(errorsOf('serviceAccounts: [')[0]).toMatch(/^p\.yaml: \(root\): not valid YAML or JSON: /);
  });

  it('refuses YAML aliases (no billion laughs)', () => {
    expect(errorsOf('a: &x [1]\nb: *x\n')[0]).toMatch(/^p\.yaml: \(root\): not valid YAML or JSON: /);
  });

  it('collects the union of allowed consumers', () => {
    expect(allAllowedConsumers(parsePolicy(defaultText, 'p'))).toEqual(['arn:aws:iam::000000000000:role/jenkins']);
  });

  it('formats paths', () => {
    expect(formatPath(['serviceAccounts', 0, 'approvers', 1])).toBe('serviceAccounts[0].approvers[1]');
    expect(formatPath([])).toBe('(root)');
  });
});

describe('parsePolicy: organization and personalTokens', () => {
  it('accepts the shipped sections and fills the defaults', () => {
    // Prepare
    const p = base();
    p.personalTokens = { mode: 'notify' };
    // Act
    const policy = parsePolicy(JSON.stringify(p), 'p.json');
    // Assess
    expect(policy.organization).toEqual({
      orgId: 'demo-org',
      authPolicies: { blockPolicyId: 'policy-block', allowPolicyId: 'policy-allow' },
    });
    expect(policy.personalTokens).toEqual({
      mode: 'notify',
      revokeAfterDays: 14,
      staleAfterDays: 90,
      exemptUsers: [],
      maxRevocationsPerScan: 50,
    });
  });

  it('leaves the feature off without the sections', () => {
    const p = base();
    delete p.organization;
    delete p.personalTokens;
    const policy = parsePolicy(JSON.stringify(p), 'p.json');
    expect(policy.organization).toBeUndefined();
    expect(policy.personalTokens).toBeUndefined();
  });

  it('names each bad field in one line', () => {
    // Prepare
    const p = base();
    p.personalTokens = {
      mode: 'delete',
      revokeAfterDays: 91,
      exemptUsers: ['Break.Glass@Example.com', 'not-an-email'],
      maxRevocationsPerScan: 0,
      extra: true,
    };
    // Act / Assess
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: personalTokens.mode: Invalid option: expected one of "report"|"notify"|"revoke"',
      'p.yaml: personalTokens.revokeAfterDays: Too big: expected number to be <=90',
      'p.yaml: personalTokens.exemptUsers[1]: must be an email address',
      'p.yaml: personalTokens.maxRevocationsPerScan: Too small: expected number to be >=1',
      'p.yaml: personalTokens: Unrecognized key: "extra"',
    ]);
  });

  it('refuses exceptions without the authentication policies, naming organization.authPolicies', () => {
    const p = base();
    delete p.organization.authPolicies;
    p.personalTokens = { mode: 'report', exceptions: { approvers: ['security@example.com'] } };
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: organization.authPolicies: is required with personalTokens.exceptions (the block and allow authentication policies)',
    ]);
  });

  it('refuses personalTokens without organization, the same id for both policies, and too few approvers', () => {
    const p = base();
    delete p.organization;
    p.personalTokens = { mode: 'report' };
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: organization: is required with personalTokens (the org whose members are scanned)',
    ]);
    const q = base();
    q.organization.authPolicies.allowPolicyId = 'policy-block';
    q.personalTokens.exceptions = { approvers: ['security@example.com'], approvalsRequired: 2 };
    expect(errorsOf(JSON.stringify(q))).toEqual([
      'p.yaml: personalTokens.exceptions.approvalsRequired: must not exceed the number of approvers (1)',
      'p.yaml: organization.authPolicies.allowPolicyId: must differ from blockPolicyId',
    ]);
  });
});

describe('parsePolicy: notifications.chat', () => {
  /** The shipped policy without the sections under test (base() carries the defaults it filled in). */
  const bare = () => {
    const p = base();
    delete p.notifications.chat;
    return p;
  };

  it('fills the defaults: no chat channel, adminEmails unchanged', () => {
    // Prepare
    const p = bare();
    // Act
    const policy = parsePolicy(JSON.stringify(p), 'p.json');
    // Assess
    expect(policy.notifications).toEqual({
      adminEmails: ['admin@example.com'],
      reminders: { pendingApprovalHours: [24], expiryDays: [14, 3] },
    });
  });

  it('accepts channels, giving a channel without events the admin-relevant set', () => {
    // Prepare
    const p = bare();
    p.notifications.chat = [
      { kind: 'slack', webhookSecretName: 'token-warden/chat/slack-security' },
      {
        kind: 'teams',
        webhookSecretName: 'token-warden/chat/teams-ci',
        events: ['REQUESTED', 'ROTATION_FAILED'],
        serviceAccounts: ['jenkins-bot'],
      },
    ];
    // Act
    const policy = parsePolicy(JSON.stringify(p), 'p.json');
    // Assess
    expect(policy.notifications.chat).toEqual([
      { kind: 'slack', webhookSecretName: 'token-warden/chat/slack-security', events: [...DEFAULT_CHAT_EVENTS] },
      {
        kind: 'teams',
        webhookSecretName: 'token-warden/chat/teams-ci',
        events: ['REQUESTED', 'ROTATION_FAILED'],
        serviceAccounts: ['jenkins-bot'],
      },
    ]);
    expect(DEFAULT_CHAT_EVENTS).toContain('ROTATION_FAILED');
    expect(DEFAULT_CHAT_EVENTS).not.toContain('APPROVED');
  });

  it('names the bad kind, secret name, event and duplicate accounts of a channel', () => {
    // Prepare
    const p = bare();
    p.notifications.chat = [
      { kind: 'discord', webhookSecretName: 'chat url', events: ['APPROVAL_GRANTED'] },
      { kind: 'slack', webhookSecretName: 'token-warden/chat/s', serviceAccounts: ['jenkins-bot', 'jenkins-bot'] },
      {
        kind: 'slack',
        webhookSecretName: 'token-warden/chat/s',
        events: ['ISSUED', 'ISSUED'],
        serviceAccounts: ['jenkins.bot'],
      },
      { kind: 'teams', webhookSecretName: 'x'.repeat(513), events: [], extra: true },
    ];
    // Act / Assess
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: notifications.chat[0].kind: Invalid option: expected one of "slack"|"teams"',
      'p.yaml: notifications.chat[0].webhookSecretName: must be a secret name under token-warden/chat/ (then 1–494 characters [A-Za-z0-9/_+=.@-])',
      'p.yaml: notifications.chat[0].events[0]: must be a lifecycle event name (docs/events.md)',
      'p.yaml: notifications.chat[1].serviceAccounts: must not contain duplicates',
      'p.yaml: notifications.chat[2].events: must not contain duplicates',
      'p.yaml: notifications.chat[2].serviceAccounts[0]: must match [a-zA-Z0-9_-]{1,64}',
      'p.yaml: notifications.chat[3].webhookSecretName: must be a secret name under token-warden/chat/ (then 1–494 characters [A-Za-z0-9/_+=.@-])',
      'p.yaml: notifications.chat[3].events: Too small: expected array to have >=1 items',
      'p.yaml: notifications.chat[3]: Unrecognized key: "extra"',
    ]);
  });

  it('refuses more than ten channels', () => {
    // Prepare
    const p = bare();
    p.notifications.chat = Array.from({ length: 11 }, (_, i) => ({
      kind: 'slack',
      webhookSecretName: `token-warden/chat/c${i}`,
    }));
    // Act / Assess
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: notifications.chat: Too big: expected array to have <=10 items',
    ]);
  });

  it('refuses a channel filtered on a service account the policy does not have', () => {
    // Prepare
    const p = bare();
    p.notifications.chat = [
      { kind: 'slack', webhookSecretName: 'token-warden/chat/s', serviceAccounts: ['jenkins-bot', 'ghost'] },
    ];
    // Act / Assess
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: notifications.chat[0].serviceAccounts[1]: must be the alias of one of serviceAccounts',
    ]);
  });

  it('refuses a webhook secret outside token-warden/chat/, such as a token secret or the link-signing key', () => {
    // Prepare
    const p = bare();
    p.notifications.chat = [
      { kind: 'slack', webhookSecretName: 'token-warden.jenkins-bot.ci' },
      { kind: 'slack', webhookSecretName: 'token-warden/link-signing-key' },
    ];
    // Act / Assess
    expect(errorsOf(JSON.stringify(p))).toEqual([
      'p.yaml: notifications.chat[0].webhookSecretName: must be a secret name under token-warden/chat/ (then 1–494 characters [A-Za-z0-9/_+=.@-])',
      'p.yaml: notifications.chat[1].webhookSecretName: must be a secret name under token-warden/chat/ (then 1–494 characters [A-Za-z0-9/_+=.@-])',
    ]);
  });
});

describe('parsePolicy: notifications.reminders', () => {
  /** The shipped policy with `reminders` as given (or left out). */
  const withReminders = (reminders?: unknown) => {
    const p = base();
    if (reminders === undefined) delete p.notifications.reminders;
    else p.notifications.reminders = reminders;
    return JSON.stringify(p);
  };

  it('fills the defaults when the policy names no reminders: 24 hours, 14 and 3 days', () => {
    // Prepare
    const text = withReminders();
    // Act
    const policy = parsePolicy(text, 'p.json');
    // Assess
    expect(policy.notifications.reminders).toEqual({ pendingApprovalHours: [24], expiryDays: [14, 3] });
    expect(DEFAULT_REMINDERS).toEqual({ pendingApprovalHours: [24], expiryDays: [14, 3] });
  });

  it('fills a missing list with its default and keeps an empty one empty (that reminder off)', () => {
    // Prepare
    const offApprovals = withReminders({ pendingApprovalHours: [] });
    const offExpiry = withReminders({ expiryDays: [] });
    // Act
    const a = parsePolicy(offApprovals, 'p.json').notifications.reminders;
    const b = parsePolicy(offExpiry, 'p.json').notifications.reminders;
    // Assess
    expect(a).toEqual({ pendingApprovalHours: [], expiryDays: [14, 3] });
    expect(b).toEqual({ pendingApprovalHours: [24], expiryDays: [] });
  });

  it('keeps the marks in the order they come due: hours ascending, days descending', () => {
    // Prepare
    const text = withReminders({ pendingApprovalHours: [48, 4, 24], expiryDays: [1, 14, 7, 3] });
    // Act
    const reminders = parsePolicy(text, 'p.json').notifications.reminders;
    // Assess
    expect(reminders).toEqual({ pendingApprovalHours: [4, 24, 48], expiryDays: [14, 7, 3, 1] });
  });

  it('refuses marks that are not whole numbers from 1 to the maximum, and unknown keys', () => {
    // Prepare
    const text = withReminders({ pendingApprovalHours: [0, 1.5, 721], expiryDays: [366, -1, '3'], weekly: true });
    // Act
    const errors = errorsOf(text);
    // Assess
    expect(errors).toEqual([
      'p.yaml: notifications.reminders.pendingApprovalHours[0]: Too small: expected number to be >=1',
      'p.yaml: notifications.reminders.pendingApprovalHours[1]: Invalid input: expected int, received number',
      'p.yaml: notifications.reminders.pendingApprovalHours[2]: Too big: expected number to be <=720',
      'p.yaml: notifications.reminders.expiryDays[0]: Too big: expected number to be <=365',
      'p.yaml: notifications.reminders.expiryDays[1]: Too small: expected number to be >=1',
      'p.yaml: notifications.reminders.expiryDays[2]: Invalid input: expected number, received string',
      'p.yaml: notifications.reminders: Unrecognized key: "weekly"',
    ]);
  });

  it('refuses a mark given twice and more than 10 marks', () => {
    // Prepare
    const text = withReminders({
      pendingApprovalHours: Array.from({ length: 11 }, (_, i) => i + 1),
      expiryDays: [7, 3, 7],
    });
    // Act
    const errors = errorsOf(text);
    // Assess
    expect(errors).toEqual([
      'p.yaml: notifications.reminders.pendingApprovalHours: Too big: expected array to have <=10 items',
      'p.yaml: notifications.reminders.expiryDays: must not contain duplicates',
    ]);
  });

  it('refuses reminders that are not an object of lists', () => {
    // Prepare
    const text = withReminders({ pendingApprovalHours: 24, expiryDays: null });
    // Act
    const errors = errorsOf(text);
    // Assess
    expect(errors).toEqual([
      'p.yaml: notifications.reminders.pendingApprovalHours: Invalid input: expected array, received number',
      'p.yaml: notifications.reminders.expiryDays: Invalid input: expected array, received null',
    ]);
  });
});
