/**
 * The ports the use cases depend on: what they need from storage, mail, workflows, secrets, Atlassian and the
 * identity provider, in their own terms. Adapters (`functions/adapters/*`) implement these; the composition roots
 * (`functions/composition/*`) build the adapters and hand them to the use cases. Failures a use case must tell
 * apart arrive as the errors of `./port-errors`. Time and randomness are the domain's own ports
 * (`../domain/ports`).
 */

import type { StoredException } from '../domain/access-exceptions';
import type { LinkKeys } from '../domain/links';
import type { RequestStatus, TokenStatus } from '../domain/model';
import type { PersonalTokenFlag, PersonalTokenState, ScanRecord, StoredPersonalToken } from '../domain/personal-tokens';
import type {
  ApprovalRecord,
  AuditRecord,
  MintRecord,
  NameLock,
  Page,
  PendingSlots,
  SlotReservation,
  StoredRequest,
  StoredToken,
  UploadRecord,
} from '../domain/records';
import type { NameBinding } from '../domain/requests';

// ---- repositories: one per aggregate

/** Token requests. */
export interface RequestRepository {
  /** The request, or undefined if there is none. */
  getRequest(requestId: string): Promise<StoredRequest | undefined>;
  /** Creates the request; false if one with this id exists already. */
  createRequest(request: StoredRequest): Promise<boolean>;
  /** Saves `request` if nobody changed it since `request.version`; the saved record, or undefined on conflict. */
  saveRequest(request: StoredRequest): Promise<StoredRequest | undefined>;
  /**
   * One page of requests, newest first: one requester's, or everyone's; only those in `status` and of
   * `serviceAccount` when given (such a page may be short, or empty, and still carry `nextToken`).
   */
  listRequests(opts: {
    requester?: string;
    status?: RequestStatus;
    serviceAccount?: string;
    limit: number;
    nextToken?: string;
  }): Promise<Page<StoredRequest>>;
}

