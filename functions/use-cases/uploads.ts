/**
 * Manual issuance: for a service account with `issuance: manual` Token Warden mints nothing at Atlassian (the create
 * route is undocumented). `Mint token` records the generation `AWAITING_UPLOAD`; the workflow then waits on
 * `request-upload`, which emails every admin a single-use, signed, expiring link; the admin creates the token in
 * admin.atlassian.com under the generation's label and pastes its value into the page behind the link, which checks
 * it against Atlassian's list, stages it as `AWSPENDING` and resumes the workflow (verify, promote, as for a minted
 * token).
 *
 * The value exists only in the POST body and in Secrets Manager: it is never logged, stored in a table, put in the
 * workflow state, an email, an event, a page or an error message.
 */
import { UPLOAD_ID } from '../domain/ids';
import { csrfHash, sealTaskToken } from '../domain/links';
import type { UploadInstructions, UploadPageModel } from '../domain/messages';
import { secretNameFor, uploadIdFor } from '../domain/naming';
import { findServiceAccount, type Policy, type ServiceAccount } from '../domain/policy';
import { type Clock, isoSeconds, type Random } from '../domain/ports';
import { type MintRecord, type StoredRequest, tokenAuditRecord, type UploadRecord } from '../domain/records';
import { signingKey, unsealTaskTokenWith, verifyUploadLinkWith } from './link-keys';
import { AtlassianTransientError, AwsTransientError, IssuanceRefusedError } from './port-errors';
import type {
  Atlassian,
  AtlassianApiToken,
  AuditTrail,
  LinkKeyring,
  MintRepository,
  RequestRepository,
  SecretVault,
  TokenRepository,
  UploadRepository,
  WorkflowEngine,
} from './ports';

/** The repositories these use cases read and write. */
export type UploadStore = RequestRepository & TokenRepository & MintRepository & UploadRepository;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** An Atlassian API token as pasted: 1–1024 printable ASCII characters, no spaces. */
export const TOKEN_VALUE = /^[\x21-\x7e]{1,1024}$/;

/** Dependencies of the workflow task `Wait for token upload` (`request-upload`). */
export interface RequestUploadDeps {
  store: UploadStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  clock: Clock;
  policy: Policy;
  /** Seals the workflow task tokens (the link-signing key, one subkey per purpose). */
  linkAndSealKey: LinkKeyring;
}

/** Dependencies of the upload page (`GET`/`POST /uploads/{uploadId}`). */
export interface UploadPageDeps {
  store: UploadStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  vault: SecretVault;
  atlassian: Atlassian;
  clock: Clock;
  random: Random;
  policy: Policy;
  /** Signs the emailed links and seals the workflow task tokens (one subkey per purpose). */
  linkAndSealKey: LinkKeyring;
}

export interface RequestUploadInput {
  tokenId: string;
  generation: number;
  requestId: string;
  taskToken: string;
}

/** The sealed task token is bound to its generation (the AES-GCM associated data). */
const sealContext = (tokenId: string, generation: number) => `upload:${tokenId}:g${generation}`;

/**
 * Workflow task `Wait for token upload` (`.waitForTaskToken`): stores the task token sealed on the generation's mint
 * record and creates one single-use upload link per admin (`notifications.adminEmails`), which the notifier emails
 * each once. Safe to run again: upload ids derive from (token, generation, round, admin), their events from the
 * upload ids, and a generation whose upload already arrived resumes the workflow at once.
 */
export async function requestUpload(deps: RequestUploadDeps, input: RequestUploadInput) {
  const key = await signingKey(deps.linkAndSealKey);
  for (let attempt = 0; attempt < 5; attempt++) {
    const mint = await deps.store.getMint(input.tokenId, input.generation);
    if (!mint) throw new IssuanceRefusedError(`no generation ${input.generation} of ${input.tokenId} to upload`);
    if (mint.state === 'STAGED' || mint.state === 'VERIFIED' || mint.state === 'PROMOTED') {
      // Received while this task was being retried or re-driven: nothing to wait for.
      await deps.workflows.succeed(input.taskToken, {});
      return { state: mint.state, admins: 0 };
    }
    if (mint.state !== 'AWAITING_UPLOAD') {
      throw new IssuanceRefusedError(`generation ${input.generation} of ${input.tokenId} is ${mint.state}`);
    }
    const expiresAt = new Date(deps.clock.now().getTime() + deps.policy.approvalExpiryHours * HOUR);
    const armed = await deps.store.armUploadWait(
      mint.tokenId,
      mint.generation,
      mint.versionId,
      sealTaskToken(key, input.taskToken, sealContext(mint.tokenId, mint.generation)),
      isoSeconds(expiresAt),
    );
    if (!armed) continue;
    const { request } = await loadContext(deps.store, deps.policy, armed);
    const admins = await createUploadLinks(deps, armed, request);
    return { state: armed.state, admins };
  }
  throw new Error(`generation ${input.generation} of ${input.tokenId} kept changing while storing the task token`);
}

