import { readAudit } from '../app/audit';
import { RequestError } from '../domain/errors';
import { auditReader, recordStore } from '../shared/deps';
import { apiHandler, callerOf, json } from '../shared/http';
import { loadPolicy } from '../shared/policy-loader';

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
