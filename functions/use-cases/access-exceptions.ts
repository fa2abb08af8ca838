/**
 * Access exceptions: the routes (`/access-exceptions…`) and the steps of the exception workflow. Approval is the
 * token requests' own (`./approvals`: one single-use link per eligible approver, the same page, quorum, one reject);
 * these steps move the member into the allow policy, back into the block policy when the days are over (or on an
 * early end), and handle the member's personal tokens per the mode.
 *
 * Safe to retry: every step reads the exception first and does only what its status still calls for; the moves are
 * idempotent at Atlassian; a move back happens only while this exception is the member's live one, so a stale
 * execution never moves a member out of a newer exception. Nothing here sends mail: each step records what it did,
 * and the notifier tells the member, the approvers and the admins from those events (`./notices/exceptions`).
 */
import { createHash } from 'node:crypto';
import {
  type AccessExceptionRepresentation,
  activate,
  authPoliciesOf,
  canSeeException,
  close,
  EXCEPTION_ID,
  type ExceptionTokensHandled,
  end,
  exceptionSettings,
  LIVE_EXCEPTION_STATUSES,
  newException,
  parseCreateExceptionBody,
  type StoredException,
  toExceptionRepresentation,
} from '../domain/access-exceptions';
import { conflict, notFound, RequestError, validationError } from '../domain/errors';
import type { Caller } from '../domain/model';
import { approvalIdFor, derivedId } from '../domain/naming';
import { withRevocation } from '../domain/personal-tokens';
import type { Policy } from '../domain/policy';
import { type Clock, isoSeconds, type Random } from '../domain/ports';
import { unsealTaskTokenWith } from './link-keys';
import { moveMember, PolicyMoveFailedError } from './policy-moves';
import type {
  AccessExceptionRepository,
  ApprovalRepository,
  Atlassian,
  AuditTrail,
  LinkKeyring,
  OperatorLog,
  PersonalTokenRepository,
  WorkflowEngine,
} from './ports';
import { parseLimit } from './requests';

/** The repositories these use cases read and write. */
export type ExceptionStore = AccessExceptionRepository & ApprovalRepository & PersonalTokenRepository;

/** What the routes need. */
export interface ExceptionRouteDeps {
  store: ExceptionStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  clock: Clock;
  random: Random;
  policy: Policy;
  /** Unseals the approval task token (cancel resumes the waiting workflow). */
  linkAndSealKey: LinkKeyring;
  exceptionStateMachineArn: string;
}

/** What the workflow's steps need. */
export interface ExceptionStepDeps {
  store: ExceptionStore;
  audit: AuditTrail;
  atlassian: Pick<
    Atlassian,
    | 'addUsersToAuthPolicy'
    | 'authPolicyTask'
    | 'bulkFetchAuthPolicies'
    | 'findUsersByEmail'
    | 'listTokens'
    | 'revokeToken'
  >;
  clock: Clock;
  policy: Policy;
  sleep: (ms: number) => Promise<void>;
  log?: OperatorLog;
}

/**
 * A failed move back: counted on the exception and audited each time (the notifier tells the admins from each
 * record), and retried by the workflow until it succeeds.
 */
