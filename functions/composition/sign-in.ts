import { OidcSignIn } from '../adapters/oidc/sign-in';
import type { ApproverSignIn } from '../use-cases/ports';
import { envVar, readConfig } from './config';

/**
 * The identity provider approvers sign in with. Its own module, so only the approval pages' bundle carries the
 * OpenID Connect client; called only when the policy asks for sign-in, so a deployment without it needs none of
 * these settings.
 */
export function approverSignIn(): ApproverSignIn {
  const config = readConfig({ SIGN_IN_ISSUER: envVar.url, SIGN_IN_CLIENT_ID: envVar.name });
  return new OidcSignIn({
    issuer: config.SIGN_IN_ISSUER,
    clientId: config.SIGN_IN_CLIENT_ID,
    now: () => Math.floor(Date.now() / 1000),
  });
}
