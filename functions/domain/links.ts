import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { MAX_APPROVAL_EXPIRY_HOURS } from './policy';
import type { Random } from './ports';

/**
 * The link-signing key as Token Warden holds it: `current` (Secrets Manager's `AWSCURRENT`) signs links and seals
 * task tokens; links and sealed tokens made with `previous` (`AWSPREVIOUS`, the version the last rotation replaced)
 * are still accepted. Nothing signed lives longer than {@link MAX_APPROVAL_EXPIRY_HOURS} and rotations are further
 * apart than that, so nothing still valid was made with an older key.
 */
export interface LinkKeys {
  readonly current: Buffer;
  readonly previous?: Buffer | undefined;
}

/**
 * Days between automatic rotations of the link-signing key: two days more than the longest life of anything it signs
 * or seals (an approval or upload link, a sealed task token; a sign-in state lives minutes). Secrets Manager rotates
 * at any time of its window's UTC day, so two rotations can come a day less apart than this, and containers sign with
 * a key they read up to five minutes before: the margin keeps a key in `AWSPREVIOUS` until nothing it made is valid.
 */
export const LINK_KEY_ROTATION_DAYS = Math.ceil(MAX_APPROVAL_EXPIRY_HOURS / 24) + 2;

/** Length of a link-signing key: 64 alphanumeric characters, as the stack generates the first one. */
export const LINK_KEY_LENGTH = 64;

/** Whether `value` has the shape of a link-signing key. */
export const isLinkKey = (value: string) => value.length === LINK_KEY_LENGTH && /^[A-Za-z0-9]+$/.test(value);

/**
 * A new link-signing key from `random`: 64 characters, each uniform over the 62 alphanumerics (base64url
 * characters of random bytes are uniform over 64 symbols; dropping `-` and `_` leaves the rest uniform).
 */
export function newLinkKey(random: Pick<Random, 'secret'>): string {
  let key = '';
  for (let draw = 0; draw < 16 && key.length < LINK_KEY_LENGTH; draw++) {
    key += random.secret(48).replace(/[^A-Za-z0-9]/g, '');
  }
  if (key.length < LINK_KEY_LENGTH) throw new Error('the randomness source gave too few alphanumeric characters');
  return key.slice(0, LINK_KEY_LENGTH);
}

/** The keys to accept, current first. */
const acceptedKeys = (keys: LinkKeys): Buffer[] => (keys.previous ? [keys.current, keys.previous] : [keys.current]);

/**
 * Approval links carry `sig = <expiresEpochSeconds>.<mac>`: an HMAC-SHA256 over the approval id, the approver's
 * email and the expiry, keyed with the link-signing key. The approver's email is not in the link; it is looked up by
 * approval id and bound by the MAC, so one approver's link cannot decide as another.
 */
export function signApprovalLink(key: Buffer, approvalId: string, approver: string, expiresAt: Date): string {
  return sign(key, 'approval-link', approvalId, approver, expiresAt);
}

export type LinkCheck = { valid: true; expiresAt: Date } | { valid: false };

/** Checks a `sig` in constant time. Expiry is reported, not judged: the caller answers 410 for an expired link. */
export function verifyApprovalLink(key: Buffer, approvalId: string, approver: string, sig: string): LinkCheck {
  return verify(key, 'approval-link', approvalId, approver, sig);
}

/** {@link verifyApprovalLink} with each accepted key: valid when the current or the previous key made `sig`. */
export function verifyApprovalLinkWithAny(
  keys: LinkKeys,
  approvalId: string,
  approver: string,
  sig: string,
): LinkCheck {
  return verifyWithAny(keys, 'approval-link', approvalId, approver, sig);
}

/**
 * Upload links (manual issuance) have the same shape, over the upload id, the admin's email and the expiry, but the
 * MAC is keyed with a subkey derived for another purpose: an approval `sig` never verifies as an upload `sig`, nor
 * the other way round, even for equal ids.
 */
export function signUploadLink(key: Buffer, uploadId: string, admin: string, expiresAt: Date): string {
  return sign(key, 'upload-link', uploadId, admin, expiresAt);
}

/** Checks an upload link's `sig` in constant time; expiry is reported, not judged. */
export function verifyUploadLink(key: Buffer, uploadId: string, admin: string, sig: string): LinkCheck {
  return verify(key, 'upload-link', uploadId, admin, sig);
}

/** {@link verifyUploadLink} with each accepted key. */
export function verifyUploadLinkWithAny(keys: LinkKeys, uploadId: string, admin: string, sig: string): LinkCheck {
  return verifyWithAny(keys, 'upload-link', uploadId, admin, sig);
}

type LinkPurpose = 'approval-link' | 'upload-link';

function verifyWithAny(keys: LinkKeys, purpose: LinkPurpose, id: string, email: string, sig: string): LinkCheck {
  for (const key of acceptedKeys(keys)) {
    const check = verify(key, purpose, id, email, sig);
    if (check.valid) return check;
  }
  return { valid: false };
}

