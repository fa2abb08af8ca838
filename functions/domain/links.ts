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
  return sign(key, 'approval-link', approvalId, approver, expiresAt);
}

export type LinkCheck = { valid: true; expiresAt: Date } | { valid: false };

/** Checks a `sig` in constant time. Expiry is reported, not judged: the caller answers 410 for an expired link. */
export function verifyApprovalLink(key: Buffer, approvalId: string, approver: string, sig: string): LinkCheck {
  return verify(key, 'approval-link', approvalId, approver, sig);
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

type LinkPurpose = 'approval-link' | 'upload-link';

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

/** Anti-forgery values are stored hashed. */
export const csrfHash = (value: string) => createHash('sha256').update(value).digest('hex');
