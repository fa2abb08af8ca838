import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { validationError } from '../../domain/errors';
import { type Clock, isoSeconds, systemClock } from '../../domain/ports';
import type {
  ApprovalRecord,
  MintRecord,
  NameLock,
  Page,
  PendingSlots,
  SlotReservation,
  StoredRequest,
  StoredToken,
  UploadRecord,
} from '../../domain/records';
import type { NameBinding } from '../../domain/requests';
import type { RecordStore as RecordStorePort } from '../../use-cases/ports';
import { aws } from './errors';

/** The records now live in the domain; kept here for callers outside functions/ not yet moved over. */
export type { StoredRequest, StoredToken } from '../../domain/records';

const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'kind', 'kindSk', 'duePk', 'dueSk'] as const;

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const out = { ...item };
  for (const key of KEY_ATTRIBUTES) delete out[key];
  return out as T;
}

const mintKey = (tokenId: string, generation: number) => ({
  pk: `TOK#${tokenId}`,
  sk: `MINT#${String(generation).padStart(6, '0')}`,
});

const isBinding = (value: unknown): value is NameBinding =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as NameBinding).owner === 'string' &&
  typeof (value as NameBinding).until === 'string';

const pendingKey = (member: string) => ({ pk: `PENDING#${member}`, sk: 'PENDING' });

const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/**
 * Data access for requests, approvals, tokens, mints and name locks: one table, single-item conditional writes
 * (no transactions), optimistic concurrency through `version`.
 */
