import { ALIAS_PATTERN } from './naming';
import { AUDIT_EVENTS, type AuditEvent } from './records';
import * as z from './schema';

const email = z.pipe(
  z.pipe(z.string().check(z.trim(), z.maxLength(254)), z.email({ message: 'must be an email address' })),
  z.transform((value: string) => value.toLowerCase()),
);

const roleArn = z
  .string()
  .check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN'));

const uniqueList = <T extends z.ZodMiniType<string>>(item: T, min: number, max: number) =>
  z.array(item).check(
    z.minLength(min),
    z.maxLength(max),
    z.refine((items) => new Set(items).size === items.length, 'must not contain duplicates'),
  );

const int = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max));

const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

export const serviceAccountSchema = z.strictObject({
  alias: z.string().check(z.regex(ALIAS_PATTERN, 'must match [a-zA-Z0-9_-]{1,64}')),
  atlassianId: text(1, 128),
  email,
  cloudId: text(1, 64),
  site: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be the site name in <site>.atlassian.net')),
  orgId: text(1, 128),
  allowedScopes: uniqueList(z.string().check(z.regex(/^[a-z0-9:._-]{1,128}$/, 'must be an Atlassian scope')), 1, 50),
  maxLifetimeDays: int(1, 365),
  approvers: uniqueList(email, 1, 50),
  approvalsRequired: int(1),
  allowedConsumers: uniqueList(roleArn, 0, 20),
  defaultConsumers: uniqueList(roleArn, 0, 20),
  issuance: z._default(z.enum(['api', 'manual']), 'api'),
});

/** The Atlassian organization whose members' personal tokens are governed (`organization`). */
export const organizationSchema = z.strictObject({
  orgId: text(1, 128),
  /** Authentication policies from admin.atlassian.com; needed for access exceptions. */
  authPolicies: z.optional(
    z.strictObject({
      /** The policy with "User API tokens: Block" (the org's default). */
      blockPolicyId: text(1, 128),
      /** The policy with "User API tokens: Allow" (no standing members). */
      allowPolicyId: text(1, 128),
    }),
  ),
});

/** Governance of members' own (personal) API tokens (`personalTokens`). */
export const personalTokensSchema = z.strictObject({
  mode: z.enum(['report', 'notify', 'revoke']),
  /** Revoke mode: days from the owner's notice to revocation. */
  revokeAfterDays: z._default(int(0, 90), 14),
  /** No use for this long (or never used and older) flags a token `STALE`. */
  staleAfterDays: z._default(int(1, 3650), 90),
  /** A longer lifetime (creation to expiry, or no expiry) flags a token `OVER_LIFETIME`. */
  maxLifetimeDays: z.optional(int(1, 3650)),
  /** Emails never acted on (break-glass admins); their tokens are still listed, as `EXEMPT`. */
  exemptUsers: z._default(uniqueList(email, 0, 500), []),
  /** More revocations due in one scan than this: none of them, and an alert to the admins. */
  maxRevocationsPerScan: z._default(int(1, 10_000), 50),
  /** Access exceptions (time-boxed moves into the allow policy); needs `organization.authPolicies`. */
  exceptions: z.optional(
    z.strictObject({
      approvers: uniqueList(email, 1, 50),
      approvalsRequired: z._default(int(1), 1),
      maxDays: z._default(int(1, 365), 30),
    }),
  ),
});

/**
 * The events a chat channel hears when its `events` are not given: what admins act on or must know about (requests
 * waiting for a decision, tokens issued, failed, revoked or expired, drift, capped or made revocations, exceptions
 * asked for, granted or failed), leaving out per-approver steps and routine successes that would drown them.
 */
export const DEFAULT_CHAT_EVENTS: readonly AuditEvent[] = [
  'REQUESTED',
  'ISSUED',
  'ISSUANCE_FAILED',
  'ROTATION_FAILED',
  'REVOKED',
  'TOKEN_EXPIRED',
  'DRIFT_DETECTED',
  'PERSONAL_TOKEN_REVOKED',
  'PERSONAL_TOKEN_REVOCATIONS_CAPPED',
  'EXCEPTION_REQUESTED',
  'EXCEPTION_ACTIVATED',
  'EXCEPTION_FAILED',
];

/** A Secrets Manager secret name: 1–512 of the characters Secrets Manager allows in names. */
/**
 * A chat webhook's secret: under `token-warden/chat/`, so the notifier's grant for the policy's channels can never
 * reach a token's secret (`token-warden.<alias>.<name>`) or the org key, whatever the policy names.
 */