export async function recordMoveBackFailure(deps: ExceptionStepDeps, input: { exceptionId: string; error?: string }) {
  const saved = await saveOrRetry(deps, input.exceptionId, (current) => ({
    ...current,
    moveBackFailures: (current.moveBackFailures ?? 0) + 1,
  }));
  const exception = saved ?? (await load(deps, input.exceptionId));
  const failures = exception.moveBackFailures ?? 1;
  const at = isoSeconds(deps.clock.now());
  await audit(
    deps,
    exception,
    'EXCEPTION_FAILED',
    at,
    'token-warden',
    {
      reason: 'MOVE_BACK_FAILED',
      failures,
      error: (input.error ?? 'unknown').slice(0, 200),
    },
    `move-back-failed:${failures}`,
  );
  return { exceptionId: exception.exceptionId, failures };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
/** A place claimed for an exception not stored yet is a call in flight for this long, then abandoned. */
export const CLAIM_GRACE_MS = 5 * 60_000;
/** The execution that ends an exception early: the main one is left to find it ended. */
export const endExecutionName = (exceptionId: string) => `${exceptionId}-end`;

const bodyHashOf = (body: { days: number; justification: string }) =>
  createHash('sha256')
    .update(JSON.stringify([body.days, body.justification]))
    .digest('hex');

function audit(
  deps: { audit: AuditTrail },
  exception: StoredException,
  event: Parameters<AuditTrail['append']>[0]['event'],
  at: string,
  actor: string,
  details: Record<string, string | number | boolean | string[]> = {},
  discriminator: string = event,
) {
  return deps.audit.append(
    {
      correlationId: exception.correlationId,
      event,
      at,
      actor,
      requestId: exception.exceptionId,
      details: { exceptionId: exception.exceptionId, member: exception.member, days: exception.days, ...details },
    },
    discriminator,
  );
}

// ---- routes

/**
 * `POST /access-exceptions` (members): `{days, justification}` → the pending exception, its approval workflow
 * started. One live exception per member (409); idempotent per caller and `Idempotency-Key`.
 */
export async function createException(
  deps: ExceptionRouteDeps,
  caller: Caller,
  rawBody: unknown,
  idempotencyKey: string | undefined,
): Promise<AccessExceptionRepresentation> {
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw validationError('Idempotency-Key', 'Idempotency-Key must be 1-128 printable ASCII characters');
  }
  const body = parseCreateExceptionBody(rawBody, deps.policy);
  const bodyHash = bodyHashOf(body);
  const exceptionId = `exc_${
    idempotencyKey === undefined ? deps.random.id() : derivedId('exception-idempotency', caller.email, idempotencyKey)
  }`;
  const existing = await deps.store.getException(exceptionId);
  if (existing) return replay(deps, existing, bodyHash);
  const record = newException({
    exceptionId,
    body,
    bodyHash,
    member: caller.email,
    policy: deps.policy,
    now: deps.clock.now(),
  });

  let holder = await deps.store.claimLiveException(record.member, exceptionId, undefined, record.createdAt);
  for (let attempt = 0; holder !== undefined && attempt < 3; attempt++) {
    const held = await deps.store.getException(holder);
    if (held && LIVE_EXCEPTION_STATUSES.includes(held.status)) {
      throw conflict(`you already have a live access exception (${held.exceptionId}, ${held.status})`);
    }
    if (!held) {
      // A place claimed for an exception not stored yet is another call of the member's in flight, for a while.
      const claim = await deps.store.liveExceptionClaim(record.member);
      const age = claim?.claimedAt === undefined ? Infinity : deps.clock.now().getTime() - Date.parse(claim.claimedAt);
      if (claim?.exceptionId === holder && age < CLAIM_GRACE_MS) {
        throw conflict('another access exception of yours is being created; retry in a moment');
      }
    }
    holder = await deps.store.claimLiveException(record.member, exceptionId, holder, record.createdAt);
  }
  if (holder !== undefined) throw conflict('another access exception of yours is being created; retry');
  if (!(await deps.store.createException(record))) {
    const winner = await deps.store.getException(exceptionId);
    if (!winner) throw new RequestError('CONFLICT', 'the exception is being created; retry');
    return replay(deps, winner, bodyHash);
  }
  await audit(deps, record, 'EXCEPTION_REQUESTED', record.createdAt, caller.email, {
    justification: record.justification,
  });
  try {
    await deps.workflows.start(deps.exceptionStateMachineArn, exceptionId, { exceptionId });
  } catch (error) {
    // Nothing would ever decide or expire it: close it and free the member's place, so a retry can ask again.
    const closed = await deps.store.saveException(close(record, 'FAILED', 'WORKFLOW_NOT_STARTED', deps.clock.now()));
    if (closed) await deps.store.releaseLiveException(record.member, exceptionId);
    throw error;
  }
  return toExceptionRepresentation(record);
}

async function replay(deps: ExceptionRouteDeps, existing: StoredException, bodyHash: string) {
  if (existing.bodyHash !== bodyHash) {
    throw new RequestError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was used with another body', 'Idempotency-Key');
  }
  // The first call may have stopped before the workflow started: starting again is idempotent by name.
  if (existing.status === 'PENDING_APPROVAL') {
    await deps.workflows.start(deps.exceptionStateMachineArn, existing.exceptionId, {
      exceptionId: existing.exceptionId,
    });
  }
  return toExceptionRepresentation(existing);
}

async function visible(deps: { store: ExceptionStore }, caller: Caller, exceptionId: string) {
  const exception = EXCEPTION_ID.test(exceptionId) ? await deps.store.getException(exceptionId) : undefined;
  if (!exception || !canSeeException(caller, exception)) throw notFound('access exception not found');
  return exception;
}

