import { createHash } from 'node:crypto';
import {
  type AccessExceptionRepresentation,
  applyExceptionDecision,
  eligibleExceptionApprovers,
  type StoredException,
  toExceptionRepresentation,
} from '../domain/access-exceptions';
import { conflict, forbidden, notFound, RequestError, validationError } from '../domain/errors';
import { APPROVAL_ID } from '../domain/ids';
import {
  csrfHash,
  sealTaskToken,
  signApprovalLink,
  signedInCsrfHash,
  signInSecrets,
  signSignInState,
} from '../domain/links';
import type { ApprovalPageModel } from '../domain/messages';
import { type Caller, type Decision, type RequestRepresentation, toRequestRepresentation } from '../domain/model';
import { approvalIdFor } from '../domain/naming';
import { findServiceAccount, type Policy } from '../domain/policy';
import { type Clock, isoSeconds, type Random } from '../domain/ports';
import type { ApprovalRecord, StoredRequest } from '../domain/records';
import { applyDecision, eligibleApprovers } from '../domain/requests';
import { readSignInStateWith, signingKey, unsealTaskTokenWith, verifyApprovalLinkWith } from './link-keys';
import { SignInRefused, SignInUnavailable } from './port-errors';
import type {
  AccessExceptionRepository,
  ApprovalRepository,
  ApproverSignIn,
  AuditTrail,
  LinkKeyring,
  OperatorLog,
  PendingSlotRepository,
  RequestRepository,
  WorkflowEngine,
} from './ports';
import { parseLimit } from './requests';

/** The repositories these use cases read and write. */
export type ApprovalStore = RequestRepository & ApprovalRepository & PendingSlotRepository & AccessExceptionRepository;

/** What checking and recording a decision use (the link's page and the console alike). */
export type DecisionDeps = Pick<
  ApprovalPageDeps,
  'store' | 'audit' | 'workflows' | 'clock' | 'policy' | 'linkAndSealKey' | 'log'
>;

/** What the approval page, the decision and the sign-in callback use (they send no mail). */
export interface ApprovalPageDeps {
  store: ApprovalStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  clock: Clock;
  random: Random;
  policy: Policy;
  /** Signs the emailed links and seals the workflow task tokens (one subkey per purpose). */
  linkAndSealKey: LinkKeyring;
  approvalBaseUrl: string;
  /** The identity provider approvers sign in with; required when the policy sets `approverSignIn`. */
  signIn?: ApproverSignIn;
  log: OperatorLog;
}

/** The workflow task `Request approval` uses what the pages do: the notifier emails the links. */
export type ApprovalDeps = ApprovalPageDeps;

/** Path of the sign-in callback (the OpenID Connect redirect URI below the approval base URL). */
export const SIGN_IN_CALLBACK_PATH = '/approvals/sign-in/callback';
/** How long a sign-in may take from the link's page to the callback. */
export const SIGN_IN_MAX_AGE_MS = 15 * 60_000;

/**
 * Workflow task `Request approval`: stores the task token (sealed) and creates one single-use approval per eligible
 * approver, each announced by an event the notifier emails its link from. Safe to run again: approvals are keyed by
 * (request, approver), and the event by the approval.
 */
export async function requestApproval(
  deps: ApprovalDeps,
  input: { requestId: string; taskToken: string } | { exceptionId: string; taskToken: string },
) {
  if ('exceptionId' in input) return requestExceptionApproval(deps, input);
  const key = await signingKey(deps.linkAndSealKey);
  for (let attempt = 0; attempt < 5; attempt++) {
    const request = await deps.store.getRequest(input.requestId);
    if (!request) throw new Error(`request ${input.requestId} does not exist`);
    if (request.status !== 'PENDING_APPROVAL') {
      // Cancelled (or otherwise decided) before the workflow got here: resume at once.
      await deps.store.releasePendingSlot(request.requester, request.requestId);
      const outcome =
        request.status === 'APPROVED' ? 'APPROVED' : request.reason === 'CANCELLED' ? 'CANCELLED' : 'REJECTED';
      await deps.workflows.succeed(input.taskToken, { outcome });
      return { status: request.status };
    }
    const saved = await deps.store.saveRequest({
      ...request,
      taskTokenSealed: sealTaskToken(key, input.taskToken, request.requestId),
    });
    if (!saved) continue;
    await createApprovals(deps, { subjectId: saved.requestId, createdAt: saved.createdAt, approvers: saved.approvers });
    return { status: saved.status, approvers: saved.approvers.length };
  }
  throw new Error(`request ${input.requestId} kept changing while storing the task token`);
}

