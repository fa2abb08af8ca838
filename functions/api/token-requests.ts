import { envVar, readConfig } from '../composition/config';
import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { RequestError } from '../domain/errors';
import { systemClock } from '../domain/ports';
import { apiHandler, callerOf, header, json, jsonBody } from '../edge/http';
import {
  cancelTokenRequest,
  createTokenRequest,
  getTokenRequest,
  listTokenRequests,
  type RequestDeps,
} from '../use-cases/requests';

const config = readConfig({ ISSUANCE_STATE_MACHINE_ARN: envVar.arn });
const policy = loadPolicy();
const deps: RequestDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  random: cryptoRandom,
  policy,
  issuanceStateMachineArn: config.ISSUANCE_STATE_MACHINE_ARN,
  linkAndSealKey,
};

/** `POST|GET /token-requests`, `GET /token-requests/{requestId}`, `POST /token-requests/{requestId}/cancel`. */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  const requestId = event.pathParameters?.requestId ?? '';
  switch (event.routeKey) {
    case 'POST /token-requests':
      return json(202, await createTokenRequest(deps, caller, jsonBody(event), header(event, 'idempotency-key')));
    case 'GET /token-requests':
      return json(200, await listTokenRequests(deps, caller, event.queryStringParameters ?? {}));
    case 'GET /token-requests/{requestId}':
      return json(200, await getTokenRequest(deps, caller, requestId));
    case 'POST /token-requests/{requestId}/cancel':
      return json(200, await cancelTokenRequest(deps, caller, requestId));
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