async function loadContext(store: UploadStore, policy: Policy, mint: MintRecord) {
  const request = await store.getRequest(mint.requestId);
  if (!request) throw new IssuanceRefusedError(`request ${mint.requestId} does not exist`);
  const account = findServiceAccount(policy, request.serviceAccount);
  if (!account) throw new IssuanceRefusedError(`service account ${request.serviceAccount} is no longer in the policy`);
  return { request, account };
}

export function instructionsFor(
  mint: MintRecord,
  request: StoredRequest,
  account: ServiceAccount,
  now: Date,
): UploadInstructions {
  return {
    purpose:
      mint.generation === 1
        ? `new token for request ${request.requestId} by ${request.requester}`
        : `rotation of token ${mint.tokenId} to generation ${mint.generation}`,
    serviceAccount: account.alias,
    serviceAccountEmail: account.email,
    tokenName: request.name,
    secretName: secretNameFor(request.serviceAccount, request.name),
    label: mint.label,
    scopes: [...request.scopes],
    expiresNotBefore: mint.expiresAt ?? '',
    expiresNotAfter: isoSeconds(latestExpiry(account, now)),
  };
}

/** The latest expiry the policy allows for a token created now. */
const latestExpiry = (account: ServiceAccount, now: Date) => new Date(now.getTime() + account.maxLifetimeDays * DAY);

/**
 * One single-use upload link per admin, each announced by an `UPLOAD_REQUESTED` event from which the notifier emails
 * the admin their signed link once. A retried step finds the links and records the same events again (same ids).
 */
async function createUploadLinks(deps: RequestUploadDeps, mint: MintRecord, request: StoredRequest): Promise<number> {
  const round = mint.round ?? 1;
  const expiresAt = mint.uploadExpiresAt ?? isoSeconds(deps.clock.now());
  for (const admin of deps.policy.notifications.adminEmails) {
    const uploadId = uploadIdFor(mint.tokenId, mint.generation, round, admin);
    await deps.store.createUpload({
      uploadId,
      tokenId: mint.tokenId,
      generation: mint.generation,
      round,
      requestId: mint.requestId,
      admin,
      expiresAt,
      status: 'OPEN',
      csrfHashes: [],
      createdAt: isoSeconds(deps.clock.now()),
    });
    await deps.audit.append(
      tokenAuditRecord(
        { ...mint, correlationId: request.correlationId },
        'UPLOAD_REQUESTED',
        isoSeconds(deps.clock.now()),
        {
          uploadId,
          admin,
          generation: mint.generation,
          expiresAt,
        },
      ),
      `upload-requested:${uploadId}`,
    );
  }
  return deps.policy.notifications.adminEmails.length;
}

/** A page answer: status and model; the HTTP edge renders it. */
export interface UploadPageAnswer {
  status: 200 | 400 | 403 | 409 | 410 | 503;
  model: UploadPageModel;
}

const page = (
  status: UploadPageAnswer['status'],
  title: string,
  message: string,
  extra: Partial<UploadPageModel> = {},
): UploadPageAnswer => ({ status, model: { title, message, ...extra } });

interface CheckedLink {
  upload: UploadRecord;
  mint: MintRecord;
  request: StoredRequest;
  account: ServiceAccount;
  instructions: UploadInstructions;
}

const isPage = (x: CheckedLink | UploadPageAnswer): x is UploadPageAnswer => 'status' in x;