export class RecordStore implements RecordStorePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** When a name lock is released (`releasedAt`). */
    private readonly clock: Clock = systemClock,
  ) {}

  // ---- requests
  async getRequest(requestId: string): Promise<StoredRequest | undefined> {
    return strip(await this.get(`REQ#${requestId}`, 'REQ'));
  }

  /** Creates the request; false if one with this id exists already. */
  async createRequest(request: StoredRequest): Promise<boolean> {
    return this.putIfAbsent({
      ...request,
      pk: `REQ#${request.requestId}`,
      sk: 'REQ',
      gsi1pk: `REQUESTER#${request.requester}`,
      gsi1sk: `${request.createdAt}#${request.requestId}`,
      kind: 'REQUEST',
      kindSk: `${request.createdAt}#${request.requestId}`,
    });
  }

  /** Saves `request` if nobody changed it since `request.version`; returns the saved record, or undefined on conflict. */
  async saveRequest(request: StoredRequest): Promise<StoredRequest | undefined> {
    const next = { ...request, version: request.version + 1 };
    const ok = await this.putIfVersion(
      {
        ...next,
        pk: `REQ#${request.requestId}`,
        sk: 'REQ',
        gsi1pk: `REQUESTER#${request.requester}`,
        gsi1sk: `${request.createdAt}#${request.requestId}`,
        kind: 'REQUEST',
        kindSk: `${request.createdAt}#${request.requestId}`,
      },
      request.version,
    );
    return ok ? next : undefined;
  }

  listRequests(opts: { requester?: string; limit: number; nextToken?: string }): Promise<Page<StoredRequest>> {
    return opts.requester
      ? this.query('byOwner', 'gsi1pk', `REQUESTER#${opts.requester}`, opts.limit, opts.nextToken)
      : this.query('byKind', 'kind', 'REQUEST', opts.limit, opts.nextToken);
  }

  // ---- approvals
  async getApproval(approvalId: string): Promise<ApprovalRecord | undefined> {
    return strip(await this.get(`APV#${approvalId}`, 'APV'));
  }

  createApproval(approval: ApprovalRecord): Promise<boolean> {
    return this.putIfAbsent({ ...approval, pk: `APV#${approval.approvalId}`, sk: 'APV' });
  }

  markApprovalEmailed(approvalId: string, at: string): Promise<void> {
    return this.markEmailed(`APV#${approvalId}`, 'APV', at);
  }

  /** Remembers an anti-forgery value handed out with a page (keeps the latest five); false if no longer open. */
  addApprovalCsrf(approvalId: string, csrfHash: string, previous: string[]): Promise<boolean> {
    return this.addCsrf(`APV#${approvalId}`, 'APV', csrfHash, previous);
  }

  /** Marks an open approval decided (single use); false if it was used or closed meanwhile. */
  decideApproval(approvalId: string, decision: 'APPROVED' | 'REJECTED', at: string): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `APV#${approvalId}`, sk: 'APV' },
          UpdateExpression: 'SET #s = :decided, decision = :d, decidedAt = :at, csrfHashes = :none',
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':decided': 'DECIDED', ':d': decision, ':at': at, ':open': 'OPEN', ':none': [] },
        }),
      ),
    );
  }

  /** Takes back a decision that lost the race to another one (the request was decided meanwhile). */
  supersedeApproval(approvalId: string): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `APV#${approvalId}`, sk: 'APV' },
          UpdateExpression: 'SET #s = :closed REMOVE decision, decidedAt',
          ConditionExpression: '#s = :decided',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':closed': 'CLOSED', ':decided': 'DECIDED' },
        }),
      ),
    );
  }

  /** Closes a still-open approval (the request was decided or expired). */
  closeApproval(approvalId: string): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `APV#${approvalId}`, sk: 'APV' },
          UpdateExpression: 'SET #s = :closed, csrfHashes = :none',
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':closed': 'CLOSED', ':open': 'OPEN', ':none': [] },
        }),
      ),
    );
  }

  // ---- tokens
  async getToken(tokenId: string): Promise<StoredToken | undefined> {
    return strip(await this.get(`TOK#${tokenId}`, 'TOK'));
  }

  private tokenItem(token: StoredToken): Record<string, unknown> {
    const item: Record<string, unknown> = {
      ...token,
      pk: `TOK#${token.tokenId}`,
      sk: 'TOK',
      gsi1pk: `OWNER#${token.owner}`,
      gsi1sk: `${token.createdAt}#${token.tokenId}`,
      kind: 'TOKEN',
      kindSk: `${token.createdAt}#${token.tokenId}`,
    };
    // Sparse due-date index: only tokens whose rotation is scheduled are in it.
    if ((token.status === 'ACTIVE' || token.status === 'ROTATING') && token.nextRotationAt) {
      item.duePk = 'DUE';
      item.dueSk = `${token.nextRotationAt}#${token.tokenId}`;
    }
    return item;
  }

  createToken(token: StoredToken): Promise<boolean> {
    return this.putIfAbsent(this.tokenItem(token));
  }

  async saveToken(token: StoredToken): Promise<StoredToken | undefined> {
    const next = { ...token, version: token.version + 1 };
    return (await this.putIfVersion(this.tokenItem(next), token.version)) ? next : undefined;
  }

  listTokens(opts: { owner?: string; limit: number; nextToken?: string }): Promise<Page<StoredToken>> {
    return opts.owner
      ? this.query('byOwner', 'gsi1pk', `OWNER#${opts.owner}`, opts.limit, opts.nextToken)
      : this.query('byKind', 'kind', 'TOKEN', opts.limit, opts.nextToken);
  }

  /** Tokens whose rotation is due by `nowIso` (the sparse `byDue` index, oldest first). */
  async listDueTokens(nowIso: string, limit: number, nextToken?: string): Promise<Page<StoredToken>> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: 'byDue',
      KeyConditionExpression: 'duePk = :due AND dueSk <= :now',
      ExpressionAttributeValues: { ':due': 'DUE', ':now': `${nowIso}#~` },
      Limit: limit,
    };
    if (nextToken !== undefined) input.ExclusiveStartKey = decodeNextToken(nextToken, 'byDue', 'DUE');
    const out = await this.pagedQuery(input);
    const page: Page<StoredToken> = { items: (out.Items ?? []).map((i) => strip<StoredToken>(i) as StoredToken) };
    if (out.LastEvaluatedKey) page.nextToken = Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url');
    return page;
  }

  /** Every token record (the inventory compares them with Atlassian's lists), through the `byKind` index. */
  async allTokens(): Promise<StoredToken[]> {
    const out: StoredToken[] = [];
    let nextToken: string | undefined;
    do {
      const page: Page<StoredToken> = await this.listTokens({ limit: 100, ...(nextToken ? { nextToken } : {}) });
      out.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  // ---- mints
  async getMint(tokenId: string, generation: number): Promise<MintRecord | undefined> {
    const key = mintKey(tokenId, generation);
    return strip(await this.get(key.pk, key.sk));
  }

  async putMint(mint: MintRecord): Promise<void> {
    await aws('DynamoDB.PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...mint, ...mintKey(mint.tokenId, mint.generation) },
        }),
      ),
    );
  }

  /**
   * Stores the sealed task token of a generation awaiting its upload (and, the first time, until when its links are
   * valid); returns the record as stored, or undefined if the generation is no longer awaiting an upload into
   * `versionId` (the round's secret version).
   */
  async armUploadWait(
    tokenId: string,
    generation: number,
    versionId: string,
    taskTokenSealed: string,
    uploadExpiresAt: string,
  ): Promise<MintRecord | undefined> {
    try {
      const out = await aws('DynamoDB.UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: mintKey(tokenId, generation),
            UpdateExpression: 'SET taskTokenSealed = :t, uploadExpiresAt = if_not_exists(uploadExpiresAt, :e)',
            ConditionExpression: '#s = :awaiting AND versionId = :v',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: {
              ':t': taskTokenSealed,
              ':e': uploadExpiresAt,
              ':awaiting': 'AWAITING_UPLOAD',
              ':v': versionId,
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return strip(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records a received upload: `AWAITING_UPLOAD` (of the version `versionId`) → `STAGED`, with what Atlassian lists,
   * dropping the sealed task token. Returns the record as it was before (its sealed task token is the one to resume),
   * or undefined if it was no longer awaiting that upload.
   */
  async receiveUpload(
    tokenId: string,
    generation: number,
    versionId: string,
    fields: { atlassianTokenId: string; expiresAt: string; uploadedBy: string; uploadedAt: string },
  ): Promise<MintRecord | undefined> {
    try {
      const out = await aws('DynamoDB.UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: mintKey(tokenId, generation),
            UpdateExpression:
              'SET #s = :staged, atlassianTokenId = :id, expiresAt = :exp, uploadedBy = :by, uploadedAt = :at, ' +
              'mintedAt = :at REMOVE taskTokenSealed',
            ConditionExpression: '#s = :awaiting AND versionId = :v',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: {
              ':staged': 'STAGED',
              ':awaiting': 'AWAITING_UPLOAD',
              ':v': versionId,
              ':id': fields.atlassianTokenId,
              ':exp': fields.expiresAt,
              ':by': fields.uploadedBy,
              ':at': fields.uploadedAt,
            },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      return strip(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Closes a generation still awaiting its upload (`versionId`): → `DISCARDED`. False if an upload won the race. */
  closeUploadWait(tokenId: string, generation: number, versionId: string): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: mintKey(tokenId, generation),
          UpdateExpression: 'SET #s = :discarded REMOVE taskTokenSealed',
          ConditionExpression: '#s = :awaiting AND versionId = :v',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':discarded': 'DISCARDED', ':awaiting': 'AWAITING_UPLOAD', ':v': versionId },
        }),
      ),
    );
  }

  // ---- uploads (manual issuance)
  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    return strip(await this.get(`UPL#${uploadId}`, 'UPL'));
  }

  /** Creates the upload; false if it exists (a retried step reuses it, with its expiry). */
  createUpload(upload: UploadRecord): Promise<boolean> {
    return this.putIfAbsent({ ...upload, pk: `UPL#${upload.uploadId}`, sk: 'UPL' });
  }

  markUploadEmailed(uploadId: string, at: string): Promise<void> {
    return this.markEmailed(`UPL#${uploadId}`, 'UPL', at);
  }

  /** Remembers an anti-forgery value handed out with the upload page (keeps the latest five); false if used. */
  addUploadCsrf(uploadId: string, csrfHash: string, previous: string[]): Promise<boolean> {
    return this.addCsrf(`UPL#${uploadId}`, 'UPL', csrfHash, previous);
  }

  /** Uses an open upload link (single use); false if it was used meanwhile. */
  claimUpload(uploadId: string, at: string): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `UPL#${uploadId}`, sk: 'UPL' },
          UpdateExpression: 'SET #s = :used, usedAt = :at, csrfHashes = :none',
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':used': 'USED', ':open': 'OPEN', ':at': at, ':none': [] },
        }),
      ),
    );
  }

  /** Gives a claimed link back when storing its upload failed before anything was recorded. */
  releaseUpload(uploadId: string, csrfHashes: string[]): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `UPL#${uploadId}`, sk: 'UPL' },
          UpdateExpression: 'SET #s = :open, csrfHashes = :h REMOVE usedAt',
          ConditionExpression: '#s = :used',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':used': 'USED', ':open': 'OPEN', ':h': csrfHashes },
        }),
      ),
    );
  }

  // ---- name locks: one live token (or pending request) per service account and name
  /**
   * Takes the lock for `requestId` (of `owner`, keeping `bound`): when it is free, already `requestId`'s, or
   * (`replacing`) still held by that request. Returns the lock as it stands when someone else holds it (`requestId`
   * empty if it just vanished).
   */
  async acquireName(
    alias: string,
    name: string,
    requestId: string,
    { owner, replacing, bound }: { owner?: string; replacing?: string; bound?: NameBinding } = {},
  ): Promise<NameLock | undefined> {
    const ok = await this.conditional(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `NAME#${alias}#${name}`,
            sk: 'NAME',
            requestId,
            ...(owner ? { owner } : {}),
            ...(bound ? { bound } : {}),
          },
          ConditionExpression: replacing ? 'requestId = :old' : 'attribute_not_exists(pk) OR requestId = :mine',
          ExpressionAttributeValues: replacing ? { ':old': replacing } : { ':mine': requestId },
        }),
      ),
    );
    if (ok) return undefined;
    const holder = await this.get(`NAME#${alias}#${name}`, 'NAME');
    return {
      requestId: typeof holder?.requestId === 'string' ? holder.requestId : '',
      ...(typeof holder?.owner === 'string' ? { owner: holder.owner } : {}),
      ...(typeof holder?.releasedAt === 'string' ? { releasedAt: holder.releasedAt } : {}),
      ...(isBinding(holder?.bound) ? { bound: holder.bound } : {}),
    };
  }

  /**
   * Releases the lock if `requestId` holds it. The item stays, marked `releasedAt` (the first release counts): the
   * name stays bound to the request's owner for the recovery window, and is taken over only as `acquireName` allows.
   */
  async releaseName(alias: string, name: string, requestId: string): Promise<void> {
    await this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `NAME#${alias}#${name}`, sk: 'NAME' },
          UpdateExpression: 'SET releasedAt = if_not_exists(releasedAt, :now)',
          ConditionExpression: 'requestId = :mine',
          ExpressionAttributeValues: { ':mine': requestId, ':now': isoSeconds(this.clock.now()) },
        }),
      ),
    );
  }

  // ---- pending-request slots: at most the policy's maxPendingRequestsPerMember per member, in one item each
  /**
   * Takes a slot for `requestId` among `member`'s at most `max` (one conditional write: a burst cannot overshoot).
   * `added` says whether this call took it (false: the request held it already, e.g. a retried call). When every
   * slot is taken, answers who holds them.
   */
  async reservePendingSlot(member: string, requestId: string, at: string, max: number): Promise<SlotReservation> {
    const key = pendingKey(member);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const out = await aws('DynamoDB.UpdateItem', () =>
          this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: key,
              UpdateExpression: 'SET slots.#id = if_not_exists(slots.#id, :at)',
              ConditionExpression: 'attribute_exists(slots.#id) OR size(slots) < :max',
              ExpressionAttributeNames: { '#id': requestId },
              ExpressionAttributeValues: { ':at': at, ':max': max },
              ReturnValues: 'UPDATED_OLD',
            }),
          ),
        );
        const old = (out.Attributes?.slots ?? {}) as PendingSlots;
        return { reserved: true, added: old[requestId] === undefined };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const item = await this.get(key.pk, key.sk);
      if (!item) {
        // The member's first slot: create the item holding it (a concurrent first call may win; then try again).
        if (await this.putIfAbsent({ ...key, slots: { [requestId]: at } })) return { reserved: true, added: true };
        continue;
      }
      const holders = (item.slots ?? {}) as PendingSlots;
      if (holders[requestId] !== undefined) return { reserved: true, added: false };
      if (Object.keys(holders).length >= max) return { reserved: false, holders };
    }
    throw new Error(`the pending-request slots of ${member} kept changing`);
  }

  /**
   * Gives `requestId`'s slot back (idempotent: a slot given back twice, or never taken, changes nothing). The item of
   * a member left with no slot goes away, so a call that took a slot and gave it back leaves the table as it was.
   */
  async releasePendingSlot(member: string, requestId: string): Promise<void> {
    const key = pendingKey(member);
    let left: PendingSlots | undefined;
    try {
      const out = await aws('DynamoDB.UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'REMOVE slots.#id',
            ConditionExpression: 'attribute_exists(slots)',
            ExpressionAttributeNames: { '#id': requestId },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      left = out.Attributes?.slots as PendingSlots | undefined;
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw error;
    }
    if (left && Object.keys(left).length > 0) return;
    await this.conditional(() =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'size(slots) = :none',
          ExpressionAttributeValues: { ':none': 0 },
        }),
      ),
    );
  }

  // ---- inventory
  /** The latest drift report written by the periodic inventory. */
  async getDriftReport(): Promise<Record<string, unknown> | undefined> {
    const item = await this.get('INVENTORY', 'LATEST');
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...report } = item;
    return report;
  }

  async putDriftReport(report: Record<string, unknown>): Promise<void> {
    await aws('DynamoDB.PutItem', () =>
      this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...report, pk: 'INVENTORY', sk: 'LATEST' } })),
    );
  }

  // ---- notifications
  /** Claims a one-time notification marker; false if it was claimed before (the email went out already). */
  claimNotification(markerId: string, at: string): Promise<boolean> {
    return this.putIfAbsent({ pk: markerId, sk: 'NOTE', at });
  }

  async releaseNotification(markerId: string): Promise<void> {
    await aws('DynamoDB.DeleteItem', () =>
      this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: markerId, sk: 'NOTE' } })),
    );
  }

  // ---- plumbing
  /** Notes that a link item's email went out (approvals and uploads alike). */
  private async markEmailed(pk: string, sk: string, at: string): Promise<void> {
    await aws('DynamoDB.UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: 'SET emailedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  /** Remembers an anti-forgery value handed out with a link's page (keeps the latest five); false if not open. */
  private addCsrf(pk: string, sk: string, csrfHash: string, previous: string[]): Promise<boolean> {
    const hashes = [...previous, csrfHash].slice(-5);
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: 'SET csrfHashes = :h',
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':h': hashes, ':open': 'OPEN' },
        }),
      ),
    );
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const out = await aws('DynamoDB.GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true })),
    );
    return out.Item;
  }

  private putIfAbsent(item: Record<string, unknown>): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
  }

  private putIfVersion(item: Record<string, unknown>, expected: number): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': expected },
        }),
      ),
    );
  }

  /** A query whose start key came from a caller: DynamoDB's refusal of it is the caller's error, not ours. */
  private async pagedQuery(input: QueryCommandInput) {
    try {
      return await aws('DynamoDB.Query', () => this.doc.send(new QueryCommand(input)));
    } catch (error) {
      if (input.ExclusiveStartKey && error instanceof Error && error.name === 'ValidationException') {
        throw validationError('nextToken', 'nextToken is not valid');
      }
      throw error;
    }
  }

  private async conditional(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await aws('DynamoDB.Write', call);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async query<T>(
    index: keyof typeof INDEX_KEYS,
    partitionAttr: string,
    partition: string,
    limit: number,
    nextToken?: string,
  ): Promise<Page<T>> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': partitionAttr },
      ExpressionAttributeValues: { ':p': partition },
      ScanIndexForward: false,
      Limit: limit,
    };
    if (nextToken !== undefined) input.ExclusiveStartKey = decodeNextToken(nextToken, index, partition);
    const out = await this.pagedQuery(input);
    const page: Page<T> = { items: (out.Items ?? []).map((i) => strip<T>(i) as T) };
    if (out.LastEvaluatedKey) page.nextToken = Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url');
    return page;
  }
}

/** The key attributes of each index's items: a pagination token holds exactly these. */
const INDEX_KEYS = {
  byOwner: ['gsi1pk', 'gsi1sk'],
  byKind: ['kind', 'kindSk'],
  byDue: ['duePk', 'dueSk'],
} as const;

/**
 * A pagination token must decode to a complete key of the index's item in the caller's own partition: exactly the
 * table and index key attributes, non-empty strings, and the partition asked for (no peeking into others').
 */
function decodeNextToken(token: string, index: keyof typeof INDEX_KEYS, partition: string): Record<string, string> {
  const invalid = () => validationError('nextToken', 'nextToken is not valid');
  let key: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw invalid();
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const [partitionAttr, sortAttr] = INDEX_KEYS[index];
  const expected = ['pk', 'sk', partitionAttr, sortAttr].sort();
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid();
  const record = key as Record<string, unknown>;
  const names = Object.keys(record).sort();
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) throw invalid();
  if (
    !names.every(
      (n) => typeof record[n] === 'string' && (record[n] as string).length > 0 && (record[n] as string).length <= 512,
    )
  ) {
    throw invalid();
  }
  if (record[partitionAttr] !== partition) throw invalid();
  return record as Record<string, string>;
}
