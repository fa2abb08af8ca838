import { conflict, notFound, RequestError, validationError } from '../domain/errors';
import { REQUEST_ID } from '../domain/ids';
import { type Caller, canSeeRequest, type RequestRepresentation, toRequestRepresentation } from '../domain/model';
import { derivedId, requestIdFrom } from '../domain/naming';
import type { Policy } from '../domain/policy';
import { type Clock, isoSeconds, type Random } from '../domain/ports';
import type { NameLock, StoredRequest } from '../domain/records';
import {
  bodyHash,
  cancelRequest,
  checkRequestAgainstPolicy,
  nameHolderState,
  newRequest,
  parseCreateRequestBody,
} from '../domain/requests';
import { unsealTaskTokenWith } from './link-keys';
import {
  type ListQuery,
  listedPerson,
  parseServiceAccount,
  parseStatus,
  REQUEST_STATUSES,
  refuseUnknownParams,
} from './list-filters';
import type {
  AuditTrail,
  LinkKeyring,
  NameLockRepository,
  PendingSlotRepository,
  PendingSlots,
  RequestRepository,
  TokenRepository,
  WorkflowEngine,
} from './ports';

/** The repositories these use cases read and write. */
export type RequestStore = RequestRepository & TokenRepository & NameLockRepository & PendingSlotRepository;

export interface RequestDeps {
  store: RequestStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  clock: Clock;
  random: Random;
  policy: Policy;
  issuanceStateMachineArn: string;
  /** Key that unseals stored task tokens (cancel resumes the waiting workflow). */
  /** Signs the emailed links and seals the workflow task tokens (one subkey per purpose). */
  linkAndSealKey: LinkKeyring;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * `POST /token-requests`. Idempotent per caller and `Idempotency-Key` (a replay answers the original request, also
 * when the caller is at the pending-request limit).
 */
export async function createTokenRequest(
  deps: RequestDeps,
  caller: Caller,
  rawBody: unknown,
  idempotencyKey: string | undefined,
): Promise<RequestRepresentation> {
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw validationError('Idempotency-Key', 'Idempotency-Key must be 1-128 printable ASCII characters');
  }
  const body = parseCreateRequestBody(rawBody);
  const check = checkRequestAgainstPolicy(body, deps.policy, caller.email);
  const requestId = requestIdFrom(
    idempotencyKey === undefined ? deps.random.id() : derivedId('idempotency', caller.email, idempotencyKey),
  );

  const existing = await deps.store.getRequest(requestId);
  if (existing) return replay(deps, existing, bodyHash(body));

  const record: StoredRequest = {
    ...newRequest({ requestId, body, check, requester: caller.email, now: deps.clock.now() }),
    version: 1,
  };
  const tookSlot = await reservePendingSlot(deps, record);
  try {
    await reserveName(deps, record);
    if (!(await deps.store.createRequest(record))) {
      // A concurrent call with the same key won the race (its request holds the same slot).
      const winner = await deps.store.getRequest(requestId);
      if (!winner) throw new RequestError('CONFLICT', 'request is being created; retry');
      return await replay(deps, winner, record.bodyHash);
    }
  } catch (error) {
    // Give back a slot this call took for a request that never came to be.
    if (tookSlot && !(await deps.store.getRequest(requestId))) {
      await deps.store.releasePendingSlot(record.requester, requestId);
    }
    throw error;
  }
  await deps.audit.append(
    {
      correlationId: record.correlationId,
      event: 'REQUESTED',
      at: record.createdAt,
      actor: caller.email,
      requestId,
      details: { serviceAccount: record.serviceAccount, name: record.name, scopes: record.scopes },
    },
    requestId,
  );
  await startIssuance(deps, record);
  return toRequestRepresentation(record);
}

async function replay(deps: RequestDeps, existing: StoredRequest, hash: string): Promise<RequestRepresentation> {
  if (existing.bodyHash !== hash) {
    throw new RequestError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was used with another body', 'Idempotency-Key');
  }
  // The first attempt may have stopped before the workflow started: starting again is idempotent by name.
  if (existing.status === 'PENDING_APPROVAL') await startIssuance(deps, existing);
  return toRequestRepresentation(existing);
}

async function startIssuance(deps: RequestDeps, record: StoredRequest): Promise<void> {
  await deps.workflows.start(deps.issuanceStateMachineArn, record.requestId, { requestId: record.requestId });
}

/** A slot taken for a request not (yet) stored is someone's call in flight for this long, then abandoned. */
export const SLOT_CREATION_GRACE_MS = 5 * 60_000;

/**
 * Takes one of the requester's `maxPendingRequestsPerMember` slots (429 when all are taken by pending requests);
 * answers whether this call took it. Every step that moves a request out of `PENDING_APPROVAL` gives its slot back;
 * a slot whose request left it anyway (a step that stopped in between) or never came to be is taken back here.
 */
async function reservePendingSlot(deps: RequestDeps, record: StoredRequest): Promise<boolean> {
  const max = deps.policy.maxPendingRequestsPerMember;
  for (let attempt = 0; attempt < 3; attempt++) {
    const slot = await deps.store.reservePendingSlot(record.requester, record.requestId, record.createdAt, max);
    if (slot.reserved) return slot.added;
    const stale = await staleSlots(deps, slot.holders);
    if (stale.length === 0) break;
    for (const requestId of stale) await deps.store.releasePendingSlot(record.requester, requestId);
  }
  throw new RequestError(
    'TOO_MANY_REQUESTS',
    `you have ${max} pending requests, the most the policy allows (maxPendingRequestsPerMember); cancel one or wait until one is decided`,
  );
}