/** The checks GET and POST share. Returns a page when the link cannot upload. */
async function checkLink(
  deps: UploadPageDeps,
  uploadId: string,
  sig: string | undefined,
): Promise<CheckedLink | UploadPageAnswer> {
  const invalid = page(403, 'Link not valid', 'This upload link is not valid.');
  if (!UPLOAD_ID.test(uploadId) || !sig) return invalid;
  const upload = await deps.store.getUpload(uploadId);
  if (!upload) return invalid;
  const check = await verifyUploadLinkWith(deps.linkAndSealKey, uploadId, upload.admin, sig);
  if (!check.valid || isoSeconds(check.expiresAt) !== upload.expiresAt) return invalid;
  const mint = await deps.store.getMint(upload.tokenId, upload.generation);
  const request = await deps.store.getRequest(upload.requestId);
  if (!mint || !request) return invalid;
  if (upload.status === 'USED') {
    return page(409, 'Already used', 'This upload link was already used.');
  }
  const account = findServiceAccount(deps.policy, request.serviceAccount);
  const sameRound = (mint.round ?? 1) === upload.round;
  if (!account || !sameRound || mint.state !== 'AWAITING_UPLOAD' || !(await stillWanted(deps, mint, request))) {
    const received = sameRound && ['STAGED', 'VERIFIED', 'PROMOTED'].includes(mint.state);
    return received
      ? page(409, 'Already received', 'The token for this link was already received. Nothing more is needed.')
      : page(409, 'No longer needed', 'Token Warden is no longer waiting for this upload. Do not create the token.');
  }
  if (deps.clock.now().getTime() >= check.expiresAt.getTime()) {
    return page(410, 'Link expired', 'This upload link has expired. Token Warden asks again when it retries.');
  }
  return { upload, mint, request, account, instructions: instructionsFor(mint, request, account, deps.clock.now()) };
}

/** A first issuance needs its request still approved; a rotation needs its token still live. */
async function stillWanted(deps: UploadPageDeps, mint: MintRecord, request: StoredRequest): Promise<boolean> {
  if (mint.generation === 1) return request.status === 'APPROVED';
  const token = await deps.store.getToken(mint.tokenId);
  return token?.status === 'ACTIVE' || token?.status === 'ROTATING';
}

const formFor = (uploadId: string, sig: string, csrf: string) => ({ action: `/uploads/${uploadId}`, sig, csrf });

/** `GET /uploads/{id}`: shows what to create and the form. Changes nothing but the stored anti-forgery hash. */
export async function showUpload(
  deps: UploadPageDeps,
  uploadId: string,
  sig: string | undefined,
): Promise<UploadPageAnswer> {
  const checked = await checkLink(deps, uploadId, sig);
  if (isPage(checked)) return checked;
  const csrf = deps.random.secret(32);
  if (!(await deps.store.addUploadCsrf(uploadId, csrfHash(csrf), checked.upload.csrfHashes))) {
    return page(409, 'Already used', 'This upload link was already used.');
  }
  return page(
    200,
    'Upload an Atlassian API token',
    `Create this token in admin.atlassian.com, then paste its value below (as ${checked.upload.admin}).`,
    { instructions: checked.instructions, form: formFor(uploadId, sig ?? '', csrf) },
  );
}

/**
 * `POST /uploads/{id}`: receives the token value, once. The link, the anti-forgery value and the value's form are
 * checked first; then Atlassian's list of the service account's tokens must hold exactly one token with the label,
 * expiring no earlier than expected (a day's tolerance) and no later than the policy allows. Only then is the link
 * used, the value staged as `AWSPENDING`, the generation recorded `STAGED` with Atlassian's id and expiry, and the
 * waiting workflow resumed. Any refusal changes nothing.
 */
