import type { FakeSeed } from './state';

/**
 * The seeded demo of the product brief: the `jenkins-bot` service account, the org's members, the two
 * authentication policies of the recommended setup (every member in the blocking one), and one forgotten
 * personal token of alice's (200 days old, never used, so listed `BLOCKED`).
 */
export const DEMO_SEED: FakeSeed = {
  orgId: 'demo-org',
  directoryId: 'demo-directory',
  sites: [{ site: 'example', cloudId: '00000000-0000-4000-8000-0000000000c1' }],
  accounts: [
    {
      accountId: '712020:00000000-0000-4000-8000-000000000001',
      email: 'jenkins-bot@serviceaccount.atlassian.com',
      displayName: 'jenkins-bot',
      kind: 'service',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a1',
      email: 'alice@example.com',
      displayName: 'Alice',
      kind: 'human',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a2',
      email: 'approver1@example.com',
      displayName: 'Approver One',
      kind: 'human',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a3',
      email: 'approver2@example.com',
      displayName: 'Approver Two',
      kind: 'human',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a4',
      email: 'admin@example.com',
      displayName: 'Admin',
      kind: 'human',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a5',
      email: 'bob@example.com',
      displayName: 'Bob',
      kind: 'human',
    },
    {
      accountId: '712020:00000000-0000-4000-8000-0000000000a6',
      email: 'security@example.com',
      displayName: 'Security',
      kind: 'human',
    },
  ],
  authPolicies: [
    { policyId: 'policy-block', name: 'Block user API tokens', apiTokens: 'blocked' },
    { policyId: 'policy-allow', name: 'Allow user API tokens', apiTokens: 'allowed' },
  ],
  defaultAuthPolicyId: 'policy-block',
  personalTokens: [{ email: 'alice@example.com', label: 'my laptop scripts', createdDaysAgo: 200 }],
};