/** `GET /access-exceptions/{exceptionId}` (the member, admins). */
export async function getException(deps: { store: ExceptionStore }, caller: Caller, exceptionId: string) {
  return toExceptionRepresentation(await visible(deps, caller, exceptionId));
}

/** `GET /access-exceptions` (members their own, admins all), newest first. */
export async function listExceptions(
  deps: { store: ExceptionStore },
  caller: Caller,
  query: Record<string, string | undefined>,
) {
  const unknown = Object.keys(query).find((k) => k !== 'limit' && k !== 'nextToken');
  if (unknown !== undefined) throw validationError(unknown, `unknown query parameter '${unknown}'`);
  const page = await deps.store.listExceptions({
    ...(caller.isAdmin ? {} : { member: caller.email }),
    limit: parseLimit(query.limit),
    ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
  });
  return {
    items: page.items.map(toExceptionRepresentation),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  };
}

/** `POST /access-exceptions/{exceptionId}/cancel` (the member or an admin, while pending). */
export async function cancelException(deps: ExceptionRouteDeps, caller: Caller, exceptionId: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const exception = await visible(deps, caller, exceptionId);
    if (exception.status === 'REJECTED' && exception.reason === 'CANCELLED') {
      // A repeat: record and resume again (the first call may have stopped before either), answer it unchanged.
      await audit(deps, exception, 'EXCEPTION_CANCELLED', exception.updatedAt, caller.email);
      await resumeCancelled(deps, exception);
      return toExceptionRepresentation(exception);
    }
    if (exception.status !== 'PENDING_APPROVAL') {
      throw conflict(`the exception is ${exception.status}; only a pending exception can be cancelled`);
    }
    const saved = await deps.store.saveException(close(exception, 'REJECTED', 'CANCELLED', deps.clock.now()));
    if (!saved) continue;
    await audit(deps, saved, 'EXCEPTION_CANCELLED', saved.updatedAt, caller.email);
    await resumeCancelled(deps, saved);
    return toExceptionRepresentation(saved);
  }
  throw conflict('the exception changed while cancelling; retry');
}

async function resumeCancelled(deps: ExceptionRouteDeps, exception: StoredException) {
  if (!exception.taskTokenSealed) return;
  const token = await unsealTaskTokenWith(deps.linkAndSealKey, exception.taskTokenSealed, exception.exceptionId);
  // False when the task is gone already (the workflow moved on): nothing is waiting.
  await deps.workflows.succeed(token, { outcome: 'CANCELLED' });
}

/**
 * `POST /access-exceptions/{exceptionId}/end` (the member or an admin, while active): starts the move back now
 * (execution `<exceptionId>-end`); the answer is the exception as it is, still `ACTIVE` until the move is done.
 */
export async function endException(deps: ExceptionRouteDeps, caller: Caller, exceptionId: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const exception = await visible(deps, caller, exceptionId);
    if (exception.status !== 'ACTIVE') {
      throw conflict(`the exception is ${exception.status}; only an active exception can be ended`);
    }
    const at = isoSeconds(deps.clock.now());
    const saved = exception.endRequestedAt
      ? exception
      : await deps.store.saveException({
          ...exception,
          endRequestedAt: at,
          endRequestedBy: caller.email,
          updatedAt: at,
        });
    if (!saved) continue;
    await audit(
      deps,
      saved,
      'EXCEPTION_END_REQUESTED',
      saved.endRequestedAt ?? at,
      saved.endRequestedBy ?? caller.email,
    );
    await deps.workflows.start(deps.exceptionStateMachineArn, endExecutionName(exceptionId), {
      exceptionId,
      end: true,
    });
    return toExceptionRepresentation(saved);
  }
  throw conflict('the exception changed while ending it; retry');
}

// ---- workflow steps

async function load(deps: { store: ExceptionStore }, exceptionId: string): Promise<StoredException> {
  const exception = await deps.store.getException(exceptionId);
  if (!exception) throw new Error(`exception ${exceptionId} does not exist`);
  return exception;
}

/** Saves `next` over `current`; on a conflict re-reads and lets `again` decide (undefined: nothing to do). */
async function saveOrRetry(
  deps: { store: ExceptionStore },
  exceptionId: string,
  change: (current: StoredException) => StoredException | undefined,
): Promise<StoredException | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await load(deps, exceptionId);
    const next = change(current);
    if (!next) return undefined;
    const saved = await deps.store.saveException(next);
    if (saved) return saved;
  }
  throw new Error(`exception ${exceptionId} kept changing`);
}

