/**
 * Email texts about issued tokens and the organization's key: rotation results and failures, revocation, expiry,
 * expiry reminders, the inventory's drift and the org key's warning. Pure: no I/O. Each value is kept on one line
 * with its URLs unlinked (./text), so an email carries no link but the ones written here.
 */
import type { DriftFinding } from './inventory';
import type { TokenRecord } from './model';
import type { RenderedEmail } from './notice';
import { escapeHtml, inlineForEmail } from './text';

/** A plain email: the lines as text, and the same lines as one HTML paragraph. */
export function plainEmail(subject: string, lines: string[]): RenderedEmail {
  const text = lines.join('\n');
  return { subject: inlineForEmail(subject), text, html: `<p>${escapeHtml(text).split('\n').join('<br>')}</p>` };
}

const v = inlineForEmail;
const named = (t: Pick<TokenRecord, 'serviceAccount' | 'name'>) => `${v(t.serviceAccount)} "${v(t.name)}"`;

/** To the owner: a new generation is current and the previous ones are revoked. */
export function rotatedEmail(token: TokenRecord, generation: number): RenderedEmail {
  return plainEmail(`Token rotated: ${named(token)}`, [
    `Token ${token.tokenId} (${token.secretName}) was rotated to generation ${generation}.`,
    `The new token expires at ${token.expiresAt}; the previous one is now revoked.`,
    'CI reading the secret picks up the new value on its next read; nothing to do.',
  ]);
}

/** To the owner and the admins: one rotation attempt failed; the current token keeps working. */
export function rotationFailedEmail(token: TokenRecord, generation: number, code: string): RenderedEmail {
  return plainEmail(`Token rotation failed: ${named(token)}`, [
    `Rotating token ${token.tokenId} (${token.secretName}) to generation ${generation} failed: ${v(code)}.`,
    `The current token stays in place and keeps working until ${token.expiresAt}.`,
    'Token Warden retries at the next daily sweep; an admin can also rotate it now.',
  ]);
}

/** To the owner: an admin revoked the token. */
export function revokedEmail(token: TokenRecord, by: string, reason: string): RenderedEmail {
  return plainEmail(`Token revoked: ${named(token)}`, [
    `Token ${token.tokenId} (${token.secretName}) was revoked by ${v(by)}.`,
    `Reason: ${v(reason)}`,
    'Every generation of it is revoked at Atlassian and its secret is scheduled for deletion.',
  ]);
}

/** To the owner and the admins: expiry passed without a successful rotation. */
export function expiredEmail(token: TokenRecord, expiresAt: string): RenderedEmail {
  return plainEmail(`Token expired: ${named(token)}`, [
    `Token ${token.tokenId} (${token.secretName}) expired at ${v(expiresAt)} without a successful rotation.`,
    'CI reading this secret now fails. Request a new token, or ask an admin to investigate the rotation errors.',
  ]);
}

/** To the admins: the organization API key expires in `daysLeft` days (negative: it has expired). */
export function orgKeyExpiryEmail(expiresAt: string, daysLeft: number): RenderedEmail {
  const expired = daysLeft < 0;
  return plainEmail(
    expired
      ? 'Atlassian organization API key has expired'
      : `Atlassian organization API key expires in ${daysLeft} day(s)`,
    [
      expired
        ? `The Atlassian organization API key expired at ${v(expiresAt)}: issuance, rotation and revocation fail until it is replaced.`
        : `The Atlassian organization API key expires at ${v(expiresAt)}.`,
      'Create a new key without scopes in admin.atlassian.com, store it as the secret value, and update the',
      "secret's token-warden:expires-at tag.",
    ],
  );
}

/** To the admins: what the periodic inventory found different between the records and Atlassian. */
export function driftEmail(generatedAt: string, findings: readonly DriftFinding[]): RenderedEmail {
  return plainEmail(`Token inventory: ${findings.length} finding(s)`, [
    `The inventory of ${v(generatedAt)} found differences between Token Warden's records and Atlassian:`,
    '',
    ...findings.map((f) =>
      v(`- ${f.kind} ${f.serviceAccount} ${f.label ?? ''} ${f.tokenId ?? ''}: ${f.detail}`.replace(/ {2,}/g, ' ')),
    ),
    '',
    'GET /inventory/drift shows the full report.',
  ]);
}
