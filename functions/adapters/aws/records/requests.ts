import type { StoredRequest, StoredToken } from '../../../domain/records';
import type { RequestRepository, TokenRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

function requestItem(request: StoredRequest): Record<string, unknown> {
  return {
    ...request,
    pk: `REQ#${request.requestId}`,
    sk: 'REQ',
    gsi1pk: `REQUESTER#${request.requester}`,
    gsi1sk: `${request.createdAt}#${request.requestId}`,
    kind: 'REQUEST',
    kindSk: `${request.createdAt}#${request.requestId}`,
  };
}

/** Token requests: `REQ#<requestId>`, listed by requester (`byOwner`) and all together (`byKind`). */
export function requestRepository(table: RecordTable): RequestRepository {
  return {
    getRequest: async (requestId) => strip(await table.get({ pk: `REQ#${requestId}`, sk: 'REQ' })),
    createRequest: (request) => table.putIfAbsent(requestItem(request)),
    async saveRequest(request) {
      const next = { ...request, version: request.version + 1 };
      return (await table.putIfVersion(requestItem(next), request.version)) ? next : undefined;
    },
    listRequests: (opts) =>
      opts.requester
        ? table.query('byOwner', 'gsi1pk', `REQUESTER#${opts.requester}`, opts.limit, opts.nextToken)
        : table.query('byKind', 'kind', 'REQUEST', opts.limit, opts.nextToken),
  };
}

function tokenItem(token: StoredToken): Record<string, unknown> {
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

/** Issued tokens: `TOK#<tokenId>`, listed by owner, all together, and by rotation due date (`byDue`). */
export function tokenRepository(table: RecordTable): TokenRepository {
  const listTokens: TokenRepository['listTokens'] = (opts) =>
    opts.owner
      ? table.query('byOwner', 'gsi1pk', `OWNER#${opts.owner}`, opts.limit, opts.nextToken)
      : table.query('byKind', 'kind', 'TOKEN', opts.limit, opts.nextToken);
  return {
    getToken: async (tokenId) => strip(await table.get({ pk: `TOK#${tokenId}`, sk: 'TOK' })),
    createToken: (token) => table.putIfAbsent(tokenItem(token)),
    async saveToken(token) {
      const next = { ...token, version: token.version + 1 };
      return (await table.putIfVersion(tokenItem(next), token.version)) ? next : undefined;
    },
    listTokens,
    listDueTokens: (nowIso, limit, nextToken) => table.queryDue(nowIso, limit, nextToken),
    async allTokens() {
      const out: StoredToken[] = [];
      let nextToken: string | undefined;
      do {
        const page = await listTokens({ limit: 100, ...(nextToken ? { nextToken } : {}) });
        out.push(...page.items);
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    },
  };
}