/**
 * The same step for an access exception: the task token sealed on the exception, one approval per eligible approver
 * (`subject: 'exception'`), each emailed once by the notifier.
 */
async function requestExceptionApproval(deps: ApprovalDeps, input: { exceptionId: string; taskToken: string }) {
  const key = await signingKey(deps.linkAndSealKey);
  for (let attempt = 0; attempt < 5; attempt++) {
    const exception = await deps.store.getException(input.exceptionId);
    if (!exception) throw new Error(`exception ${input.exceptionId} does not exist`);
    if (exception.status !== 'PENDING_APPROVAL') {
      const outcome =
        exception.status === 'APPROVED' ? 'APPROVED' : exception.reason === 'CANCELLED' ? 'CANCELLED' : 'REJECTED';
      await deps.workflows.succeed(input.taskToken, { outcome });
      return { status: exception.status };
    }
    const saved = await deps.store.saveException({
      ...exception,
      taskTokenSealed: sealTaskToken(key, input.taskToken, exception.exceptionId),
    });
    if (!saved) continue;
    await createApprovals(deps, {
      subjectId: saved.exceptionId,
      subject: 'exception',
      createdAt: saved.createdAt,
      approvers: saved.approvers,
    });
    return { status: saved.status, approvers: saved.approvers.length };
  }
  throw new Error(`exception ${input.exceptionId} kept changing while storing the task token`);
}

/**
 * One single-use approval per approver of a request or an exception (`subject`), each announced by an
 * `APPROVAL_REQUESTED` event, from which the notifier emails the approver their signed link once.
 */
async function createApprovals(
  deps: ApprovalDeps,
  target: { subjectId: string; subject?: 'exception'; createdAt: string; approvers: readonly string[] },
) {
  const expiresAt = new Date(Date.parse(target.createdAt) + deps.policy.approvalExpiryHours * 3_600_000);
  for (const approver of target.approvers) {
    const approvalId = approvalIdFor(target.subjectId, approver);
    await deps.store.createApproval({
      approvalId,
      requestId: target.subjectId,
      ...(target.subject ? { subject: target.subject } : {}),
      approver,
      expiresAt: isoSeconds(expiresAt),
      status: 'OPEN',
      csrfHashes: [],
      createdAt: isoSeconds(deps.clock.now()),
    });
    // The notifier emails the approver their link from this event; a retried step records it again (same id).
    await deps.audit.append(
      {
        correlationId: target.subjectId,
        event: 'APPROVAL_REQUESTED',
        at: isoSeconds(deps.clock.now()),
        actor: 'token-warden',
        requestId: target.subjectId,
        details: { approvalId, approver, subject: target.subject ?? 'request', expiresAt: isoSeconds(expiresAt) },
      },
      `approval-requested:${approvalId}`,
    );
  }
}

/** A page answer: status and model; the HTTP edge renders it. */
export interface PageAnswer {
  status: 200 | 400 | 403 | 409 | 410 | 503;
  model: ApprovalPageModel;
  /** Where the subject stands after a recorded decision. */
  outcome?: 'PENDING' | 'APPROVED' | 'REJECTED';
}

/**
 * Approver sign-in begins: send the browser to `location`, remembering `browserBinding` (in an HttpOnly cookie
 * named for the approval) until the identity provider sends it back to the callback.
 */
export interface SignInRedirect {
  status: 302;
  location: string;
  browserBinding: string;
  model: ApprovalPageModel;
}

/** The cookie that carries a sign-in's browser binding. */
export const signInCookieName = (approvalId: string) => `tw_sign_in_${approvalId}`;

/** Titles of the refusals the console answers differently from the link's page. */
const LINK_NOT_VALID = 'Link not valid';
const LINK_EXPIRED = 'Link expired';

