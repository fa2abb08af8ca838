/** The deployment's settings, which the assets function writes into `index.html`'s `tw-config` meta tag. */
export interface ConsoleConfig {
  /** The OpenID Connect issuer (the same one the API's JWT authorizer trusts). */
  issuer: string;
  /** This public client's id at the issuer. */
  clientId: string;
}

/** Reads and checks the configuration; throws a plain message when the page was served without it. */
export function readConfig(doc: Document = document): ConsoleConfig {
  const raw = doc.querySelector<HTMLMetaElement>('meta[name="tw-config"]')?.content ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('The console was served without its configuration.');
  }
  const { issuer, clientId } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof issuer !== 'string' || typeof clientId !== 'string' || !issuer || !clientId) {
    throw new Error('The console configuration names no identity provider.');
  }
  return { issuer, clientId };
}

/** Where the console lives on the API's origin. */
export const CONSOLE_BASE = '/console';
/** The redirect URI registered for the console at the identity provider. */
export const callbackUrl = () => `${location.origin}${CONSOLE_BASE}/callback`;

/** Only a console page on this origin is a place to come back to after sign-in (never another path or site). */
export function isConsolePage(path: string): boolean {
  return (path === CONSOLE_BASE || path.startsWith(`${CONSOLE_BASE}/`)) && !path.startsWith(`${CONSOLE_BASE}/callback`);
}