async function staleSlots(deps: RequestDeps, holders: PendingSlots): Promise<string[]> {
  const now = deps.clock.now().getTime();
  const verdicts = await Promise.all(
    Object.entries(holders).map(async ([requestId, takenAt]) => {
      const request = await deps.store.getRequest(requestId);
      const stale = request
        ? request.status !== 'PENDING_APPROVAL'
        : !(now - Date.parse(takenAt) < SLOT_CREATION_GRACE_MS);
      return stale ? requestId : undefined;
    }),
  );
  return verdicts.filter((id): id is string => id !== undefined);
}

/**
 * One live token (or pending request) per service account and name. A holder that is no longer live is taken over,
 * except that a revoked or expired token's name stays with its owner for the recovery window (`nameHolderState`); the
 * owner taking it back keeps that binding in the new lock.
 */
async function reserveName(deps: RequestDeps, record: StoredRequest): Promise<void> {
  const { serviceAccount, name, requestId, requester } = record;
  let holder = await deps.store.acquireName(serviceAccount, name, requestId, { owner: requester });
  for (let attempt = 0; holder !== undefined && attempt < 3; attempt++) {
    const state = await holderState(deps, holder, requester);
    if (state.kind === 'live') {
      throw conflict(`a live token or pending request named '${name}' exists for ${serviceAccount}`, 'name');
    }
    if (state.kind === 'bound') {
      throw conflict(
        `the name '${name}' belonged to another member's token for ${serviceAccount}, which CI may still read; it stays theirs until ${isoSeconds(state.until)}`,
        'name',
      );
    }
    holder = await deps.store.acquireName(serviceAccount, name, requestId, {
      owner: requester,
      ...(holder.requestId ? { replacing: holder.requestId } : {}),
      ...(state.carry ? { bound: state.carry } : {}),
    });
  }
  if (holder !== undefined) throw conflict(`the name '${name}' is being reserved by another request`, 'name');
}

async function holderState(deps: RequestDeps, lock: NameLock, requester: string) {
  const request = lock.requestId ? await deps.store.getRequest(lock.requestId) : undefined;
  const token =
    request?.status === 'ISSUED' && request.tokenId ? await deps.store.getToken(request.tokenId) : undefined;
  return nameHolderState({ lock, request, token, requester, now: deps.clock.now() });
}

export async function getTokenRequest(deps: Pick<RequestDeps, 'store'>, caller: Caller, requestId: string) {
  const request = REQUEST_ID.test(requestId) ? await deps.store.getRequest(requestId) : undefined;
  if (!request || !canSeeRequest(caller, request)) throw notFound('request not found');
  return toRequestRepresentation(request);
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 100) {
    throw validationError('limit', 'limit must be an integer from 1 to 100');
  }
  return Number(raw);
}

const REQUEST_QUERY = ['status', 'serviceAccount', 'requester', 'limit', 'nextToken'];

/**
 * `GET /token-requests`: one page, newest first, of the caller's own requests (a member) or everyone's (an admin, or
 * one `requester`'s), narrowed by `status` and `serviceAccount`; a filtered page may be short and still carry
 * `nextToken` (see `listTokens`).
 */
export async function listTokenRequests(deps: Pick<RequestDeps, 'store'>, caller: Caller, query: ListQuery) {
  refuseUnknownParams(query, REQUEST_QUERY);
  const status = parseStatus(query, 'status', REQUEST_STATUSES);
  const serviceAccount = parseServiceAccount(query);
  const limit = parseLimit(query.limit);
  const requester = listedPerson(caller, query, 'requester');
  const page = await deps.store.listRequests({
    ...(requester !== undefined ? { requester } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(serviceAccount !== undefined ? { serviceAccount } : {}),
    limit,
    ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
  });
  return {
    items: page.items.map(toRequestRepresentation),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  };
}

/** `POST /token-requests/{id}/cancel`: a pending request becomes `REJECTED` with reason `CANCELLED`. */
export async function cancelTokenRequest(deps: RequestDeps, caller: Caller, requestId: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const request = REQUEST_ID.test(requestId) ? await deps.store.getRequest(requestId) : undefined;
    if (!request || !canSeeRequest(caller, request)) throw notFound('request not found');
    const cancelled = cancelRequest(request, caller, deps.clock.now());
    const saved = await deps.store.saveRequest({ ...request, ...cancelled });
    if (!saved) continue;
    await deps.store.releasePendingSlot(saved.requester, requestId);
    await deps.audit.append(
      { correlationId: saved.correlationId, event: 'CANCELLED', at: saved.updatedAt, actor: caller.email, requestId },
      requestId,
    );
    // Resume the waiting workflow so it closes the request; if it has not stored its token yet, it sees the
    // cancelled status itself when it does.
    if (saved.taskTokenSealed) {
      const taskToken = await unsealTaskTokenWith(deps.linkAndSealKey, saved.taskTokenSealed, requestId);
      await deps.workflows.succeed(taskToken, { outcome: 'CANCELLED' });
    }
    return toRequestRepresentation(saved);
  }
  throw new RequestError('CONFLICT', 'request changed concurrently; retry');
}
