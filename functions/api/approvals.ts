import { envVar, readConfig } from '../composition/config';
import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { approverSignIn } from '../composition/sign-in';
import { approvalPage } from '../domain/messages';
import { systemClock } from '../domain/ports';
import { type ApiEvent, type ApiResult, formBody, htmlPage, linkPageHandler } from '../edge/http';
import { logger } from '../edge/logger';
import {
  type ApprovalPageDeps,
  completeSignIn,
  decideApproval,
  type PageAnswer,
  SIGN_IN_CALLBACK_PATH,
  type SignInRedirect,
  showApproval,
  signInCookieName,
} from '../use-cases/approvals';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const policy = loadPolicy();
// No mailer: the page, the decision and the sign-in send no mail (the workflow's steps email the outcome).
const deps: ApprovalPageDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  random: cryptoRandom,
  policy,
  linkAndSealKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
  log: logger,
};
// Only read when the policy asks for sign-in: a deployment without it needs no identity provider settings.
if (policy.approverSignIn) deps.signIn = approverSignIn();

const secureCookies = config.APPROVAL_BASE_URL.startsWith('https:');
const cookie = (approvalId: string, value: string, maxAgeSeconds: number) =>
  `${signInCookieName(approvalId)}=${value}; Path=${SIGN_IN_CALLBACK_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secureCookies ? '; Secure' : ''}`;

const render = (answer: PageAnswer): ApiResult => htmlPage(answer.status, approvalPage(answer.model));

function redirect(approvalId: string, answer: SignInRedirect): ApiResult {
  const result = htmlPage(302, approvalPage(answer.model));
  return {
    ...result,
    headers: { ...result.headers, location: answer.location },
    cookies: [cookie(approvalId, answer.browserBinding, 15 * 60)],
  };
}

/** The sign-in's browser binding: the cookie named for the approval its state names. */
function browserBinding(event: ApiEvent, state: string | undefined): { approvalId?: string; value?: string } {
  const approvalId = /^(apv_[a-z2-7]{26})\./.exec(state ?? '')?.[1];
  if (!approvalId) return {};
  const name = `${signInCookieName(approvalId)}=`;
  const value = (event.cookies ?? []).find((c) => c.startsWith(name))?.slice(name.length);
  return { approvalId, ...(value && /^[A-Za-z0-9_-]{43}$/.test(value) ? { value } : {}) };
}

/**
 * `GET /approvals/{approvalId}?sig=` (the confirmation page, or the way to sign in first), `POST
 * /approvals/{approvalId}` (the decision) and `GET /approvals/sign-in/callback` (back from the identity provider).
 */
export const handler = linkPageHandler(
  (status, model) => htmlPage(status, approvalPage(model)),
  async (event) => {
    const approvalId = event.pathParameters?.approvalId ?? '';
    if (event.routeKey === 'GET /approvals/{approvalId}') {
      const answer = await showApproval(deps, approvalId, event.queryStringParameters?.sig);
      return answer.status === 302 ? redirect(approvalId, answer) : render(answer);
    }
    if (event.routeKey === 'POST /approvals/{approvalId}') {
      return render(await decideApproval(deps, approvalId, formBody(event)));
    }
    if (event.routeKey === `GET ${SIGN_IN_CALLBACK_PATH}` && deps.signIn) {
      const query = event.queryStringParameters ?? {};
      const binding = browserBinding(event, query.state);
      const result = render(await completeSignIn(deps, query, binding.value));
      // The binding is single-use: it is cleared whatever the outcome.
      return binding.approvalId ? { ...result, cookies: [cookie(binding.approvalId, '', 0)] } : result;
    }
    return undefined;
  },
);
