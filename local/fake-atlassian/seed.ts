import type { FakeSeed } from './state';

/** The seeded demo of the product brief: the `jenkins-bot` service account and the org's people. */
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
  ],
};
