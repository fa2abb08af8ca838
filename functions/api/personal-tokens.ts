import { personalTokenDeps, scanStarter } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { RequestError } from '../domain/errors';
import { apiHandler, callerOf, json, jsonBody } from '../edge/http';
import {
  abandonScan,
  beginScan,
  getPersonalToken,
  getScan,
  listPersonalTokens,
  parsePersonalRevokeBody,
  revokePersonalToken,
} from '../use-cases/personal-tokens';

const policy = loadPolicy();
const deps = personalTokenDeps();

/**
 * `GET /inventory/personal-tokens`, `GET /inventory/personal-tokens/{atlassianTokenId}`,
 * `POST /inventory/personal-tokens/{atlassianTokenId}/revoke`, `POST /inventory/scan`, `GET /inventory/scans/{scanId}`
 * (admins) and `GET /me/personal-tokens` (members: their own).
 */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  const query = event.queryStringParameters ?? {};
  const id = event.pathParameters?.atlassianTokenId ?? '';
  switch (event.routeKey) {
    case 'GET /inventory/personal-tokens':
      return json(200, await listPersonalTokens(deps, caller, query, 'all'));
    case 'GET /me/personal-tokens':
      return json(200, await listPersonalTokens(deps, caller, query, 'mine'));
    case 'GET /inventory/personal-tokens/{atlassianTokenId}':
      return json(200, await getPersonalToken(deps, caller, id));
    case 'POST /inventory/personal-tokens/{atlassianTokenId}/revoke': {
      if (!caller.isAdmin) throw new RequestError('FORBIDDEN', 'only admins can revoke personal tokens');
      const reason = parsePersonalRevokeBody(jsonBody(event, { optional: true }));
      return json(200, await revokePersonalToken(deps, caller, id, reason));
    }
    case 'POST /inventory/scan': {
      const scan = await beginScan(deps, { caller });
      try {
        await scanStarter()(scan.scanId);
      } catch (error) {
        // Nothing runs the scan: give the lock back so the next request (or the schedule) can.
        await abandonScan(deps, scan.scanId, 'the scan workflow did not start');
        throw error;
      }
      return json(202, { scanId: scan.scanId, startedAt: scan.startedAt });
    }
    case 'GET /inventory/scans/{scanId}':
      return json(200, await getScan(deps, caller, event.pathParameters?.scanId ?? ''));
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