/** The member's account id, resolved in the org directory once and kept on the exception. */
async function accountIdOf(deps: ExceptionStepDeps, exception: StoredException): Promise<string> {
  if (exception.accountId) return exception.accountId;
  const { orgId } = authPoliciesOf(deps.policy);
  const [user] = await deps.atlassian.findUsersByEmail(orgId, '-', [exception.member]);
  if (!user) throw new PolicyMoveFailedError(`${exception.member} is not in the organization's directory`);
  await saveOrRetry(deps, exception.exceptionId, (current) =>
    current.accountId ? undefined : { ...current, accountId: user.accountId },
  );
  return user.accountId;
}

/**
 * Step `Move into the allow policy`: the approved member into `allowPolicyId` (moved, polled, confirmed), then
 * `ACTIVE` until `startsAt + days`. Answers `{exceptionId, endsAt}` for the wait; a repeat after activation answers
 * the same.
 */
export async function grantException(deps: ExceptionStepDeps, input: { exceptionId: string }) {
  const exception = await load(deps, input.exceptionId);
  if (exception.status === 'ACTIVE' && exception.endsAt) {
    // A retried step: the activation's record again (the same one), in case the first attempt stopped before it.
    await auditActivated(deps, exception);
    return { exceptionId: exception.exceptionId, endsAt: exception.endsAt };
  }
  if (exception.status !== 'APPROVED') {
    throw new PolicyMoveFailedError(`exception ${exception.exceptionId} is ${exception.status}, not APPROVED`);
  }
  const settings = exceptionSettings(deps.policy);
  const accountId = await accountIdOf(deps, exception);
  await moveMember(deps, {
    orgId: settings.orgId,
    policyId: settings.authPolicies.allowPolicyId,
    email: exception.member,
    accountId,
  });
  const now = deps.clock.now();
  const saved = await saveOrRetry(deps, exception.exceptionId, (current) =>
    current.status === 'APPROVED' ? activate(current, now) : undefined,
  );
  const active = saved ?? (await load(deps, exception.exceptionId));
  if (active.status !== 'ACTIVE' || !active.endsAt)
    throw new Error(`exception ${active.exceptionId} is ${active.status}`);
  await auditActivated(deps, active);
  return { exceptionId: active.exceptionId, endsAt: active.endsAt };
}

/** `EXCEPTION_ACTIVATED` of an `ACTIVE` exception (one record: a repeat is a no-op, its event published again). */
function auditActivated(deps: ExceptionStepDeps, active: StoredException) {
  return audit(deps, active, 'EXCEPTION_ACTIVATED', active.startsAt ?? active.updatedAt, 'token-warden', {
    endsAt: active.endsAt ?? '',
    policyId: exceptionSettings(deps.policy).authPolicies.allowPolicyId,
  });
}

/**
 * Step `Record the failed exception`: the move in failed and so did the move back after it. The exception is
 * `FAILED` (the member's place freed) and its record, with the failed move back's `error`, asks the admins to check
 * the member's policy by hand; the scan flags the member's tokens `UNAPPROVED_ACCESS` while their policy still allows
 * them.
 */
export async function failException(deps: ExceptionStepDeps, input: { exceptionId: string; error?: string }) {
  const now = deps.clock.now();
  const saved = await saveOrRetry(deps, input.exceptionId, (current) =>
    current.status === 'APPROVED' || current.status === 'ACTIVE'
      ? close(current, 'FAILED', 'MOVE_FAILED', now)
      : undefined,
  );
  const failed = saved ?? (await load(deps, input.exceptionId));
  await deps.store.releaseLiveException(failed.member, failed.exceptionId);
  await closeApprovals(deps, failed);
  await audit(deps, failed, 'EXCEPTION_FAILED', failed.updatedAt, 'token-warden', {
    reason: failed.reason ?? 'MOVE_FAILED',
    error: (input.error ?? 'unknown').slice(0, 200),
  });
  return { exceptionId: failed.exceptionId, status: failed.status };
}

/**
 * Step `Move back into the block policy`: the member back into `blockPolicyId`, the exception `ENDED` (or `FAILED`
 * after a failed move in), the member's place freed, and their personal tokens handled: in `revoke` mode revoked at
 * once (they were allowed only for the exception), otherwise their records opened again. Nothing happens to a
 * member whose live exception is another one.
 */
