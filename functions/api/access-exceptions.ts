import { envVar, readConfig } from '../composition/config';
import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { RequestError } from '../domain/errors';
import { systemClock } from '../domain/ports';
import { apiHandler, callerOf, header, json, jsonBody } from '../edge/http';
import {
  cancelException,
  createException,
  type ExceptionRouteDeps,
  endException,
  getException,
  listExceptions,
} from '../use-cases/access-exceptions';

const policy = loadPolicy();
const config = readConfig({ EXCEPTION_STATE_MACHINE_ARN: envVar.arn });
const deps: ExceptionRouteDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  random: cryptoRandom,
  policy,
  linkAndSealKey,
  exceptionStateMachineArn: config.EXCEPTION_STATE_MACHINE_ARN,
};

/**
 * `POST /access-exceptions`, `GET /access-exceptions`, `GET /access-exceptions/{exceptionId}`,
 * `POST /access-exceptions/{exceptionId}/cancel`, `POST /access-exceptions/{exceptionId}/end`.
 */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  const id = event.pathParameters?.exceptionId ?? '';
  switch (event.routeKey) {
    case 'POST /access-exceptions':
      return json(202, await createException(deps, caller, jsonBody(event), header(event, 'idempotency-key')));
    case 'GET /access-exceptions':
      return json(200, await listExceptions(deps, caller, event.queryStringParameters ?? {}));
    case 'GET /access-exceptions/{exceptionId}':
      return json(200, await getException(deps, caller, id));
    case 'POST /access-exceptions/{exceptionId}/cancel':
      return json(200, await cancelException(deps, caller, id));
    case 'POST /access-exceptions/{exceptionId}/end':
      return json(202, await endException(deps, caller, id));
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