const page = (
  status: PageAnswer['status'],
  title: string,
  message: string,
  extra: Partial<ApprovalPageModel> = {},
) => ({
  status,
  model: { title, message, ...extra },
});

interface CheckedLink {
  approval: ApprovalRecord;
  request: StoredRequest;
}

interface CheckedExceptionLink {
  approval: ApprovalRecord;
  exception: StoredException;
}

type Checked = CheckedLink | CheckedExceptionLink;

/** The checks GET and POST share. Returns a page when the link cannot decide. */
async function checkLink(
  deps: ApprovalPageDeps,
  approvalId: string,
  sig: string | undefined,
): Promise<Checked | PageAnswer> {
  const invalid = page(403, 'Link not valid', 'This approval link is not valid.');
  if (!APPROVAL_ID.test(approvalId) || !sig) return invalid;
  const approval = await deps.store.getApproval(approvalId);
  if (!approval) return invalid;
  const check = await verifyApprovalLinkWith(deps.linkAndSealKey, approvalId, approval.approver, sig);
  if (!check.valid || isoSeconds(check.expiresAt) !== approval.expiresAt) return invalid;
  return checkApproval(deps, approval, check.expiresAt);
}

/**
 * Whether `approval` can still decide, whoever presents it (the emailed link once its signature checked out, the
 * console once the signed-in approver is its approver): never the requester, only an approver of the policy of now,
 * once, while its subject is pending and before `expiresAt`. Returns a page when it cannot.
 */
async function checkApproval(
  deps: DecisionDeps,
  approval: ApprovalRecord,
  expiresAt: Date,
): Promise<Checked | PageAnswer> {
  if (approval.subject === 'exception') return checkExceptionLink(deps, approval, expiresAt);
  const request = await deps.store.getRequest(approval.requestId);
  if (!request) return page(403, LINK_NOT_VALID, 'This approval link is not valid.');
  if (request.requester === approval.approver) {
    return page(403, 'Not allowed', 'You cannot decide on your own request.', { request });
  }
  // The policy of now decides who may approve: an approver removed since the links went out decides nothing.
  const account = findServiceAccount(deps.policy, request.serviceAccount);
  if (!account || !eligibleApprovers(account, request.requester).includes(approval.approver.toLowerCase())) {
    return page(
      403,
      'Not allowed',
      `You are no longer an approver of ${request.serviceAccount}. Nothing was recorded.`,
    );
  }
  if (approval.status === 'DECIDED') {
    return page(409, 'Already decided', `You already decided: ${approval.decision ?? 'unknown'}.`, { request });
  }
  if (request.status !== 'PENDING_APPROVAL' || approval.status === 'CLOSED') {
    return page(409, 'Request already decided', `This request is ${request.status}.`, { request });
  }
  if (deps.clock.now().getTime() >= expiresAt.getTime()) {
    return page(410, LINK_EXPIRED, 'This approval link has expired.', { request });
  }
  return { approval, request };
}

/** {@link checkApproval} for an access exception's approval: the same refusals, worded for the exception. */
async function checkExceptionLink(
  deps: DecisionDeps,
  approval: ApprovalRecord,
  expiresAt: Date,
): Promise<CheckedExceptionLink | PageAnswer> {
  const stored = await deps.store.getException(approval.requestId);
  if (!stored) return page(403, LINK_NOT_VALID, 'This approval link is not valid.');
  const exception = toExceptionRepresentation(stored);
  if (stored.member === approval.approver.toLowerCase()) {
    return page(403, 'Not allowed', 'You cannot decide on your own access exception.', { exception });
  }
  if (!eligibleExceptionApprovers(deps.policy, stored.member).includes(approval.approver.toLowerCase())) {
    return page(403, 'Not allowed', 'You are no longer an approver of access exceptions. Nothing was recorded.');
  }
  if (approval.status === 'DECIDED') {
    return page(409, 'Already decided', `You already decided: ${approval.decision ?? 'unknown'}.`, { exception });
  }
  if (stored.status !== 'PENDING_APPROVAL' || approval.status === 'CLOSED') {
    return page(409, 'Exception already decided', `This access exception is ${stored.status}.`, { exception });
  }
  if (deps.clock.now().getTime() >= expiresAt.getTime()) {
    return page(410, LINK_EXPIRED, 'This approval link has expired.', { exception });
  }
  return { approval, exception: stored };
}

