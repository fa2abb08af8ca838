import { type ApprovalDeps, decideApproval, type PageAnswer, showApproval } from '../app/approvals';
import { RequestError } from '../domain/errors';
import { approvalPage } from '../domain/messages';
import { systemClock } from '../domain/ports';
import { envVar, readConfig } from '../shared/config';
import { auditLog, mailer, recordStore, signingKey, workflows } from '../shared/deps';
import { type ApiResult, apiHandler, formBody, htmlPage } from '../shared/http';
import { loadPolicy } from '../shared/policy-loader';
import { cryptoRandom } from '../shared/random';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const deps: ApprovalDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  signingKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
};

const render = (answer: PageAnswer): ApiResult => htmlPage(answer.status, approvalPage(answer.model));

/** `GET /approvals/{approvalId}?sig=` (the confirmation page) and `POST /approvals/{approvalId}` (the decision). */
export const handler = apiHandler(async (event) => {
  const approvalId = event.pathParameters?.approvalId ?? '';
  try {
    if (event.routeKey === 'GET /approvals/{approvalId}') {
      return render(await showApproval(deps, approvalId, event.queryStringParameters?.sig));
    }
    if (event.routeKey === 'POST /approvals/{approvalId}') {
      return render(await decideApproval(deps, approvalId, formBody(event)));
    }
  } catch (error) {
    if (error instanceof RequestError) {
      return {
        ...render({ status: 403, model: { title: 'Request not accepted', message: error.message } }),
        statusCode: error.status,
      };
    }
    throw error;
  }
  throw new RequestError('NOT_FOUND', 'route not found');
});
