import { getToken, listTokens } from '../app/tokens';
import { RequestError } from '../domain/errors';
import { recordStore } from '../shared/deps';
import { apiHandler, callerOf, json } from '../shared/http';
import { loadPolicy } from '../shared/policy-loader';

const policy = loadPolicy();
const store = recordStore();

/** `GET /tokens`, `GET /tokens/{tokenId}`. */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  switch (event.routeKey) {
    case 'GET /tokens':
      return json(200, await listTokens(store, caller, event.queryStringParameters ?? {}));
    case 'GET /tokens/{tokenId}':
      return json(200, await getToken(store, caller, event.pathParameters?.tokenId ?? ''));
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
