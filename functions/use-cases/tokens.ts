import { notFound } from '../domain/errors';
import { TOKEN_ID } from '../domain/ids';
import { type Caller, canSeeToken, toTokenRepresentation } from '../domain/model';
import {
  type ListQuery,
  listedPerson,
  parseServiceAccount,
  parseStatus,
  refuseUnknownParams,
  TOKEN_STATUSES,
} from './list-filters';
import type { TokenRepository } from './ports';
import { parseLimit } from './requests';

/** The repositories these use cases read and write. */
export type TokenStore = TokenRepository;

export async function getToken(store: TokenStore, caller: Caller, tokenId: string) {
  const token = TOKEN_ID.test(tokenId) ? await store.getToken(tokenId) : undefined;
  if (!token || !canSeeToken(caller, token)) throw notFound('token not found');
  return toTokenRepresentation(token);
}

const TOKEN_QUERY = ['status', 'serviceAccount', 'owner', 'limit', 'nextToken'];

/**
 * `GET /tokens`: one page, newest first, of the caller's own tokens (a member) or everyone's (an admin, or one
 * `owner`'s), narrowed by `status` and `serviceAccount`. With a filter a page may hold fewer than `limit` (even none)
 * and still carry `nextToken`: the listing goes on from where the store stopped reading.
 */
export async function listTokens(store: TokenStore, caller: Caller, query: ListQuery) {
  refuseUnknownParams(query, TOKEN_QUERY);
  const status = parseStatus(query, 'status', TOKEN_STATUSES);
  const serviceAccount = parseServiceAccount(query);
  const limit = parseLimit(query.limit);
  const owner = listedPerson(caller, query, 'owner');
  const page = await store.listTokens({
    ...(owner !== undefined ? { owner } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(serviceAccount !== undefined ? { serviceAccount } : {}),
    limit,
    ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
  });
  return { items: page.items.map(toTokenRepresentation), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
}
