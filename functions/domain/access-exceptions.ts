/**
 * Access exceptions: a member's approved, time-boxed move into the authentication policy that allows API tokens.
 * The lifecycle (`PENDING_APPROVAL` → `APPROVED` → `ACTIVE` → `ENDED`, or `REJECTED` / `EXPIRED` / `FAILED`), the
 * request body's rules and the representation. Pure: the use cases (`../use-cases/access-exceptions`) store and
 * move; the notifier tells (`../use-cases/notices/exceptions`).
 */
import { RequestError, validationError } from './errors';
import type { ApprovalDecision, Caller, Decision } from './model';
import type { Policy } from './policy';
import { isoSeconds } from './ports';
import { hasUnsafeCharacters } from './text';

export const EXCEPTION_ID = /^exc_[a-z2-7]{26}$/;

export const EXCEPTION_STATUSES = [
  'PENDING_APPROVAL',
  'APPROVED',
  'ACTIVE',
  'ENDED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];

/** A member holds at most one exception in these statuses. */
export const LIVE_EXCEPTION_STATUSES: readonly ExceptionStatus[] = ['PENDING_APPROVAL', 'APPROVED', 'ACTIVE'];

/** An access exception as the API shows it. */
export interface AccessExceptionRepresentation {
  exceptionId: string;
  status: ExceptionStatus;
  member: string;
  days: number;
  justification: string;
  createdAt: string;
  approvalsRequired: number;
  approvals: ApprovalDecision[];
  startsAt?: string;
  endsAt?: string;
  endedAt?: string;
  reason?: string;
}

/**
 * What became of the member's personal tokens when the exception ended: opened again to the policy, kept (an exempt
 * member), revoked (`revoke` mode), left to the member's live exception (this one was not it), or handled by a run
 * of the step that did not keep what it did.
 */
export const EXCEPTION_TOKEN_OUTCOMES = ['REOPENED', 'KEPT', 'REVOKED', 'LIVE_EXCEPTION', 'HANDLED_BEFORE'] as const;
export type ExceptionTokenOutcome = (typeof EXCEPTION_TOKEN_OUTCOMES)[number];

/** The member's tokens after the end: the outcome and, when revoked, how many. */
export interface ExceptionTokensHandled {
  outcome: ExceptionTokenOutcome;
  revoked?: number;
}

/** An access exception as stored. */
export interface StoredException extends AccessExceptionRepresentation {
  version: number;
  correlationId: string;
  /** The approvers eligible when it was created (the member never one). */
  approvers: string[];
  /** The member's Atlassian account id, once resolved for the move. */
  accountId?: string;
  /** sha256 of the create body, for `Idempotency-Key` replays. */
  bodyHash: string;
  /** The approval task's token, sealed (never in a representation). */
  taskTokenSealed?: string;
  /** An early end was asked for (`POST …/end`), by whom. */
  endRequestedAt?: string;
  endRequestedBy?: string;
  /** How often moving the member back failed (each one audited and told to the admins). */
  moveBackFailures?: number;
  /** When the member's personal tokens were handled after the end (a repeated step does not do it again). */
  tokensHandledAt?: string;
  /** What handling them did, kept with `tokensHandledAt` so a repeated step tells the same. */
  tokensHandled?: ExceptionTokensHandled;
  updatedAt: string;
}

/** The body of `POST /access-exceptions`. */
export interface CreateExceptionBody {
  days: number;
  justification: string;
}

/** Validates the body against the policy's `personalTokens.exceptions`; every failure names its field. */
export function parseCreateExceptionBody(raw: unknown, policy: Policy): CreateExceptionBody {
  const settings = exceptionSettings(policy);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw validationError(undefined, 'body must be a JSON object');
  }
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).find((k) => k !== 'days' && k !== 'justification');
  if (unknown !== undefined) throw validationError(unknown, `unknown property '${unknown}'`);
  const { days, justification } = body;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > settings.maxDays) {
    throw validationError('days', `days must be an integer from 1 to ${settings.maxDays}`);
  }
  if (typeof justification !== 'string' || justification.trim().length < 10 || justification.length > 1000) {
    throw validationError('justification', 'justification must be 10 to 1000 characters');
  }
  // One line, as every text a request carries (emails and pages show it inline).
  if (hasUnsafeCharacters(justification.trim())) {
    throw validationError(
      'justification',
      'justification must be one line without control, format or direction characters',
    );
  }
  return { days, justification: justification.trim() };
}

/** The policy's exception settings; 409 when exceptions are not configured. */
export function exceptionSettings(policy: Policy) {
  const settings = policy.personalTokens?.exceptions;
  const authPolicies = policy.organization?.authPolicies;
  if (!settings || !authPolicies || !policy.organization) {
    throw new RequestError(
      'CONFLICT',
      'access exceptions are off: the policy has no personalTokens.exceptions and organization.authPolicies',
    );
  }
  return { ...settings, orgId: policy.organization.orgId, authPolicies };
}