export async function receiveUpload(
  deps: UploadPageDeps,
  uploadId: string,
  form: URLSearchParams,
): Promise<UploadPageAnswer> {
  const sig = form.get('sig') ?? undefined;
  const checked = await checkLink(deps, uploadId, sig);
  if (isPage(checked)) return checked;
  const csrf = form.get('csrf');
  if (!csrf || !checked.upload.csrfHashes.includes(csrfHash(csrf))) {
    return page(403, 'Form expired', 'This form is not valid any more. Open the link from the email again.');
  }
  const { upload, mint, request, account, instructions } = checked;
  // The page may be submitted again: the same link and anti-forgery value stay valid until an upload is accepted.
  const retry = { instructions, form: formFor(uploadId, sig ?? '', csrf) };
  const value = form.get('token') ?? '';
  if (!TOKEN_VALUE.test(value)) {
    return page(
      400,
      'Token value not valid',
      'The token value must be 1 to 1024 printable characters without spaces. Paste it again.',
      retry,
    );
  }

  let listed: AtlassianApiToken[];
  try {
    listed = await deps.atlassian.listTokens(account.atlassianId);
  } catch (error) {
    if (error instanceof AtlassianTransientError) {
      return page(503, 'Atlassian not available', 'Atlassian did not answer. Nothing was stored; try again.', retry);
    }
    throw error;
  }
  const matches = listed.filter((t) => t.label === mint.label);
  if (matches.length === 0) {
    return page(
      400,
      'Token not found at Atlassian',
      `${account.email} has no API token labelled ${mint.label}. Create it with exactly that label, then submit again.`,
      retry,
    );
  }
  if (matches.length > 1) {
    return page(
      400,
      'More than one token with this label',
      `${account.email} has ${matches.length} API tokens labelled ${mint.label}. Revoke all of them in ` +
        'admin.atlassian.com, create one new token with that label, and submit its value.',
      retry,
    );
  }
  const found = matches[0]!;
  const now = deps.clock.now();
  const expected = Date.parse(mint.expiresAt ?? '');
  const listedExpiry = found.expiry === undefined ? Number.NaN : Date.parse(found.expiry);
  // Atlassian's list documents `expiry` as optional: without it, the expiry asked for is what Token Warden tracks.
  const expiry = Number.isFinite(listedExpiry) ? listedExpiry : expected;
  if (expiry < expected - DAY || expiry > latestExpiry(account, now).getTime() + DAY) {
    return page(
      400,
      'Expiry not accepted',
      `The token labelled ${mint.label} expires ${isoSeconds(new Date(expiry))}, outside the accepted range ` +
        `(${instructions.expiresNotBefore} to ${instructions.expiresNotAfter}). Revoke it in admin.atlassian.com, ` +
        'create a new one with the same label and an expiry in that range, and submit its value.',
      retry,
    );
  }

  const at = isoSeconds(now);
  if (!(await deps.store.claimUpload(uploadId, at))) {
    return page(409, 'Already used', 'This upload link was already used.');
  }
  const secretName = secretNameFor(request.serviceAccount, request.name);
  try {
    await deps.vault.stage(secretName, mint.versionId, value);
  } catch (error) {
    await deps.store.releaseUpload(uploadId, upload.csrfHashes);
    if (error instanceof Error && error.name === 'ResourceExistsException') {
      // The round's version already holds another value: another admin's upload was staged first.
      return page(409, 'Already received', 'Another upload for this token was received first. Nothing more is needed.');
    }
    if (error instanceof AwsTransientError) {
      return page(503, 'Not stored', 'The token could not be stored just now. Nothing was kept; try again.', retry);
    }
    throw error;
  }
  const before = await deps.store.receiveUpload(mint.tokenId, mint.generation, mint.versionId, {
    atlassianTokenId: found.id,
    expiresAt: isoSeconds(new Date(expiry)),
    uploadedBy: upload.admin,
    uploadedAt: at,
  });
  if (!before) {
    // The wait ended (timeout, discard) or another upload won while this one was staged: take ours back out.
    const current = await deps.store.getMint(mint.tokenId, mint.generation);
    if (current?.state === 'DISCARDED' && current.versionId === mint.versionId) {
      await deps.vault.dropPending(secretName, mint.versionId);
    }
    return page(409, 'No longer needed', 'Token Warden stopped waiting for this upload before it arrived.');
  }
  const resumed =
    before.taskTokenSealed !== undefined &&
    (await deps.workflows.succeed(
      await unsealTaskTokenWith(
        deps.linkAndSealKey,
        before.taskTokenSealed,
        sealContext(mint.tokenId, mint.generation),
      ),
      {},
    ));
  await deps.audit.append(
    {
      correlationId: request.correlationId,
      event: 'TOKEN_UPLOADED',
      at,
      actor: upload.admin,
      requestId: request.requestId,
      tokenId: mint.tokenId,
      details: {
        generation: mint.generation,
        label: mint.label,
        atlassianTokenId: found.id,
        expiresAt: isoSeconds(new Date(expiry)),
        resumed,
      },
    },
    `g${mint.generation}r${mint.round ?? 1}`,
  );
  if (!resumed) {
    // The wait timed out between the checks and now: its failure path discards what was staged, and a retry (the
    // sweep, for a rotation) asks again.
    return page(409, 'Too late', 'Token Warden stopped waiting just before this upload arrived; it will ask again.');
  }
  return page(
    200,
    'Token received',
    `Thank you. The token labelled ${mint.label} is stored; Token Warden now verifies it and makes it current.`,
    { instructions },
  );
}
