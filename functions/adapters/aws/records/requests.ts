import type { StoredRequest, StoredToken } from '../../../domain/records';
import type { RequestRepository, TokenRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

/** A FilterExpression requiring each given attribute to equal its value; undefined when none is given. */
function equalsFilter(fields: Record<string, string | undefined>) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  for (const [attr, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const ref = `f${clauses.length}`;
    names[`#${ref}`] = attr;
    values[`:${ref}`] = value;
    clauses.push(`#${ref} = :${ref}`);
  }
  return clauses.length === 0 ? undefined : { expression: clauses.join(' AND '), names, values };
}

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

/**
 * Token requests: `REQ#<requestId>`, listed by requester (`byOwner`) and all together (`byKind`); `status` and
 * `serviceAccount` narrow either listing as a filter (few enough requests per partition that no index is needed).
 */
export function requestRepository(table: RecordTable): RequestRepository {
  return {
    getRequest: async (requestId) => strip(await table.get({ pk: `REQ#${requestId}`, sk: 'REQ' })),
    createRequest: (request) => table.putIfAbsent(requestItem(request)),
    async saveRequest(request) {
      const next = { ...request, version: request.version + 1 };
      return (await table.putIfVersion(requestItem(next), request.version)) ? next : undefined;
    },
    listRequests(opts) {
      const filter = equalsFilter({ status: opts.status, serviceAccount: opts.serviceAccount });
      return opts.requester
        ? table.queryFiltered('byOwner', 'gsi1pk', `REQUESTER#${opts.requester}`, opts.limit, filter, opts.nextToken)
        : table.queryFiltered('byKind', 'kind', 'REQUEST', opts.limit, filter, opts.nextToken);
    },
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

/**
 * Issued tokens: `TOK#<tokenId>`, listed by owner, all together, and by rotation due date (`byDue`); `status` and
 * `serviceAccount` narrow the first two as a filter.
 */
export function tokenRepository(table: RecordTable): TokenRepository {
  const listTokens: TokenRepository['listTokens'] = (opts) => {
    const filter = equalsFilter({ status: opts.status, serviceAccount: opts.serviceAccount });
    return opts.owner
      ? table.queryFiltered('byOwner', 'gsi1pk', `OWNER#${opts.owner}`, opts.limit, filter, opts.nextToken)
      : table.queryFiltered('byKind', 'kind', 'TOKEN', opts.limit, filter, opts.nextToken);
  };
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
