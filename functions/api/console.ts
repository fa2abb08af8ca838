import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { RequestError, validationError } from '../domain/errors';
import { systemClock } from '../domain/ports';
import { type ApiEvent, apiHandler, callerOf, json, jsonBody } from '../edge/http';
import { logger } from '../edge/logger';
import { type DecisionDeps, decideAsApprover, getApprovalSubject, listPendingApprovals } from '../use-cases/approvals';
import { profileOf } from '../use-cases/caller-profile';
import { catalogOf } from '../use-cases/catalog';

const policy = loadPolicy();
const deps: DecisionDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  policy,
  linkAndSealKey,
  log: logger,
};

/** These routes take no query parameters: the first one sent is refused by name. */
function refuseQuery(event: ApiEvent): void {
  const unknown = Object.keys(event.queryStringParameters ?? {})[0];
  if (unknown !== undefined) throw validationError(unknown, `unknown query parameter '${unknown}'`);
}

/**
 * The routes the web console adds for members: `GET /me`, `GET /catalog`, `GET /approvals?status=pending`,
 * `GET /approvals/{approvalId}/request` and `POST /approvals/{approvalId}/decision` (the signed-in approver's own).
 */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  const approvalId = event.pathParameters?.approvalId ?? '';
  switch (event.routeKey) {
    case 'GET /me':
      refuseQuery(event);
      return json(200, profileOf(policy, caller));
    case 'GET /catalog':
      refuseQuery(event);
      return json(200, catalogOf(policy));
    case 'GET /approvals':
      return json(200, await listPendingApprovals(deps, caller, event.queryStringParameters ?? {}));
    case 'GET /approvals/{approvalId}/request':
      return json(200, await getApprovalSubject(deps, caller, approvalId));
    case 'POST /approvals/{approvalId}/decision':
      return json(200, await decideAsApprover(deps, caller, approvalId, jsonBody(event)));
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