const isPage = (x: Checked | PageAnswer): x is PageAnswer => 'status' in x;

/** The page's subject: the request, or the exception's representation. */
const subjectOf = (checked: Checked): Partial<ApprovalPageModel> =>
  'exception' in checked ? { exception: toExceptionRepresentation(checked.exception) } : { request: checked.request };

const pageTitle = (checked: Checked) =>
  'exception' in checked ? 'Approve access exception?' : 'Approve token request?';

/** Before a verified sign-in, a page says what happened but shows nothing of the request. */
const withoutRequest = ({
  status,
  model: { request: _request, exception: _exception, ...model },
}: PageAnswer): PageAnswer => ({
  status,
  model,
});

/**
 * `GET /approvals/{id}`: shows the request and a form. Decides nothing. When the policy sets `approverSignIn`, it
 * shows nothing of the request yet and sends the approver to the identity provider instead.
 */
export async function showApproval(
  deps: ApprovalPageDeps,
  approvalId: string,
  sig: string | undefined,
): Promise<PageAnswer | SignInRedirect> {
  const checked = await checkLink(deps, approvalId, sig);
  if (isPage(checked)) return deps.policy.approverSignIn ? withoutRequest(checked) : checked;
  if (deps.policy.approverSignIn) return beginSignIn(deps, checked.approval);
  const csrf = deps.random.secret(32);
  if (!(await deps.store.addApprovalCsrf(approvalId, csrfHash(csrf), checked.approval.csrfHashes))) {
    return page(409, 'Request already decided', 'This approval is no longer open.', subjectOf(checked));
  }
  return page(200, pageTitle(checked), `You are asked to approve as ${checked.approval.approver}.`, {
    ...subjectOf(checked),
    form: { action: `/approvals/${approvalId}`, sig: sig ?? '', csrf },
  });
}

const callbackUrl = (deps: ApprovalPageDeps) => `${deps.approvalBaseUrl.replace(/\/+$/, '')}${SIGN_IN_CALLBACK_PATH}`;

function requireSignIn(deps: ApprovalPageDeps): ApproverSignIn {
  if (!deps.signIn) throw new Error('the policy requires approver sign-in but no identity provider is configured');
  return deps.signIn;
}

async function beginSignIn(deps: ApprovalPageDeps, approval: ApprovalRecord): Promise<PageAnswer | SignInRedirect> {
  const signIn = requireSignIn(deps);
  const key = await signingKey(deps.linkAndSealKey);
  const browserBinding = deps.random.secret(32);
  const state = signSignInState(key, approval.approvalId, deps.clock.now(), deps.random.secret(18));
  const { codeChallenge, nonce } = signInSecrets(key, state, browserBinding);
  let location: string;
  try {
    location = await signIn.authorizationUrl({
      redirectUri: callbackUrl(deps),
      state,
      nonce,
      codeChallenge,
      loginHint: approval.approver,
    });
  } catch (error) {
    if (error instanceof SignInUnavailable) return signInUnavailable(error);
    throw error;
  }
  return {
    status: 302,
    location,
    browserBinding,
    model: {
      title: 'Sign in to decide',
      message: `Sign in as ${approval.approver} to see the request and decide.`,
      link: { href: location, text: 'Continue to sign in' },
    },
  };
}

const signInUnavailable = (error: Error): PageAnswer =>
  page(
    503,
    'Sign-in unavailable',
    `Signing in is not possible right now (${error.message}). Try the link again later.`,
  );

/** The query of `GET /approvals/sign-in/callback` as the identity provider sends it. */
export interface SignInCallback {
  state?: string | undefined;
  code?: string | undefined;
  error?: string | undefined;
}

/**
 * `GET /approvals/sign-in/callback`: redeems the code (PKCE), verifies the ID token and, when the signed-in email
 * is the link's approver and the link can still decide, shows the request with a form whose anti-forgery value
 * is bound to that sign-in. Decides nothing.
 */
