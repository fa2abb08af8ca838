import { atlassian, auditLog, linkAndSealKey, recordStore, tokenVault, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { uploadPage } from '../domain/messages';
import { systemClock } from '../domain/ports';
import { type ApiResult, formBody, htmlPage, linkPageHandler } from '../edge/http';
import { receiveUpload, showUpload, type UploadPageAnswer, type UploadPageDeps } from '../use-cases/uploads';

const deps: UploadPageDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  vault: tokenVault(),
  atlassian: atlassian(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  linkAndSealKey,
};

const render = (answer: UploadPageAnswer): ApiResult => htmlPage(answer.status, uploadPage(answer.model));

/**
 * `GET /uploads/{uploadId}?sig=` (what to create, and the form) and `POST /uploads/{uploadId}` (the token value, as
 * `application/x-www-form-urlencoded` `token`, `sig`, `csrf`). The signed link authenticates; no authorizer.
 */
export const handler = linkPageHandler(
  (status, model) => htmlPage(status, uploadPage(model)),
  async (event) => {
    const uploadId = event.pathParameters?.uploadId ?? '';
    if (event.routeKey === 'GET /uploads/{uploadId}') {
      return render(await showUpload(deps, uploadId, event.queryStringParameters?.sig));
    }
    if (event.routeKey === 'POST /uploads/{uploadId}') {
      return render(await receiveUpload(deps, uploadId, formBody(event)));
    }
    return undefined;
  },
);
