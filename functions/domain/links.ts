import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * Approval links carry `sig = <expiresEpochSeconds>.<mac>`: an HMAC-SHA256 over the approval id, the approver's
 * email and the expiry, keyed with the link-signing key. The approver's email is not in the link; it is looked up by
 * approval id and bound by the MAC, so one approver's link cannot decide as another.
 */
export function signApprovalLink(key: Buffer, approvalId: string, approver: string, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return `${expires}.${mac(key, approvalId, approver, expires)}`;
}

export type LinkCheck = { valid: true; expiresAt: Date } | { valid: false };

/** Checks a `sig` in constant time. Expiry is reported, not judged: the caller answers 410 for an expired link. */
export function verifyApprovalLink(key: Buffer, approvalId: string, approver: string, sig: string): LinkCheck {
  const match = /^(\d{9,11})\.([A-Za-z0-9_-]{43})$/.exec(sig);
  if (!match) return { valid: false };
  const expires = Number(match[1]);
  const expected = Buffer.from(mac(key, approvalId, approver, expires));
  const given = Buffer.from(match[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false };
  return { valid: true, expiresAt: new Date(expires * 1000) };
}

function mac(key: Buffer, approvalId: string, approver: string, expires: number): string {
  return createHmac('sha256', subkey(key, 'approval-link'))
    .update(`${approvalId}\n${approver.toLowerCase()}\n${expires}`)
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

/** Anti-forgery values are stored hashed. */
export const csrfHash = (value: string) => createHash('sha256').update(value).digest('hex');