export async function completeSignIn(
  deps: ApprovalPageDeps,
  query: SignInCallback,
  browserBinding: string | undefined,
): Promise<PageAnswer> {
  const signIn = requireSignIn(deps);
  const retry = 'Open the link from the email again.';
  if (!query.state) return page(400, 'Sign-in not valid', `The sign-in answer has no state. ${retry}`);
  // A sign-in begun just before a rotation comes back signed with the previous key: its PKCE verifier and nonce
  // are derived with that key too.
  const state = await readSignInStateWith(deps.linkAndSealKey, query.state);
  if (!state) return page(403, 'Sign-in not valid', `This sign-in answer is not valid. ${retry}`);
  const age = deps.clock.now().getTime() - state.issuedAt.getTime();
  if (age > SIGN_IN_MAX_AGE_MS || age < -60_000)
    return page(410, 'Sign-in expired', `This sign-in took too long. ${retry}`);
  if (query.error !== undefined) {
    const reason = /^[a-z_]{1,40}$/.test(query.error) ? ` (${query.error})` : '';
    return page(403, 'Not signed in', `The identity provider did not sign you in${reason}. No decision was recorded.`);
  }
  if (!query.code || query.code.length > 2048) {
    return page(400, 'Sign-in not valid', `The sign-in answer has no valid code. ${retry}`);
  }
  if (!browserBinding) {
    return page(403, 'Sign-in not valid', `This sign-in was started in another browser. ${retry}`);
  }
  const approval = await deps.store.getApproval(state.approvalId);
  if (!approval) return page(403, 'Link not valid', 'This approval link is not valid.');
  // The link's signature is derived, not carried through the provider: the state already names the approval.
  const sig = signApprovalLink(state.key, approval.approvalId, approval.approver, new Date(approval.expiresAt));
  const checked = await checkLink(deps, approval.approvalId, sig);
  if (isPage(checked)) return withoutRequest(checked);
  const { codeVerifier, nonce } = signInSecrets(state.key, query.state, browserBinding);
  let email: string;
  try {
    ({ email } = await signIn.complete({ code: query.code, redirectUri: callbackUrl(deps), codeVerifier, nonce }));
  } catch (error) {
    if (error instanceof SignInRefused) {
      return page(403, 'Sign-in not accepted', `${error.message}. No decision was recorded. ${retry}`);
    }
    if (error instanceof SignInUnavailable) return signInUnavailable(error);
    throw error;
  }
  if (email !== approval.approver.toLowerCase()) {
    deps.log.warn('approver sign-in by another identity refused', { approvalId: approval.approvalId });
    return page(
      403,
      'Signed in as someone else',
      `You signed in as ${email}, but this link was sent to another approver. No decision was recorded.`,
    );
  }
  const csrf = deps.random.secret(32);
  if (!(await deps.store.addApprovalCsrf(approval.approvalId, signedInCsrfHash(csrf, email), approval.csrfHashes))) {
    return page(409, 'Request already decided', 'This approval is no longer open.', subjectOf(checked));
  }
  return page(200, pageTitle(checked), `You are signed in as ${approval.approver}.`, {
    ...subjectOf(checked),
    form: { action: `/approvals/${approval.approvalId}`, sig, csrf },
  });
}

/** `POST /approvals/{id}`: records one approver's decision, once. Quorum resumes the workflow; one reject ends it. */
export async function decideApproval(
  deps: ApprovalPageDeps,
  approvalId: string,
  form: URLSearchParams,
): Promise<PageAnswer> {
  const rawDecision = form.get('decision');
  if (rawDecision !== 'approve' && rawDecision !== 'reject') {
    throw new RequestError('VALIDATION_ERROR', "decision must be 'approve' or 'reject'", 'decision');
  }
  const decision: Decision = rawDecision === 'approve' ? 'APPROVED' : 'REJECTED';
  const checked = await checkLink(deps, approvalId, form.get('sig') ?? undefined);
  if (isPage(checked)) return checked;
  const csrf = form.get('csrf');
  // Where sign-in is required, only a value issued after the approver's verified sign-in counts.
  const expected = (value: string) =>
    deps.policy.approverSignIn ? signedInCsrfHash(value, checked.approval.approver) : csrfHash(value);
  if (!csrf || !checked.approval.csrfHashes.includes(expected(csrf))) {
    return page(
      403,
      'Form expired',
      'This form is not valid any more. Open the link from the email again.',
      subjectOf(checked),
    );
  }
  return recordDecision(deps, checked, decision, 'link');
}