export async function revertException(deps: ExceptionStepDeps, input: { exceptionId: string; failed?: boolean }) {
  const exception = await load(deps, input.exceptionId);
  // Over already (a repeat of this step): no move, but what follows the move is finished, each part once.
  const alreadyOver = exception.status === 'ENDED' || exception.status === 'FAILED';
  const settings = authPoliciesOf(deps.policy);
  const holder = await deps.store.claimLiveException(exception.member, exception.exceptionId);
  if (holder !== undefined) {
    // Another exception of the member's holds the place: the membership is that one's to end.
    deps.log?.warn('exception is not the member’s live one; not moving them', { exceptionId: exception.exceptionId });
  } else if (!alreadyOver) {
    const accountId = await accountIdOf(deps, exception);
    await moveMember(deps, {
      orgId: settings.orgId,
      policyId: settings.authPolicies.blockPolicyId,
      email: exception.member,
      accountId,
    });
  }
  const now = deps.clock.now();
  const saved = await saveOrRetry(deps, exception.exceptionId, (current) => {
    if (current.status === 'ENDED' || current.status === 'FAILED') return undefined;
    if (input.failed || current.status !== 'ACTIVE') return close(current, 'FAILED', 'MOVE_FAILED', now);
    return end(current, current.endRequestedAt ? 'ENDED_EARLY' : 'DAYS_OVER', now);
  });
  const ended = saved ?? (await load(deps, exception.exceptionId));
  await deps.store.releaseLiveException(ended.member, ended.exceptionId);
  await closeApprovals(deps, ended);
  if (ended.status === 'ENDED') {
    const tokens = await tokensAfterTheEnd(deps, ended, holder);
    // Recorded once the tokens are handled: the notifier tells the member and approvers what became of them.
    await audit(
      deps,
      ended,
      'EXCEPTION_ENDED',
      ended.endedAt ?? isoSeconds(now),
      ended.endRequestedBy ?? 'token-warden',
      {
        reason: ended.reason ?? 'DAYS_OVER',
        tokens: tokens.outcome,
        ...(tokens.revoked === undefined ? {} : { revokedTokens: tokens.revoked }),
      },
    );
  } else {
    await audit(deps, ended, 'EXCEPTION_FAILED', ended.updatedAt, 'token-warden', { reason: ended.reason ?? 'FAILED' });
  }
  return { exceptionId: ended.exceptionId, moved: holder === undefined && !alreadyOver, status: ended.status };
}

/**
 * The member's personal tokens once the exception ended, handled once and what that did kept on the exception: a
 * later repeat (the main execution waking after an early end) must not act on tokens made since, and tells the same.
 * Not the member's live exception (`holder`): their tokens belong to the one that is, and are left alone.
 */
async function tokensAfterTheEnd(
  deps: ExceptionStepDeps,
  ended: StoredException,
  holder: string | undefined,
): Promise<ExceptionTokensHandled> {
  if (holder !== undefined) return { outcome: 'LIVE_EXCEPTION' };
  if (ended.tokensHandledAt !== undefined) return ended.tokensHandled ?? { outcome: 'HANDLED_BEFORE' };
  const handled = await handleTokens(deps, ended);
  const at = isoSeconds(deps.clock.now());
  await saveOrRetry(deps, ended.exceptionId, (current) =>
    current.tokensHandledAt === undefined ? { ...current, tokensHandledAt: at, tokensHandled: handled } : undefined,
  );
  return handled;
}

/**
 * After the exception: in `revoke` mode every personal token of the member is revoked at once (listed by their
 * account, so tokens the scan has not seen yet go too); otherwise their exempted records are opened again, so the
 * scan's notices start afresh.
 */