export const CHAT_SECRET_PREFIX = 'token-warden/chat/';
const secretName = z
  .string()
  .check(
    z.regex(
      /^token-warden\/chat\/[A-Za-z0-9/_+=.@-]{1,494}$/,
      'must be a secret name under token-warden/chat/ (then 1–494 characters [A-Za-z0-9/_+=.@-])',
    ),
  );

/** One chat channel (`notifications.chat[]`): where its incoming-webhook URL is kept and what it hears. */
export const chatChannelSchema = z.strictObject({
  kind: z.enum(['slack', 'teams']),
  /** The secret holding the webhook URL; only its name is in the policy, the URL is read at run time. */
  webhookSecretName: secretName,
  events: z._default(
    z.array(z.enum(AUDIT_EVENTS, { message: 'must be a lifecycle event name (docs/events.md)' })).check(
      z.minLength(1),
      z.refine((items) => new Set(items).size === items.length, 'must not contain duplicates'),
    ),
    () => [...DEFAULT_CHAT_EVENTS],
  ),
  /**
   * Only the events of these service accounts' requests and tokens (aliases in `serviceAccounts`); absent: every
   * account's. A channel with this filter hears no event about no service account (drift, personal tokens, access
   * exceptions); one without it hears them all.
   */
  serviceAccounts: z.optional(
    uniqueList(z.string().check(z.regex(ALIAS_PATTERN, 'must match [a-zA-Z0-9_-]{1,64}')), 1, 100),
  ),
});

/**
 * Reminder marks: whole numbers from 1 to `max`, each once, at most 10; kept in the order they come due (`first`
 * says which end that is). An empty list turns the reminder off.
 */
const reminderMarks = (max: number, first: 'smallest' | 'largest') =>
  z.pipe(
    z.array(int(1, max)).check(
      z.maxLength(10),
      z.refine((items) => new Set(items).size === items.length, 'must not contain duplicates'),
    ),
    z.transform((marks: number[]) => [...marks].sort((a, b) => (first === 'smallest' ? a - b : b - a))),
  );

/** The reminders when the policy names none: a day into a pending approval, two weeks and three days before expiry. */
export const DEFAULT_REMINDERS = { pendingApprovalHours: [24], expiryDays: [14, 3] } as const;

/**
 * `notifications.reminders`: when undecided approvers are reminded (hours since they were asked; marks at or past
 * `approvalExpiryHours` never come, the approval expires first), and when owner and admins hear about a token that
 * will not be rotated by itself before it expires (days before its expiry).
 */
export const remindersSchema = z.strictObject({
  pendingApprovalHours: z._default(reminderMarks(24 * 30, 'smallest'), () => [
    ...DEFAULT_REMINDERS.pendingApprovalHours,
  ]),
  expiryDays: z._default(reminderMarks(365, 'largest'), () => [...DEFAULT_REMINDERS.expiryDays]),
});

/** `notifications`: who is emailed as admin, the chat channels, and the reminders. */
export const notificationsSchema = z.strictObject({
  adminEmails: uniqueList(email, 1, 50),
  chat: z.optional(z.array(chatChannelSchema).check(z.maxLength(10))),
  reminders: z._default(remindersSchema, () => ({
    pendingApprovalHours: [...DEFAULT_REMINDERS.pendingApprovalHours],
    expiryDays: [...DEFAULT_REMINDERS.expiryDays],
  })),
});

/** The longest `approvalExpiryHours` allowed: no approval stays open longer after it was created. */
export const MAX_APPROVAL_EXPIRY_HOURS = 24 * 30;