/**
 * Records the decision of an approval {@link checkApproval} let through, once: the approval is used up, the decision
 * applied to its request (or exception) and audited (`via: 'console'` for a decision made in the console); quorum
 * resumes the workflow, one reject ends it. A page says what happened.
 */
async function recordDecision(
  deps: DecisionDeps,
  checked: Checked,
  decision: Decision,
  via: 'link' | 'console',
): Promise<PageAnswer> {
  const approvalId = checked.approval.approvalId;
  const at = isoSeconds(deps.clock.now());
  if (!(await deps.store.decideApproval(approvalId, decision, at))) {
    return page(409, 'Already decided', 'This approval link was already used.', subjectOf(checked));
  }
  const how = {
    ...(deps.policy.approverSignIn ? { signedIn: true } : {}),
    ...(via === 'console' ? { via } : {}),
  };
  if ('exception' in checked) return decideException(deps, checked, decision, at, how);
  const approver = checked.approval.approver;
  for (let attempt = 0; attempt < 10; attempt++) {
    const request = await deps.store.getRequest(checked.approval.requestId);
    if (request?.status !== 'PENDING_APPROVAL') {
      // Another decision won: this one never counted, so the link must not claim it did.
      await deps.store.supersedeApproval(approvalId);
      if (request) await deps.store.releasePendingSlot(request.requester, request.requestId);
      return page(409, 'Request already decided', `This request is ${request?.status ?? 'gone'}.`, {
        ...(request ? { request } : {}),
      });
    }
    const applied = applyDecision(request, approver, decision, deps.clock.now());
    const saved = await deps.store.saveRequest({ ...request, ...applied.request });
    if (!saved) continue;
    await deps.audit.append(
      {
        correlationId: saved.correlationId,
        event: decision,
        at,
        actor: approver,
        requestId: saved.requestId,
        details: {
          outcome: applied.outcome,
          // How long the request waited for this decision (the decision-latency metric).
          pendingSeconds: Math.max(0, Math.round((Date.parse(at) - Date.parse(saved.createdAt)) / 1000)),
          ...how,
        },
      },
      createHash('sha256').update(approver).digest('hex').slice(0, 16),
    );
    if (applied.outcome !== 'PENDING') {
      await deps.store.releasePendingSlot(saved.requester, saved.requestId);
      await resumeWorkflow(deps, saved, applied.outcome);
    }
    const message =
      applied.outcome === 'PENDING'
        ? 'Your approval was recorded. More approvals are needed.'
        : applied.outcome === 'APPROVED'
          ? 'Your approval was recorded. The request is approved and the token is being issued.'
          : 'Your rejection was recorded. The request is rejected.';
    return { ...page(200, 'Decision recorded', message, { request: saved }), outcome: applied.outcome };
  }
  throw new RequestError('CONFLICT', 'request changed concurrently; retry');
}