async function handleTokens(deps: ExceptionStepDeps, exception: StoredException): Promise<ExceptionTokensHandled> {
  const mode = deps.policy.personalTokens?.mode ?? 'report';
  const records = await allRecordsOf(deps, exception.member);
  if (mode !== 'revoke') {
    for (const record of records) {
      if (record.state !== 'EXEMPT') continue;
      await deps.store.savePersonalToken({
        ...record,
        state: 'OPEN',
        noticeRound: (record.noticeRound ?? 0) + 1,
      });
    }
    return { outcome: 'REOPENED' };
  }
  if (deps.policy.personalTokens?.exemptUsers.includes(exception.member)) {
    return { outcome: 'KEPT' };
  }
  const accountId = exception.accountId ?? (await accountIdOf(deps, exception));
  const now = deps.clock.now();
  const byId = new Map(records.map((r) => [r.atlassianTokenId, r]));
  let revoked = 0;
  for (const token of await deps.atlassian.listTokens(accountId)) {
    const record = byId.get(token.id);
    if (record && record.state !== 'REVOKED') {
      await deps.store.savePersonalToken({
        ...withRevocation(record, { at: now, by: 'token-warden', reason: 'EXCEPTION_ENDED' }),
        version: record.version,
      });
    }
    // A failure fails the step, which the workflow retries: the member's tokens were allowed only for the exception.
    await deps.atlassian.revokeToken(accountId, token.id);
    revoked++;
    await deps.audit.append(
      {
        correlationId: `personal-token:${token.id}`,
        event: 'PERSONAL_TOKEN_REVOKED',
        at: isoSeconds(now),
        actor: 'token-warden',
        requestId: exception.exceptionId,
        details: { atlassianTokenId: token.id, owner: exception.member, reason: 'EXCEPTION_ENDED', label: token.label },
      },
      'revoked',
    );
  }
  return { outcome: 'REVOKED', revoked };
}

async function allRecordsOf(deps: ExceptionStepDeps, member: string) {
  const out = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.store.listPersonalTokens({
      owner: member,
      limit: 100,
      ...(nextToken ? { nextToken } : {}),
    });
    out.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/**
 * Step `Close the exception`: a rejected, cancelled or expired exception (`outcome`) ends without anyone moving; the
 * member's place is freed and the open approval links closed. The member and approvers are told from the event that
 * closed it: the approver's `EXCEPTION_REJECTED`, the `EXCEPTION_CANCELLED` of whoever cancelled, or this step's
 * `EXCEPTION_EXPIRED` or `EXCEPTION_FAILED`.
 */
export async function closeException(
  deps: ExceptionStepDeps,
  input: { exceptionId: string; outcome: 'REJECTED' | 'CANCELLED' | 'EXPIRED' | 'FAILED' },
) {
  const now = deps.clock.now();
  const closing = {
    REJECTED: ['REJECTED', 'REJECTED_BY_APPROVER'],
    CANCELLED: ['REJECTED', 'CANCELLED'],
    EXPIRED: ['EXPIRED', 'APPROVAL_EXPIRED'],
    FAILED: ['FAILED', 'APPROVAL_FAILED'],
  } as const;
  const [status, reason] = closing[input.outcome];
  // An exception approved whose workflow then timed out or failed before moving anyone (its resume was lost) is closed
  // too: nothing will act on it any more.
  const closable = (current: StoredException) =>
    current.status === 'PENDING_APPROVAL' ||
    (current.status === 'APPROVED' && (input.outcome === 'EXPIRED' || input.outcome === 'FAILED'));
  const saved = await saveOrRetry(deps, input.exceptionId, (current) =>
    closable(current) ? close(current, status, reason, now) : undefined,
  );
  const closed = saved ?? (await load(deps, input.exceptionId));
  await deps.store.releaseLiveException(closed.member, closed.exceptionId);
  await closeApprovals(deps, closed);
  if (closed.status === 'EXPIRED') {
    await audit(deps, closed, 'EXCEPTION_EXPIRED', closed.updatedAt, 'token-warden');
  }
  if (closed.status === 'FAILED') {
    await audit(deps, closed, 'EXCEPTION_FAILED', closed.updatedAt, 'token-warden', { reason: closed.reason ?? '' });
  }
  // A rejection or cancel is closed here whatever became of the route's own record: this one tells the member and
  // the approvers (the notifier's planner sends from the workflow's closing record only).
  if (closed.status === 'REJECTED') {
    const event = closed.reason === 'CANCELLED' ? 'EXCEPTION_CANCELLED' : 'EXCEPTION_REJECTED';
    const details: Record<string, string> =
      event === 'EXCEPTION_REJECTED' ? { outcome: 'REJECTED', reason: closed.reason ?? '' } : {};
    await audit(deps, closed, event, closed.updatedAt, 'token-warden', details, 'closed');
  }
  return { exceptionId: closed.exceptionId, status: closed.status };
}

async function closeApprovals(deps: { store: ExceptionStore }, exception: StoredException) {
  for (const approver of exception.approvers) {
    await deps.store.closeApproval(approvalIdFor(exception.exceptionId, approver));
  }
}

/** Every member holding an active exception now (the scan treats them as exempt). */
export const exceptionHolders = (store: AccessExceptionRepository, clock: Clock) => ({
  activeHolders: () => store.activeExceptionHolders(isoSeconds(clock.now())),
});