export const policySchema = z
  .strictObject({
    serviceAccounts: z.array(serviceAccountSchema).check(z.minLength(1), z.maxLength(100)),
    approvalExpiryHours: int(1, MAX_APPROVAL_EXPIRY_HOURS),
    rotationLeadDays: int(1, 364),
    gracePeriodHours: int(0, 24 * 30),
    adminGroup: z._default(text(1, 256), 'token-warden-admins'),
    groupsClaim: z._default(text(1, 256), 'groups'),
    approverSignIn: z._default(z.boolean(), false),
    atlassianRequestsPerSecond: z._default(z.number().check(z.positive(), z.maximum(1000)), 10),
    /** How many of a member's requests may wait for approval at once; one more is refused (429). */
    maxPendingRequestsPerMember: z._default(int(1, 1000), 5),
    notifications: notificationsSchema,
    organization: z.optional(organizationSchema),
    personalTokens: z.optional(personalTokensSchema),
  })
  .check(
    z.superRefine((policy, ctx) => {
      const personal = policy.personalTokens;
      if (personal && !policy.organization) {
        ctx.addIssue({
          code: 'custom',
          path: ['organization'],
          message: 'is required with personalTokens (the org whose members are scanned)',
        });
      }
      if (personal?.exceptions && !policy.organization?.authPolicies) {
        ctx.addIssue({
          code: 'custom',
          path: ['organization', 'authPolicies'],
          message: 'is required with personalTokens.exceptions (the block and allow authentication policies)',
        });
      }
      if (personal?.exceptions && personal.exceptions.approvalsRequired > personal.exceptions.approvers.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['personalTokens', 'exceptions', 'approvalsRequired'],
          message: `must not exceed the number of approvers (${personal.exceptions.approvers.length})`,
        });
      }
      const authPolicies = policy.organization?.authPolicies;
      if (authPolicies && authPolicies.blockPolicyId === authPolicies.allowPolicyId) {
        ctx.addIssue({
          code: 'custom',
          path: ['organization', 'authPolicies', 'allowPolicyId'],
          message: 'must differ from blockPolicyId',
        });
      }
      if (policy.gracePeriodHours >= policy.rotationLeadDays * 24) {
        ctx.addIssue({
          code: 'custom',
          path: ['gracePeriodHours'],
          message: `must be less than rotationLeadDays × 24 (${policy.rotationLeadDays * 24})`,
        });
      }
      const aliases = new Set<string>();
      const known = new Set(policy.serviceAccounts.map((account) => account.alias));
      policy.notifications.chat?.forEach((channel, i) => {
        channel.serviceAccounts?.forEach((alias, j) => {
          if (!known.has(alias)) {
            ctx.addIssue({
              code: 'custom',
              path: ['notifications', 'chat', i, 'serviceAccounts', j],
              message: 'must be the alias of one of serviceAccounts',
            });
          }
        });
      });
      policy.serviceAccounts.forEach((account, i) => {
        if (aliases.has(account.alias)) {
          ctx.addIssue({ code: 'custom', path: ['serviceAccounts', i, 'alias'], message: 'must be unique' });
        }
        aliases.add(account.alias);
        if (policy.rotationLeadDays >= account.maxLifetimeDays) {
          ctx.addIssue({
            code: 'custom',
            path: ['serviceAccounts', i, 'maxLifetimeDays'],
            message: `must be greater than rotationLeadDays (${policy.rotationLeadDays})`,
          });
        }
        if (account.approvalsRequired > account.approvers.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['serviceAccounts', i, 'approvalsRequired'],
            message: `must not exceed the number of approvers (${account.approvers.length})`,
          });
        }
        account.defaultConsumers.forEach((arn, j) => {
          if (!account.allowedConsumers.includes(arn)) {
            ctx.addIssue({
              code: 'custom',
              path: ['serviceAccounts', i, 'defaultConsumers', j],
              message: 'must be one of allowedConsumers',
            });
          }
        });
      });
    }),
  );

export type Policy = z.output<typeof policySchema>;
export type ServiceAccount = Policy['serviceAccounts'][number];
export type PersonalTokenPolicy = NonNullable<Policy['personalTokens']>;
export type ChatChannel = NonNullable<Policy['notifications']['chat']>[number];

/** A policy file that does not hold a valid policy; `lines` are `<file>: <field path>: <message>`. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** `serviceAccounts[0].approvers[1]` from zod's path. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** Control and line-separator characters are escaped, so one problem is always one line (keys can hold anything). */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters escaped
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Validates an already-parsed policy document. Throws `PolicyError` with one line per problem. */
export function validatePolicy(raw: unknown, file: string): Policy {
  const result = policySchema.safeParse(raw);
  if (!result.success) {
    throw new PolicyError(
      result.error.issues.map((issue) => printable(`${file}: ${formatPath(issue.path)}: ${issue.message}`)),
    );
  }
  return result.data;
}

export function findServiceAccount(policy: Policy, alias: string): ServiceAccount | undefined {
  return policy.serviceAccounts.find((account) => account.alias === alias);
}

/** Every consumer any account may name: the KMS key and secret policies are bounded by it. */
export function allAllowedConsumers(policy: Policy): string[] {
  return [...new Set(policy.serviceAccounts.flatMap((account) => account.allowedConsumers))].sort();
}