/** Approvers' single-use approval links. */
export interface ApprovalRepository {
  /** The approval, or undefined if there is none. */
  getApproval(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Creates the approval; false if it exists already. */
  createApproval(approval: ApprovalRecord): Promise<boolean>;
  /** Remembers an anti-forgery value handed out with a page (keeps the latest five); false if no longer open. */
  addApprovalCsrf(approvalId: string, csrfHash: string, previous: string[]): Promise<boolean>;
  /** Marks an open approval decided (single use); false if it was used or closed meanwhile. */
  decideApproval(approvalId: string, decision: 'APPROVED' | 'REJECTED', at: string): Promise<boolean>;
  /** Takes back a decision that lost the race to another one; false if it was not decided. */
  supersedeApproval(approvalId: string): Promise<boolean>;
  /** Closes a still-open approval (the request was decided or expired); false if it was not open. */
  closeApproval(approvalId: string): Promise<boolean>;
  /** One page of `approver`'s approvals still open and not expired at `nowIso`, newest first. */
  listOpenApprovals(opts: {
    approver: string;
    nowIso: string;
    limit: number;
    nextToken?: string;
  }): Promise<Page<ApprovalRecord>>;
}

/** Issued tokens. */
export interface TokenRepository {
  /** The token, or undefined if there is none. */
  getToken(tokenId: string): Promise<StoredToken | undefined>;
  /** Creates the token; false if one with this id exists already. */
  createToken(token: StoredToken): Promise<boolean>;
  /** Saves `token` if nobody changed it since `token.version`; the saved record, or undefined on conflict. */
  saveToken(token: StoredToken): Promise<StoredToken | undefined>;
  /**
   * One page of tokens, newest first: one owner's, or everyone's; only those in `status` and of `serviceAccount`
   * when given (such a page may be short, or empty, and still carry `nextToken`).
   */
  listTokens(opts: {
    owner?: string;
    status?: TokenStatus;
    serviceAccount?: string;
    limit: number;
    nextToken?: string;
  }): Promise<Page<StoredToken>>;
  /** Tokens whose rotation is due by `nowIso`, oldest first. */
  listDueTokens(nowIso: string, limit: number, nextToken?: string): Promise<Page<StoredToken>>;
  /** Every token record. */
  allTokens(): Promise<StoredToken[]>;
}

/** Generations of a token, tracked from mint (or upload) to promotion or discard. */
export interface MintRepository {
  /** The generation, or undefined if there is none. */
  getMint(tokenId: string, generation: number): Promise<MintRecord | undefined>;
  /** Writes the generation as given (last writer wins). */
  putMint(mint: MintRecord): Promise<void>;
  /** Stores the sealed task token of a generation awaiting upload into `versionId`; undefined if no longer so. */
  armUploadWait(
    tokenId: string,
    generation: number,
    versionId: string,
    taskTokenSealed: string,
    uploadExpiresAt: string,
  ): Promise<MintRecord | undefined>;
  /** `AWAITING_UPLOAD` → `STAGED` with what Atlassian lists; the record as it was before, or undefined if not awaiting. */
  receiveUpload(
    tokenId: string,
    generation: number,
    versionId: string,
    fields: { atlassianTokenId: string; expiresAt: string; uploadedBy: string; uploadedAt: string },
  ): Promise<MintRecord | undefined>;
  /** Closes a generation still awaiting its upload (→ `DISCARDED`); false if an upload won the race. */
  closeUploadWait(tokenId: string, generation: number, versionId: string): Promise<boolean>;
}

/** Admins' single-use upload links of manually issued generations. */
export interface UploadRepository {
  /** The upload link, or undefined if there is none. */
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /** Creates the upload link; false if it exists (a retried step reuses it). */
  createUpload(upload: UploadRecord): Promise<boolean>;
  /** Remembers an anti-forgery value handed out with the page (keeps the latest five); false if used. */
  addUploadCsrf(uploadId: string, csrfHash: string, previous: string[]): Promise<boolean>;
  /** Uses an open upload link (single use); false if it was used meanwhile. */
  claimUpload(uploadId: string, at: string): Promise<boolean>;
  /** Gives a claimed link back (storing its upload failed before anything was recorded); false if not claimed. */
  releaseUpload(uploadId: string, csrfHashes: string[]): Promise<boolean>;
}

/** Locks on service-account token names: one live token (or pending request) per name. */
export interface NameLockRepository {
  /** Takes the lock for `requestId`; undefined when taken, else the lock as someone else holds it. */
  acquireName(
    alias: string,
    name: string,
    requestId: string,
    opts?: { owner?: string; replacing?: string; bound?: NameBinding },
  ): Promise<NameLock | undefined>;
  /** Marks the lock released if `requestId` holds it (the name stays bound to its owner for a while). */
  releaseName(alias: string, name: string, requestId: string): Promise<void>;
}

/** Each member's pending-request slots (at most the policy's `maxPendingRequestsPerMember`). */
export interface PendingSlotRepository {
  /** Takes a slot for `requestId` among `member`'s at most `max`; who holds them all when none is left. */
  reservePendingSlot(member: string, requestId: string, at: string, max: number): Promise<SlotReservation>;
  /** Gives `requestId`'s slot back (idempotent). */
  releasePendingSlot(member: string, requestId: string): Promise<void>;
}

/** What {@link DeliveryLeases.leaseDelivery} found. */
export type DeliveryLease = 'claimed' | 'done' | 'in-flight';

/**
 * One-time deliveries that survive a crash: a delivery is leased before it goes out and confirmed after, so an
 * attempt that died between the two (its lease ran out unconfirmed) is taken over, never silently skipped.
 */
export interface DeliveryLeases {
  /**
   * Leases the delivery until `at + leaseSeconds`: `claimed` (never leased, or an earlier lease ran out unconfirmed),
   * `done` (confirmed before), or `in-flight` (another attempt holds a live lease: try again after it).
   */
  leaseDelivery(markerId: string, at: Date, leaseSeconds: number): Promise<DeliveryLease>;
  /** The delivery went out (or was refused for good): it is never made again. */
  confirmDelivery(markerId: string): Promise<void>;
  /** Gives the lease back (sending failed and will be retried). */
  releaseNotification(markerId: string): Promise<void>;
}

/** The latest drift report of the periodic inventory. */
export interface DriftReports {
  /** The latest report, or undefined before the first inventory. */
  getDriftReport(): Promise<Record<string, unknown> | undefined>;
  /** Replaces the latest report. */
  putDriftReport(report: Record<string, unknown>): Promise<void>;
}

/** Members' personal tokens as the scans recorded them (`PT#<atlassianTokenId>`). */
export interface PersonalTokenRepository {
  /** The record, or undefined if there is none. */
  getPersonalToken(atlassianTokenId: string): Promise<StoredPersonalToken | undefined>;
  /** The records of these ids that exist (read consistently, in batches). */
  getPersonalTokens(atlassianTokenIds: readonly string[]): Promise<Map<string, StoredPersonalToken>>;
  /** Creates the record; false if one with this id exists already. */
  createPersonalToken(record: StoredPersonalToken): Promise<boolean>;
  /** Saves `record` if nobody changed it since `record.version`; the saved record, or undefined on conflict. */
  savePersonalToken(record: StoredPersonalToken): Promise<StoredPersonalToken | undefined>;
  /** One page of records, newest first: one owner's, or everyone's; optionally only one state or flag. */
  listPersonalTokens(opts: PersonalTokenQuery): Promise<Page<StoredPersonalToken>>;
  /** Walks every record, one page at a time (the scan's check for tokens no longer listed). */
  eachPersonalTokenPage(visit: (records: StoredPersonalToken[]) => Promise<void>): Promise<void>;
}

/** Filters of {@link PersonalTokenRepository.listPersonalTokens}. */
export interface PersonalTokenQuery {
  owner?: string;
  state?: PersonalTokenState;
  flag?: PersonalTokenFlag;
  limit: number;
  nextToken?: string;
}

/** Scans of members' personal tokens, and the lock that lets one run at a time. */
export interface ScanRepository {
  /**
   * Takes the scan lock for `scan` (and creates its record) unless another scan holds it and started after
   * `staleBefore`; undefined when taken, else the scan that holds it.
   */
  claimScan(scan: ScanRecord, staleBefore: string): Promise<ScanRecord | undefined>;
  /** The scan, or undefined if there is none. */
  getScan(scanId: string): Promise<ScanRecord | undefined>;
  /** Writes the scan as given; when it is no longer `RUNNING`-and-retrying, `release` drops the lock it holds. */
  saveScan(scan: ScanRecord, opts?: { release?: boolean; complete?: boolean }): Promise<void>;
  /** The latest complete scan, or undefined before the first. */
  latestCompleteScan(): Promise<ScanRecord | undefined>;
}

/** Access exceptions (`EXC#<exceptionId>`) and each member's one live exception. */
export interface AccessExceptionRepository {
  /** The exception, or undefined if there is none. */
  getException(exceptionId: string): Promise<StoredException | undefined>;
  /** Creates the exception; false if one with this id exists already. */
  createException(exception: StoredException): Promise<boolean>;
  /** Saves `exception` if nobody changed it since `exception.version`; the saved record, or undefined on conflict. */
  saveException(exception: StoredException): Promise<StoredException | undefined>;
  /** One page of exceptions, newest first: one member's, or everyone's. */
  listExceptions(opts: { member?: string; limit: number; nextToken?: string }): Promise<Page<StoredException>>;
  /**
   * Makes `exceptionId` the member's live exception (taking over `replacing`, a holder that is no longer live);
   * undefined when it is, else the id of the exception that holds the place.
   */
  claimLiveException(
    member: string,
    exceptionId: string,
    replacing?: string,
    claimedAt?: string,
  ): Promise<string | undefined>;
  /** Who holds the member's place, and since when (absent for a claim written without a time). */
  liveExceptionClaim(member: string): Promise<{ exceptionId: string; claimedAt?: string } | undefined>;
  /** Frees the member's place if `exceptionId` holds it (idempotent). */
  releaseLiveException(member: string, exceptionId: string): Promise<void>;
  /** Members whose exception is `ACTIVE` and not over at `nowIso` (lower-cased emails). */
  activeExceptionHolders(nowIso: string): Promise<Set<string>>;
}

/** Every repository, as one store (the composition roots build one; each use case names the parts it uses). */
export type RecordStore = AccessExceptionRepository &
  PersonalTokenRepository &
  ScanRepository &
  RequestRepository &
  ApprovalRepository &
  TokenRepository &
  MintRepository &
  UploadRepository &
  NameLockRepository &
  PendingSlotRepository &
  DeliveryLeases &
  DriftReports;

export type { PendingSlots };

// ---- the other ports

/** The append-only audit trail (each record also published as a lifecycle event where configured). */
export interface AuditTrail {
  /** Appends `record` once per `discriminator` (a repeat is a no-op). */
  append(record: AuditRecord, discriminator: string): Promise<void>;
  /** Every record of one correlation id (= request id), oldest first. */
  list(correlationId: string): Promise<AuditRecord[]>;
}

/** One email to one recipient. */
export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Outgoing mail. */
export interface Mailer {
  /** Sends the email; the provider's message id, if it gives one. */
  send(email: Email): Promise<string | undefined>;
}

/** A policy chat channel as the sender needs it (`notifications.chat[]`). */
export interface ChatChannelRef {
  kind: 'slack' | 'teams';
  /** The Secrets Manager secret holding the channel's incoming-webhook URL. */
  webhookSecretName: string;
}

/** Chat webhooks (Slack incoming webhooks, Teams Workflows webhooks). */
export interface ChatSender {
  /**
   * Posts `body` (from `toSlack` or `toTeams`) to the channel's webhook. Throws `ChatDeliveryRetryableError` (send
   * again later) or `ChatDeliveryRejectedError` (never again); neither carries the webhook URL.
   */
  send(channel: ChatChannelRef, body: object): Promise<void>;
}

/** What the notifier counts (the functions' metrics). */
export interface NotifierMetrics {
  /** A chat webhook refused a message for good (4xx other than 429, or no usable URL in its secret). */
  chatMessageRejected(kind: ChatChannelRef['kind']): void;
  /** The mail provider refused an email for good. */
  emailRejected(): void;
}

/** The queue a notifier message came from: when it is received again. */
export interface MessageVisibility {
  /** Makes the message (by its receipt handle) visible again `seconds` from now, not before. */
  delay(receiptHandle: string, seconds: number): Promise<void>;
}

/** The workflow engine (Step Functions). */
export interface WorkflowEngine {
  /** Starts an execution; one with the same name and input is the same execution (idempotent). */
  start(stateMachineArn: string, name: string, input: object): Promise<string>;
  /** Resumes a waiting task; false if the token is no longer valid (the task ended or was re-issued). */
  succeed(taskToken: string, output: object): Promise<boolean>;
  /** Stops an execution if it runs; a missing or finished one is fine. */
  stop(executionArn: string, cause: string): Promise<void>;
}

/** Where the next rotation of a token is scheduled. */
export interface RotationScheduler {
  /** Creates or moves the token's one schedule: start `executionName` with `input` at `at`. */
  upsert(tokenId: string, at: Date, executionName: string, input: object): Promise<void>;
  /** Removes the token's schedule (none is fine). */
  remove(tokenId: string): Promise<void>;
}

/** A token secret as the vault describes it. */
export interface SecretDescription {
  ARN?: string;
  DeletedDate?: Date;
  Tags?: { Key?: string; Value?: string }[];
  /** Each version's staging labels (`AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`). */
  VersionIdsToStages?: Record<string, string[]>;
  /** Whether Secrets Manager rotates the secret, with which function and rules. */
  RotationEnabled?: boolean;
  RotationLambdaARN?: string;
  RotationRules?: { AutomaticallyAfterDays?: number; ScheduleExpression?: string };
}

/** What a token secret is created with. */
export interface TokenSecretSpec {
  name: string;
  kmsKeyId: string;
  description: string;
  tags: Record<string, string>;
  /** IAM role ARNs allowed to read the secret (resource policy). */
  consumers: string[];
}

/** The secrets that hold issued tokens; generations are versions moved pending → current → previous. */
export interface SecretVault {
  /** The secret, or undefined if it does not exist. */
  describe(secretId: string): Promise<SecretDescription | undefined>;
  /** Creates the secret (or brings back a deleted one), applying tags and readers; its ARN. */
  ensureSecret(spec: TokenSecretSpec): Promise<string>;
  /** Lets exactly `consumers` read the secret. */
  setReaders(secretId: string, consumers: string[]): Promise<void>;
  /** Lets nobody read the secret any more. */
  removeReaders(secretId: string): Promise<void>;
  /** Stages `value` as the pending version `versionId` (idempotent). */
  stage(secretId: string, versionId: string, value: string): Promise<void>;
  /** Whether version `versionId` exists. */
  hasVersion(secretId: string, versionId: string): Promise<boolean>;
  /** The value of version `versionId`. */
  read(secretId: string, versionId: string): Promise<string>;
  /** Makes `versionId` current; the version that was current before, if any. */
  promote(secretId: string, versionId: string): Promise<{ previousVersionId?: string }>;
  /** Schedules the secret's deletion. */
  scheduleDeletion(secretId: string): Promise<void>;
  /** Drops the pending label from `versionId` (a discarded generation). */
  dropPending(secretId: string, versionId: string): Promise<void>;
  /**
   * Has Secrets Manager rotate the secret with `functionArn` every `automaticallyAfterDays` days, without rotating it
   * now (`RotateSecret` with `RotateImmediately: false`: Secrets Manager only tests the configuration).
   */
  configureRotation(secretId: string, functionArn: string, automaticallyAfterDays: number): Promise<void>;
}

/**
 * Token Warden's own key: it signs the emailed links and seals the workflow task tokens. Each purpose (approval
 * links, upload links, sign-in state, task-token sealing) uses its own HKDF subkey of it (`../domain/links`), so
 * a value made for one never passes as another. Secrets Manager rotates it: the keyring answers the current key
 * and the previous one, if any, from a cache; with `refresh` it reads them again (a rotation may have happened since
 * they were cached), which the adapter may skip when it read them moments ago.
 */
export type LinkKeyring = (options?: { refresh?: boolean }) => Promise<LinkKeys>;

/** A token as Atlassian lists it for one account (no value, no scopes). */
export interface AtlassianApiToken {
  id: string;
  label: string;
  createdAt: string;
  lastAccess?: string;
  expiry?: string;
}

/** A member's token of the org-wide inventory (API Access `ApiToken`). */
export interface AtlassianOrgToken {
  id: string;
  label: string;
  /** `ALLOWED` while the owner's authentication policy lets API tokens work, else `BLOCKED`. */
  status: 'ALLOWED' | 'BLOCKED';
  createdAt: string;
  expiresAt?: string;
  lastActiveAt?: string;
  /** The token's owner; `id` is their account id. */
  user: { id: string; orgId?: string; name?: string; email?: string };
  /** `[]` is an unscoped token; absent means Atlassian did not say. */
  scopes?: string[];
}

/** Filters of the org-wide token inventory, as its `api-tokens` and `api-tokens/count` routes take them. */
export interface AtlassianOrgTokenFilters {
  status?: 'allowed' | 'blocked';
  /** Fuzzy, case-insensitive search over label, owner name and owner email. */
  q?: string;
}

/** The inventory's documented sort orders (`-` descending). */
export type AtlassianOrgTokenSort =
  | 'label'
  | '-label'
  | 'user.name'
  | '-user.name'
  | 'createdAt'
  | '-createdAt'
  | 'expiresAt'
  | '-expiresAt'
  | 'lastActiveAt'
  | '-lastActiveAt';

/** One page request of the org-wide token inventory. */
export interface AtlassianOrgTokenQuery extends AtlassianOrgTokenFilters {
  /** `next` of the previous page; the page size, sort and filters must be the same as on that page. */
  cursor?: string;
  /** 1–1000. @default 1000 */
  pageSize?: number;
  /** @default 'createdAt' (a token's position never moves while the list is paged) */
  sort?: AtlassianOrgTokenSort;
}

/** Progress of an authentication-policy move (Admin Control task). */
export interface AuthPolicyTaskStatus {
  inProgressCount: number;
  successCount: number;
  failureCount: number;
  failureReasons: AuthPolicyFailure[];
}

/** Why some users of a policy move failed (Atlassian's own words in `title` and `detail`). */
export interface AuthPolicyFailure {
  emails: string[];
  status?: number;
  title?: string;
  detail?: string;
}

/** The authentication policy a managed user is in. */
export interface UserAuthPolicy {
  accountId: string;
  email?: string;
  name?: string;
  policyId?: string;
  /** When the user was added to the policy, epoch milliseconds. */
  dateAdded?: number;
}

/** A user found in the organization's directory. */
export interface AtlassianDirectoryUser {
  accountId: string;
  email: string;
  name?: string;
  accountStatus?: string;
}

export type VerifyResult = { valid: true; accountId: string } | { valid: false };

/** Atlassian Cloud, as far as Token Warden uses it. */
export interface Atlassian {
  /** Creates a token for a service account; its id and value (the only copy). */
  mintToken(
    accountId: string,
    req: { label: string; scopes: string[]; expiry: Date },
  ): Promise<{ id: string; token: string }>;
  /** One account's tokens. */
  listTokens(accountId: string): Promise<AtlassianApiToken[]>;
  /**
   * Revokes one token; `not-found` if the token is gone already. An account Atlassian does not know throws
   * `AtlassianNotFoundError` with `key` `accountNotFound` (the token cannot be shown gone).
   */
  revokeToken(accountId: string, atlassianTokenId: string): Promise<'revoked' | 'not-found'>;
  /** Whether `token` authenticates as someone on the site (`/myself`), and as whom. */
  verifyMyself(args: { cloudId: string; email: string; token: string }): Promise<VerifyResult>;
  /** One page of the organization's members' tokens; `next` is the cursor of the following page. */
  orgTokens(orgId: string, query?: AtlassianOrgTokenQuery): Promise<{ data: AtlassianOrgToken[]; next?: string }>;
  /** How many of the organization's members' tokens match the filters. */
  countOrgTokens(orgId: string, filters?: AtlassianOrgTokenFilters): Promise<number>;
  /** Starts moving users (by email) into an authentication policy; the task to poll. */
  addUsersToAuthPolicy(orgId: string, policyId: string, emails: string[]): Promise<{ taskId: string }>;
  /** Progress of a policy move started by `addUsersToAuthPolicy`. */
  authPolicyTask(orgId: string, taskId: string): Promise<AuthPolicyTaskStatus>;
  /** The authentication policy of each of these managed users (those Atlassian answers for). */
  bulkFetchAuthPolicies(orgId: string, accountIds: string[]): Promise<UserAuthPolicy[]>;
  /** The directory's users with these emails. */
  findUsersByEmail(orgId: string, directoryId: string, emails: string[]): Promise<AtlassianDirectoryUser[]>;
  /** The cloud id of a site. */
  tenantInfo(site: string): Promise<{ cloudId: string }>;
}

/** Where an approver's sign-in starts. */
export interface AuthorizationRequest {
  redirectUri: string;
  state: string;
  nonce: string;
  codeChallenge: string;
  /** Pre-fills the provider's sign-in form; it proves nothing. */
  loginHint?: string;
}

/** What the sign-in callback redeems. */
export interface CodeRedemption {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  nonce: string;
}

/** Where a use case notes what an operator should know and the caller is not told (the functions' logger). */
export interface OperatorLog {
  /** Something went unexpectedly but was handled. */
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** Approver sign-in through the organization's identity provider. */
export interface ApproverSignIn {
  /** Where to send the approver's browser to sign in. */
  authorizationUrl(request: AuthorizationRequest): Promise<string>;
  /** Redeems the authorization code; the verified, lower-cased email of whoever signed in. */
  complete(request: CodeRedemption): Promise<{ email: string }>;
}