function sign(key: Buffer, purpose: LinkPurpose, id: string, email: string, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return `${expires}.${mac(key, purpose, id, email, expires)}`;
}

function verify(key: Buffer, purpose: LinkPurpose, id: string, email: string, sig: string): LinkCheck {
  const match = /^(\d{9,11})\.([A-Za-z0-9_-]{43})$/.exec(sig);
  if (!match) return { valid: false };
  const expires = Number(match[1]);
  const expected = Buffer.from(mac(key, purpose, id, email, expires));
  const given = Buffer.from(match[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false };
  return { valid: true, expiresAt: new Date(expires * 1000) };
}

function mac(key: Buffer, purpose: LinkPurpose, id: string, email: string, expires: number): string {
  return createHmac('sha256', subkey(key, purpose))
    .update(`${id}\n${email.toLowerCase()}\n${expires}`)
    .digest('base64url');
}

function subkey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `token-warden:${purpose}`, 32));
}

/** Seals a workflow task token for storage (AES-256-GCM), so table items never hold it in clear. */
export function sealTaskToken(key: Buffer, taskToken: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', subkey(key, 'task-token'), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(taskToken, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join(
    '.',
  );
}

export function unsealTaskToken(key: Buffer, sealed: string, context: string): string {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || !body || !tag) throw new Error('sealed task token has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', subkey(key, 'task-token'), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

/**
 * {@link unsealTaskToken} with each accepted key: the task token, or undefined when neither key opens `sealed` for
 * `context` (or its format is unknown).
 */
export function unsealTaskTokenWithAny(keys: LinkKeys, sealed: string, context: string): string | undefined {
  for (const key of acceptedKeys(keys)) {
    try {
      return unsealTaskToken(key, sealed, context);
    } catch {
      // Another key, a tampered value or another context: the next key, if any, decides.
    }
  }
  return undefined;
}

/** Anti-forgery values are stored hashed. */
export const csrfHash = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Approver sign-in (policy `approverSignIn`). The OpenID Connect `state` names the approval and when the sign-in
 * began, and is MACed with its own subkey: `<approvalId>.<issuedEpochSeconds>.<random>.<mac>`. Nothing about the
 * sign-in is stored server-side; what must stay secret (the PKCE verifier and the nonce) is derived from the state
 * and a random value kept only in the approver's browser (an HttpOnly cookie), so a stolen authorization code and
 * state cannot be redeemed from another browser.
 */
export function signSignInState(key: Buffer, approvalId: string, issuedAt: Date, random: string): string {
  const body = `${approvalId}.${Math.floor(issuedAt.getTime() / 1000)}.${random}`;
  return `${body}.${createHmac('sha256', subkey(key, 'sign-in-state')).update(body).digest('base64url')}`;
}

/** Reads a sign-in `state` in constant time; undefined when it is malformed or was not made with this key. */
export function readSignInState(key: Buffer, state: string): { approvalId: string; issuedAt: Date } | undefined {
  const match = /^(apv_[a-z2-7]{26})\.(\d{9,11})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/.exec(state);
  if (!match) return undefined;
  const body = `${match[1]}.${match[2]}.${match[3]}`;
  const expected = Buffer.from(createHmac('sha256', subkey(key, 'sign-in-state')).update(body).digest('base64url'));
  const given = Buffer.from(match[4]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { approvalId: match[1]!, issuedAt: new Date(Number(match[2]) * 1000) };
}

/**
 * {@link readSignInState} with each accepted key; the state read and the key that made it, which is also the key
 * its PKCE verifier and nonce are derived with ({@link signInSecrets}).
 */
export function readSignInStateWithAny(
  keys: LinkKeys,
  state: string,
): { approvalId: string; issuedAt: Date; key: Buffer } | undefined {
  for (const key of acceptedKeys(keys)) {
    const read = readSignInState(key, state);
    if (read) return { ...read, key };
  }
  return undefined;
}

/** The PKCE pair (RFC 7636, S256) and the OpenID Connect nonce of one sign-in, bound to the browser's value. */
export function signInSecrets(
  key: Buffer,
  state: string,
  browserBinding: string,
): { codeVerifier: string; codeChallenge: string; nonce: string } {
  const derive = (purpose: string) =>
    createHmac('sha256', subkey(key, purpose)).update(`${state}\n${browserBinding}`).digest('base64url');
  const codeVerifier = derive('pkce-verifier');
  return {
    codeVerifier,
    codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    nonce: derive('oidc-nonce'),
  };
}

/**
 * Anti-forgery values issued after a verified sign-in are stored under a hash that also names the signed-in
 * approver, so a value from a page rendered without sign-in never passes where sign-in is required.
 */
export const signedInCsrfHash = (value: string, approver: string) =>
  csrfHash(`signed-in\n${approver.toLowerCase()}\n${value}`);
