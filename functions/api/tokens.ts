import {
  atlassian,
  auditLog,
  recordStore,
  revocationStarter,
  rotationSchedules,
  rotationStateMachineArn,
  rotationStopper,
  tokenVault,
  workflows,
} from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { RequestError } from '../domain/errors';
import { systemClock } from '../domain/ports';
import { apiHandler, callerOf, json, jsonBody } from '../edge/http';
import { parseRevokeBody, revokeToken } from '../use-cases/revoke';
import { rotateNow } from '../use-cases/rotation';
import { getToken, listTokens } from '../use-cases/tokens';

const policy = loadPolicy();
const store = recordStore();
const rotationDeps = () => ({
  store,
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  policy,
  rotationStateMachineArn: rotationStateMachineArn(),
});
const revokeDeps = () => ({
  store,
  audit: auditLog(),
  atlassian: atlassian(),
  vault: tokenVault(),
  schedules: rotationSchedules(),
  stopRotation: rotationStopper(),
  startRevocation: revocationStarter(),
  clock: systemClock,
  policy,
});

/** `GET /tokens`, `GET /tokens/{tokenId}`, `POST /tokens/{tokenId}/rotate`, `POST /tokens/{tokenId}/revoke`. */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  const tokenId = event.pathParameters?.tokenId ?? '';
  switch (event.routeKey) {
    case 'GET /tokens':
      return json(200, await listTokens(store, caller, event.queryStringParameters ?? {}));
    case 'GET /tokens/{tokenId}':
      return json(200, await getToken(store, caller, tokenId));
    case 'POST /tokens/{tokenId}/rotate':
      return json(202, await rotateNow(rotationDeps(), caller, tokenId));
    case 'POST /tokens/{tokenId}/revoke': {
      if (!caller.isAdmin) throw new RequestError('FORBIDDEN', 'only admins can revoke tokens');
      const reason = parseRevokeBody(jsonBody(event, { optional: true }));
      return json(200, await revokeToken(revokeDeps(), caller, tokenId, reason));
    }
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
