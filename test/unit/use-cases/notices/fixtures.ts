/** What the email planners' tests share: records of the shipped policy's jenkins-bot, and a context holding them. */
import { approvalIdFor } from '../../../../functions/domain/naming';
import type { Policy } from '../../../../functions/domain/policy';
import type {
  ApprovalRecord,
  MintRecord,
  StoredRequest,
  StoredToken,
  UploadRecord,
} from '../../../../functions/domain/records';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../../../../functions/domain/requests';
import type { NoticeContext, NoticeReads } from '../../../../functions/use-cases/notify-email';
import { policy } from '../../../support/harness';

export const KEY = Buffer.alloc(32, 3);
export const REQUEST_ID = 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa';
export const TOKEN_ID = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa';

/** alice's pending request for a jenkins-bot token `ci-main`, created at `createdAt`. */
export function storedRequest(createdAt: string, over: Partial<StoredRequest> = {}): StoredRequest {
  const body = parseCreateRequestBody({
    serviceAccount: 'jenkins-bot',
    name: 'ci-main',
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'Jenkins reads Jira issues',
  });
  return {
    ...newRequest({
      requestId: REQUEST_ID,
      body,
      check: checkRequestAgainstPolicy(body, policy, 'alice@example.com'),
      requester: 'alice@example.com',
      now: new Date(createdAt),
    }),
    version: 1,
    ...over,
  } as StoredRequest;
}

/** `approver`'s open approval of that request. */
export function approvalRecord(
  approver: string,
  times: { createdAt: string; expiresAt: string },
  over: Partial<ApprovalRecord> = {},
): ApprovalRecord {
  return {
    approvalId: approvalIdFor(REQUEST_ID, approver),
    requestId: REQUEST_ID,
    approver,
    status: 'OPEN',
    csrfHashes: [],
    ...times,
    ...over,
  };
}

/** alice's jenkins-bot token `ci-main` at generation 2. */
export function storedToken(over: Partial<StoredToken> = {}): StoredToken {
  return {
    tokenId: TOKEN_ID,
    requestId: REQUEST_ID,
    serviceAccount: 'jenkins-bot',
    name: 'ci-main',
    owner: 'alice@example.com',
    secretName: 'token-warden.jenkins-bot.ci-main',
    secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden.jenkins-bot.ci-main-abc',
    status: 'ACTIVE',
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    consumers: [],
    expiresAt: '2026-12-31T00:00:00Z',
    generation: 2,
    createdAt: '2026-12-01T00:00:00Z',
    generations: [],
    correlationId: REQUEST_ID,
    version: 1,
    ...over,
  };
}

/** The records a test's store holds. */
export interface Stored {
  requests?: StoredRequest[];
  approvals?: ApprovalRecord[];
  tokens?: StoredToken[];
  mints?: MintRecord[];
  uploads?: UploadRecord[];
  drift?: Record<string, unknown>;
}

/** A planner's context at `now` under `current`, whose store holds `stored` and nothing else. */
export function noticeContext(stored: Stored, now: Date, current: Policy = policy): NoticeContext {
  const none = async () => undefined;
  const store: NoticeReads = {
    getRequest: async (id) => stored.requests?.find((r) => r.requestId === id),
    getApproval: async (id) => stored.approvals?.find((a) => a.approvalId === id),
    getToken: async (id) => stored.tokens?.find((t) => t.tokenId === id),
    getMint: async (id, g) => stored.mints?.find((m) => m.tokenId === id && m.generation === g),
    getUpload: async (id) => stored.uploads?.find((u) => u.uploadId === id),
    getException: none,
    getPersonalToken: none,
    getPersonalTokens: async () => new Map(),
    getDriftReport: async () => stored.drift,
  };
  return {
    store,
    policy: current,
    clock: { now: () => now },
    consoleUrl: 'https://console.example.com/console/',
    linkBaseUrl: 'https://api.example.com/',
    linkKey: async () => KEY,
  };
}
