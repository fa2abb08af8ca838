import { notFound } from '../domain/errors';
import { TOKEN_ID } from '../domain/ids';
import { type Caller, canSeeToken, toTokenRepresentation } from '../domain/model';
import type { TokenRepository } from './ports';
import { parseLimit } from './requests';

/** The repositories these use cases read and write. */
export type TokenStore = TokenRepository;

export async function getToken(store: TokenStore, caller: Caller, tokenId: string) {
  const token = TOKEN_ID.test(tokenId) ? await store.getToken(tokenId) : undefined;
  if (!token || !canSeeToken(caller, token)) throw notFound('token not found');
  return toTokenRepresentation(token);
}

export async function listTokens(store: TokenStore, caller: Caller, query: { limit?: string; nextToken?: string }) {
  const page = await store.listTokens({
    ...(caller.isAdmin ? {} : { owner: caller.email }),
    limit: parseLimit(query.limit),
    ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
  });
  return { items: page.items.map(toTokenRepresentation), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
}
