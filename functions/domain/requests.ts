import { createHash } from 'node:crypto';
import { policyViolation, RequestError, validationError } from './errors';
import type { ApprovalDecision, Caller, Decision, TokenRecord, TokenRequestRecord } from './model';
import { TOKEN_NAME_PATTERN } from './naming';
import { findServiceAccount, type Policy, type ServiceAccount } from './policy';
import { isoSeconds } from './ports';
import * as z from './schema';
import { hasUnsafeCharacters } from './text';

const unique = () => z.refine<string[]>((items) => new Set(items).size === items.length, 'must not contain duplicates');

/** Nothing a requester types may add a line, a link line or a direction change where it is shown (see ./text). */
const oneLine = () =>
  z.refine<string>(
    (s) => !hasUnsafeCharacters(s),
    'must not contain control, line-separator, bidirectional or zero-width characters',
  );

/** One line of requester text, 1 to `max` characters. */
const line = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), oneLine());

export const createRequestBodySchema = z.strictObject({
  serviceAccount: line(64),
  name: z.string().check(
    z.regex(TOKEN_NAME_PATTERN, 'must match ^[a-zA-Z0-9_.-]{1,64}$'),
    z.refine((s) => !/^\.+$/.test(s), 'must not be only dots'),
  ),
  scopes: z.array(line(128)).check(z.minLength(1), z.maxLength(50), unique()),
  lifetimeDays: z.int().check(z.minimum(1), z.maximum(365)),
  justification: z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(2000), oneLine()),
  consumers: z.optional(z.array(line(2048)).check(z.maxLength(20), unique())),
});

export type CreateRequestBody = z.output<typeof createRequestBodySchema>;

/** Validates an untrusted JSON body; the error names the first offending top-level property. */
export function parseCreateRequestBody(body: unknown): CreateRequestBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError(undefined, 'body must be a JSON object');
  }
  const result = createRequestBodySchema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    throw validationError(key, `unknown property '${key}'`);
  }
  const field = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  const message =
    issue.message.startsWith('Invalid input: expected') && issue.path.length === 1 && !(field && field in body)
      ? 'is required'
      : issue.message;
  throw validationError(field, `${field ?? 'body'}: ${message}`);
}

export interface PolicyCheck {
  account: ServiceAccount;
  consumers: string[];
  approvers: string[];
}

/** Checks a valid body against the company policy for this requester. */
export function checkRequestAgainstPolicy(body: CreateRequestBody, policy: Policy, requester: string): PolicyCheck {
  const account = findServiceAccount(policy, body.serviceAccount);
  if (!account) throw policyViolation('serviceAccount', `unknown service account '${body.serviceAccount}'`);
  const disallowed = body.scopes.filter((scope) => !account.allowedScopes.includes(scope));
  if (disallowed.length > 0) {
    throw policyViolation('scopes', `scopes not allowed for ${account.alias}: ${disallowed.join(', ')}`);
  }
  if (body.lifetimeDays > account.maxLifetimeDays) {
    throw policyViolation('lifetimeDays', `must be at most ${account.maxLifetimeDays} days for ${account.alias}`);
  }
  if (body.lifetimeDays <= policy.rotationLeadDays) {
    throw policyViolation('lifetimeDays', `must be more than the rotation lead time (${policy.rotationLeadDays} days)`);
  }
  const consumers = body.consumers ?? account.defaultConsumers;
  const foreign = consumers.filter((arn) => !account.allowedConsumers.includes(arn));
  if (foreign.length > 0) {
    throw policyViolation('consumers', `consumers not allowed for ${account.alias}: ${foreign.join(', ')}`);
  }
  const approvers = eligibleApprovers(account, requester);
  if (approvers.length < account.approvalsRequired) {
    throw policyViolation(
      'serviceAccount',
      `${account.alias} needs ${account.approvalsRequired} approval(s) from approvers other than the requester; only ${approvers.length} eligible`,
    );
  }
  return { account, consumers: [...consumers], approvers };
}

/** The requester never approves their own request. */
export function eligibleApprovers(account: ServiceAccount, requester: string): string[] {
  const self = requester.toLowerCase();
  return account.approvers.map((a) => a.toLowerCase()).filter((a) => a !== self);
}

