import { receiveUpload, showUpload, type UploadPageAnswer, type UploadPageDeps } from '../app/uploads';
import { RequestError } from '../domain/errors';
import { uploadPage } from '../domain/messages';
import { systemClock } from '../domain/ports';
import { atlassian, auditLog, recordStore, signingKey, tokenVault, workflows } from '../shared/deps';
import { type ApiResult, apiHandler, formBody, htmlPage } from '../shared/http';
import { loadPolicy } from '../shared/policy-loader';
import { cryptoRandom } from '../shared/random';

const deps: UploadPageDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  vault: tokenVault(),
  atlassian: atlassian(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  signingKey,
};

const render = (answer: UploadPageAnswer): ApiResult => htmlPage(answer.status, uploadPage(answer.model));

/**
 * `GET /uploads/{uploadId}?sig=` (what to create, and the form) and `POST /uploads/{uploadId}` (the token value, as
 * `application/x-www-form-urlencoded` `token`, `sig`, `csrf`). The signed link authenticates; no authorizer.
 */
export const handler = apiHandler(async (event) => {
  const uploadId = event.pathParameters?.uploadId ?? '';
  try {
    if (event.routeKey === 'GET /uploads/{uploadId}') {
      return render(await showUpload(deps, uploadId, event.queryStringParameters?.sig));
    }
    if (event.routeKey === 'POST /uploads/{uploadId}') {
      return render(await receiveUpload(deps, uploadId, formBody(event)));
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