/** The decision on an access exception: recorded once; quorum or a reject resumes the exception workflow. */
async function decideException(
  deps: DecisionDeps,
  checked: CheckedExceptionLink,
  decision: Decision,
  at: string,
  how: Record<string, unknown>,
): Promise<PageAnswer> {
  const { approval } = checked;
  for (let attempt = 0; attempt < 10; attempt++) {
    const exception = await deps.store.getException(approval.requestId);
    if (exception?.status !== 'PENDING_APPROVAL') {
      await deps.store.supersedeApproval(approval.approvalId);
      return page(409, 'Exception already decided', `This access exception is ${exception?.status ?? 'gone'}.`, {
        ...(exception ? { exception: toExceptionRepresentation(exception) } : {}),
      });
    }
    const applied = applyExceptionDecision(exception, approval.approver, decision, deps.clock.now());
    const saved = await deps.store.saveException(applied.exception);
    if (!saved) continue;
    await deps.audit.append(
      {
        correlationId: saved.correlationId,
        event: decision === 'APPROVED' ? 'EXCEPTION_APPROVED' : 'EXCEPTION_REJECTED',
        at,
        actor: approval.approver,
        requestId: saved.exceptionId,
        details: {
          exceptionId: saved.exceptionId,
          member: saved.member,
          outcome: applied.outcome,
          ...how,
        },
      },
      createHash('sha256').update(approval.approver).digest('hex').slice(0, 16),
    );
    if (applied.outcome !== 'PENDING' && saved.taskTokenSealed) {
      const taskToken = await unsealTaskTokenWith(deps.linkAndSealKey, saved.taskTokenSealed, saved.exceptionId);
      await deps.workflows.succeed(taskToken, { outcome: applied.outcome });
    } else if (applied.outcome !== 'PENDING') {
      deps.log.warn('decided exception has no stored task token', { exceptionId: saved.exceptionId });
    }
    const message =
      applied.outcome === 'PENDING'
        ? 'Your approval was recorded. More approvals are needed.'
        : applied.outcome === 'APPROVED'
          ? 'Your approval was recorded. The exception is approved and the member is being moved into the allow policy.'
          : 'Your rejection was recorded. The exception is rejected.';
    return {
      ...page(200, 'Decision recorded', message, { exception: toExceptionRepresentation(saved) }),
      outcome: applied.outcome,
    };
  }
  throw new RequestError('CONFLICT', 'exception changed concurrently; retry');
}

async function resumeWorkflow(deps: DecisionDeps, request: StoredRequest, outcome: 'APPROVED' | 'REJECTED') {
  if (!request.taskTokenSealed) {
    deps.log.warn('decided request has no stored task token', { requestId: request.requestId });
    return;
  }
  const taskToken = await unsealTaskTokenWith(deps.linkAndSealKey, request.taskTokenSealed, request.requestId);
  if (!(await deps.workflows.succeed(taskToken, { outcome }))) {
    // The execution was re-driven and stored a new token meanwhile: use the newest one.
    const fresh = await deps.store.getRequest(request.requestId);
    if (fresh?.taskTokenSealed && fresh.taskTokenSealed !== request.taskTokenSealed) {
      await deps.workflows.succeed(
        await unsealTaskTokenWith(deps.linkAndSealKey, fresh.taskTokenSealed, request.requestId),
        {
          outcome,
        },
      );
    }
  }
}

// ---- the console: the signed-in approver decides over the API, with the link's rules

/** The decision the console posts: `{"decision": "approve" | "reject"}`. */
export function parseConsoleDecision(body: unknown): Decision {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw validationError(undefined, 'body must be a JSON object');
  }
  const unknown = Object.keys(body).find((k) => k !== 'decision');
  if (unknown !== undefined) throw validationError(unknown, `unknown property '${unknown}'`);
  const { decision } = body as { decision?: unknown };
  if (decision !== 'approve' && decision !== 'reject') {
    throw validationError('decision', "decision must be 'approve' or 'reject'");
  }
  return decision === 'approve' ? 'APPROVED' : 'REJECTED';
}

/** The subject of an approval as the console shows it: the request's or the exception's representation. */
type ConsoleSubject = { request: RequestRepresentation } | { exception: AccessExceptionRepresentation };

const consoleSubject = (checked: Checked): ConsoleSubject =>
  'exception' in checked
    ? { exception: toExceptionRepresentation(checked.exception) }
    : { request: toRequestRepresentation(checked.request) };

/** The caller's own approval; anyone else's, or an unknown id, is not found. */
async function ownApproval(deps: DecisionDeps, caller: Caller, approvalId: string): Promise<ApprovalRecord> {
  const approval = APPROVAL_ID.test(approvalId) ? await deps.store.getApproval(approvalId) : undefined;
  if (!approval || approval.approver.toLowerCase() !== caller.email) throw notFound('approval not found');
  return approval;
}

/** When the approval stops deciding; an unreadable expiry counts as past (it never decides forever). */
function expiryOf(approval: ApprovalRecord): Date {
  const at = new Date(approval.expiresAt);
  return Number.isNaN(at.getTime()) ? new Date(0) : at;
}