/** Canonical hash of a request body, for `Idempotency-Key` replay detection. */
export function bodyHash(body: CreateRequestBody): string {
  const canonical = JSON.stringify({
    serviceAccount: body.serviceAccount,
    name: body.name,
    scopes: body.scopes,
    lifetimeDays: body.lifetimeDays,
    justification: body.justification,
    consumers: body.consumers ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function newRequest(args: {
  requestId: string;
  body: CreateRequestBody;
  check: PolicyCheck;
  requester: string;
  now: Date;
}): TokenRequestRecord {
  const at = isoSeconds(args.now);
  return {
    requestId: args.requestId,
    status: 'PENDING_APPROVAL',
    serviceAccount: args.check.account.alias,
    name: args.body.name,
    scopes: [...args.body.scopes],
    lifetimeDays: args.body.lifetimeDays,
    justification: args.body.justification,
    consumers: args.check.consumers,
    requester: args.requester.toLowerCase(),
    createdAt: at,
    updatedAt: at,
    approvalsRequired: args.check.account.approvalsRequired,
    approvers: args.check.approvers,
    approvals: [],
    bodyHash: bodyHash(args.body),
    correlationId: args.requestId,
  };
}

export type DecisionOutcome = 'PENDING' | 'APPROVED' | 'REJECTED';

/**
 * Applies one approver's decision. One reject ends the request; the quorum approves it.
 * Throws CONFLICT when the request is no longer pending or this approver already decided.
 */
export function applyDecision(
  request: TokenRequestRecord,
  approver: string,
  decision: Decision,
  now: Date,
): { request: TokenRequestRecord; outcome: DecisionOutcome } {
  const who = approver.toLowerCase();
  if (request.status !== 'PENDING_APPROVAL') {
    throw new RequestError('CONFLICT', `request is already ${request.status}`);
  }
  if (!request.approvers.includes(who)) {
    throw new RequestError('FORBIDDEN', 'not an approver of this request');
  }
  if (request.approvals.some((a) => a.approver === who)) {
    throw new RequestError('CONFLICT', 'this approver already decided');
  }
  const entry: ApprovalDecision = { approver: who, decision, decidedAt: isoSeconds(now) };
  const approvals = [...request.approvals, entry];
  const approvedCount = approvals.filter((a) => a.decision === 'APPROVED').length;
  const outcome: DecisionOutcome =
    decision === 'REJECTED' ? 'REJECTED' : approvedCount >= request.approvalsRequired ? 'APPROVED' : 'PENDING';
  const next: TokenRequestRecord = { ...request, approvals, updatedAt: isoSeconds(now) };
  if (outcome === 'APPROVED') next.status = 'APPROVED';
  if (outcome === 'REJECTED') {
    next.status = 'REJECTED';
    next.reason = `REJECTED_BY_APPROVER`;
  }
  return { request: next, outcome };
}

/** Cancel while pending: `REJECTED` with reason `CANCELLED`. */
export function cancelRequest(request: TokenRequestRecord, caller: Caller, now: Date): TokenRequestRecord {
  if (!caller.isAdmin && request.requester !== caller.email) throw new RequestError('NOT_FOUND', 'request not found');
  if (request.status !== 'PENDING_APPROVAL') {
    throw new RequestError('CONFLICT', `request is ${request.status}; only a pending request can be cancelled`);
  }
  return { ...request, status: 'REJECTED', reason: 'CANCELLED', updatedAt: isoSeconds(now) };
}

/** The token's expiry for a lifetime starting now. */
export function expiryFor(now: Date, lifetimeDays: number): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + lifetimeDays * 86_400_000);
}

/** When rotation is due: `expiry − rotationLeadDays`. */
export function rotationDueAt(expiresAt: Date, rotationLeadDays: number): Date {
  return new Date(expiresAt.getTime() - rotationLeadDays * 86_400_000);
}

/** How long a revoked or expired token's name stays bound to its owner: Secrets Manager's recovery window. */
export const NAME_BINDING_DAYS = 7;

/** A token name kept for `owner` until `until` (ISO-8601): CI may still read the secret of that name. */
export interface NameBinding {
  owner: string;
  until: string;
}

export type NameHolderState =
  | { kind: 'live' }
  | { kind: 'bound'; until: Date }
  /** Free for the requester; `carry` is the binding the requester's own lock must keep (they are its owner). */
  | { kind: 'free'; carry?: NameBinding };

/**
 * Whether the request holding a token name's lock keeps it from `requester`. A pending, approved or live-token holder
 * keeps it from everyone. Once its token was revoked or expired, CI may still read the secret of that name, so it is
 * kept from everyone but its owner until {@link NAME_BINDING_DAYS} days after the later of the revoke, the expiry and
 * the lock's release; an owner who takes it again carries that binding in their own lock, so a later request of
 * theirs that ends without a token does not free it early. A request that ended without a token (or is gone) keeps
 * it from no one beyond the binding it carries.
 */
export function nameHolderState(args: {
  lock: { releasedAt?: string; bound?: NameBinding };
  request: TokenRequestRecord | undefined;
  token: TokenRecord | undefined;
  requester: string;
  now: Date;
}): NameHolderState {
  const { lock, request, token, now } = args;
  if (request?.status === 'PENDING_APPROVAL' || request?.status === 'APPROVED') return { kind: 'live' };
  if (request?.status === 'ISSUED' && token && (token.status === 'ACTIVE' || token.status === 'ROTATING')) {
    return { kind: 'live' };
  }
  const bindings: { owner: string; until: number }[] = [];
  if (lock.bound) bindings.push({ owner: lock.bound.owner, until: Date.parse(lock.bound.until) });
  if (request?.status === 'ISSUED') {
    const freedAt = Math.max(
      ...[
        lock.releasedAt,
        token?.revokedAt,
        token?.status === 'EXPIRED' ? token.expiresAt : undefined,
        request.updatedAt,
      ]
        .filter((t): t is string => t !== undefined)
        .map((t) => Date.parse(t))
        .filter((t) => Number.isFinite(t)),
    );
    bindings.push({ owner: request.requester, until: freedAt + NAME_BINDING_DAYS * 86_400_000 });
  }
  const active = bindings.filter((b) => b.until > now.getTime());
  const latest = (list: typeof active) => Math.max(...list.map((b) => b.until));
  const me = args.requester.toLowerCase();
  const foreign = active.filter((b) => b.owner !== me);
  if (foreign.length > 0) return { kind: 'bound', until: new Date(latest(foreign)) };
  if (active.length === 0) return { kind: 'free' };
  return { kind: 'free', carry: { owner: me, until: new Date(latest(active)).toISOString() } };
}
