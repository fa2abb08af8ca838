import { auditReader, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { RequestError } from '../domain/errors';
import { apiHandler, callerOf, json } from '../edge/http';
import { readAudit } from '../use-cases/audit';

const policy = loadPolicy();
const store = recordStore();

/** `GET /audit`, `GET /inventory/drift` (admins only). */
export const handler = apiHandler(async (event) => {
  const caller = callerOf(event, policy);
  if (!caller.isAdmin) throw new RequestError('FORBIDDEN', 'admins only');
  switch (event.routeKey) {
    case 'GET /audit':
      return json(200, await readAudit(auditReader(), caller, event.queryStringParameters ?? {}));
    case 'GET /inventory/drift': {
      const report = await store.getDriftReport();
      if (!report) throw new RequestError('NOT_FOUND', 'no inventory has run yet');
      return json(200, report);
    }
    default:
      throw new RequestError('NOT_FOUND', 'route not found');
  }
});