/** A refusal of the link's checks as the API answers it. */
function refusal(answer: PageAnswer): RequestError {
  if (answer.model.title === LINK_NOT_VALID) return notFound('approval not found');
  if (answer.status === 410 || answer.model.title === LINK_EXPIRED) {
    return new RequestError('GONE', 'this approval has expired');
  }
  if (answer.status === 409) return conflict(answer.model.message);
  return forbidden(answer.model.message);
}

/**
 * `GET /approvals?status=pending`: one page of the caller's own approvals that can still decide (open, not expired,
 * the subject still pending, the caller still an approver of it), newest first; `nextToken` continues it. Approvals
 * that can no longer decide are skipped, reading on (a few store pages at most) until `limit` passed.
 */
export async function listPendingApprovals(
  deps: DecisionDeps,
  caller: Caller,
  query: Record<string, string | undefined>,
) {
  const unknown = Object.keys(query).find((k) => k !== 'status' && k !== 'limit' && k !== 'nextToken');
  if (unknown !== undefined) throw validationError(unknown, `unknown query parameter '${unknown}'`);
  if (query.status !== 'pending') throw validationError('status', "status is required and must be 'pending'");
  const limit = parseLimit(query.limit);
  const nowIso = isoSeconds(deps.clock.now());
  const items = [];
  let nextToken = query.nextToken;
  for (let round = 0; round < 5 && items.length < limit; round++) {
    // Each store page asks for no more than are still missing, so its token resumes right after the last one read.
    const page = await deps.store.listOpenApprovals({
      approver: caller.email,
      nowIso,
      limit: limit - items.length,
      ...(nextToken !== undefined ? { nextToken } : {}),
    });
    for (const approval of page.items) {
      const checked = await checkApproval(deps, approval, expiryOf(approval));
      if (isPage(checked)) continue;
      items.push({ approvalId: approval.approvalId, expiresAt: approval.expiresAt, ...consoleSubject(checked) });
    }
    nextToken = page.nextToken;
    if (nextToken === undefined) break;
  }
  return { items, ...(nextToken !== undefined ? { nextToken } : {}) };
}

/**
 * `GET /approvals/{approvalId}/request`: the request (or access exception) behind one of the caller's own approvals,
 * with the approval's status; another person's approval is not found.
 */
export async function getApprovalSubject(deps: DecisionDeps, caller: Caller, approvalId: string) {
  const approval = await ownApproval(deps, caller, approvalId);
  const view = {
    approvalId: approval.approvalId,
    status: approval.status,
    expiresAt: approval.expiresAt,
    ...(approval.decision ? { decision: approval.decision } : {}),
    ...(approval.decidedAt ? { decidedAt: approval.decidedAt } : {}),
  };
  if (approval.subject === 'exception') {
    const exception = await deps.store.getException(approval.requestId);
    if (!exception) throw notFound('approval not found');
    return { ...view, exception: toExceptionRepresentation(exception) };
  }
  const request = await deps.store.getRequest(approval.requestId);
  if (!request) throw notFound('approval not found');
  return { ...view, request: toRequestRepresentation(request) };
}

/**
 * `POST /approvals/{approvalId}/decision`: the signed-in approver decides on their own approval with every rule of
 * the emailed link (the JWT's identity takes the place of the link's signature and anti-forgery value): never the
 * requester (403), only a current approver (403), once (409), while the subject is pending (409), before expiry (410).
 * Quorum resumes the workflow; one reject ends it. Audited as a link decision, with `via: "console"`.
 */
export async function decideAsApprover(deps: DecisionDeps, caller: Caller, approvalId: string, body: unknown) {
  const decision = parseConsoleDecision(body);
  const approval = await ownApproval(deps, caller, approvalId);
  const checked = await checkApproval(deps, approval, expiryOf(approval));
  if (isPage(checked)) throw refusal(checked);
  const answer = await recordDecision(deps, checked, decision, 'console');
  if (answer.status !== 200 || answer.outcome === undefined) throw refusal(answer);
  const subject: ConsoleSubject = answer.model.exception
    ? { exception: answer.model.exception }
    : answer.model.request
      ? { request: toRequestRepresentation(answer.model.request) }
      : consoleSubject(checked);
  return { approvalId: approval.approvalId, decision, outcome: answer.outcome, ...subject };
}