/**
 * The org and its two authentication policies, whether or not exceptions are still on: a member moved into the
 * allow policy must be moved back even after the policy turned exceptions off.
 */
export function authPoliciesOf(policy: Policy) {
  const authPolicies = policy.organization?.authPolicies;
  if (!authPolicies || !policy.organization) {
    throw new Error('the policy has no organization.authPolicies: nobody can be moved between policies');
  }
  return { orgId: policy.organization.orgId, authPolicies };
}

/** The approvers who may decide on `member`'s exception: the policy's, without the member. */
export function eligibleExceptionApprovers(policy: Policy, member: string): string[] {
  const self = member.toLowerCase();
  return (policy.personalTokens?.exceptions?.approvers ?? []).filter((a) => a !== self);
}

/** A new pending exception. Refused when the member's own exclusion leaves too few approvers. */
export function newException(input: {
  exceptionId: string;
  body: CreateExceptionBody;
  bodyHash: string;
  member: string;
  policy: Policy;
  now: Date;
}): StoredException {
  const settings = exceptionSettings(input.policy);
  const approvers = eligibleExceptionApprovers(input.policy, input.member);
  if (approvers.length < settings.approvalsRequired) {
    throw new RequestError(
      'POLICY_VIOLATION',
      `too few approvers besides you (${approvers.length} of ${settings.approvalsRequired} needed)`,
    );
  }
  const at = isoSeconds(input.now);
  return {
    exceptionId: input.exceptionId,
    status: 'PENDING_APPROVAL',
    member: input.member.toLowerCase(),
    days: input.body.days,
    justification: input.body.justification,
    createdAt: at,
    approvalsRequired: settings.approvalsRequired,
    approvals: [],
    version: 1,
    correlationId: input.exceptionId,
    approvers,
    bodyHash: input.bodyHash,
    updatedAt: at,
  };
}

/** One approver's decision: quorum approves, one reject ends it. */
export function applyExceptionDecision(
  exception: StoredException,
  approver: string,
  decision: Decision,
  now: Date,
): { exception: StoredException; outcome: 'PENDING' | 'APPROVED' | 'REJECTED' } {
  const who = approver.toLowerCase();
  if (exception.status !== 'PENDING_APPROVAL') throw new RequestError('CONFLICT', `exception is ${exception.status}`);
  if (!exception.approvers.includes(who)) throw new RequestError('FORBIDDEN', 'not an approver of this exception');
  if (exception.approvals.some((a) => a.approver === who)) {
    throw new RequestError('CONFLICT', 'this approver already decided');
  }
  const at = isoSeconds(now);
  const approvals = [...exception.approvals, { approver: who, decision, decidedAt: at }];
  const approved = approvals.filter((a) => a.decision === 'APPROVED').length;
  const outcome =
    decision === 'REJECTED' ? 'REJECTED' : approved >= exception.approvalsRequired ? 'APPROVED' : 'PENDING';
  const next: StoredException = { ...exception, approvals, updatedAt: at };
  if (outcome === 'APPROVED') next.status = 'APPROVED';
  if (outcome === 'REJECTED') {
    next.status = 'REJECTED';
    next.reason = 'REJECTED_BY_APPROVER';
  }
  return { exception: next, outcome };
}

/** Whether `caller` may see the exception (members their own, admins all). */
export const canSeeException = (caller: Caller, exception: StoredException) =>
  caller.isAdmin || exception.member === caller.email;

/** The member is in the allow policy from now for the approved days. */
export function activate(exception: StoredException, now: Date): StoredException {
  const at = isoSeconds(now);
  const endsAt = isoSeconds(new Date(now.getTime() + exception.days * 24 * 3600 * 1000));
  return { ...exception, status: 'ACTIVE', startsAt: at, endsAt, updatedAt: at };
}

/** Closed before it began: cancelled, rejected, expired, or the move failed. */
export function close(
  exception: StoredException,
  status: 'REJECTED' | 'EXPIRED' | 'FAILED',
  reason: string,
  now: Date,
): StoredException {
  return { ...exception, status, reason, updatedAt: isoSeconds(now) };
}

/** Over: the member is back in the block policy. */
export function end(exception: StoredException, reason: string, now: Date): StoredException {
  const at = isoSeconds(now);
  return { ...exception, status: 'ENDED', endedAt: at, reason, updatedAt: at };
}

/** The representation: no approvers list, sealed token, account id or bookkeeping. */
export function toExceptionRepresentation(exception: StoredException): AccessExceptionRepresentation {
  const view: AccessExceptionRepresentation = {
    exceptionId: exception.exceptionId,
    status: exception.status,
    member: exception.member,
    days: exception.days,
    justification: exception.justification,
    createdAt: exception.createdAt,
    approvalsRequired: exception.approvalsRequired,
    approvals: exception.approvals.map((a) => ({ ...a })),
  };
  for (const key of ['startsAt', 'endsAt', 'endedAt', 'reason'] as const) {
    const value = exception[key];
    if (value !== undefined) view[key] = value;
  }
  return view;
}
