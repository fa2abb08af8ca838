/**
 * Email texts about issued tokens and the organization's key: rotation results and failures, revocation, expiry,
 * expiry reminders, the inventory's drift and the org key's warning. Pure: no I/O. Each value is kept on one line
 * with its URLs unlinked (./text), so an email carries no link but the ones written here.
 */
import type { DriftFinding } from './inventory';
import type { TokenRecord } from './model';
import type { RenderedEmail } from './notice';
import type { ExpiryRisk } from './reminders';
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

/**
 * To the admins: what the periodic inventory found different between the records and Atlassian. Without `findings`
 * (a later inventory replaced that run's report before this was sent) it gives the count and where to look.
 */
export function driftEmail(generatedAt: string, count: number, findings?: readonly DriftFinding[]): RenderedEmail {
  const list = findings
    ? findings.map((f) =>
        v(`- ${[f.kind, f.serviceAccount, f.label, f.tokenId].filter(Boolean).join(' ')}: ${f.detail}`),
      )
    : ['(A later inventory has replaced this report since; its own findings are in the latest report.)'];
  return plainEmail(`Token inventory: ${count} finding(s)`, [
    `The inventory of ${v(generatedAt)} found differences between Token Warden's records and Atlassian:`,
    '',
    ...list,
    '',
    'GET /inventory/drift shows the full report.',
  ]);
}

/** What an expiry reminder says beyond the token: the mark reached and why the token will not renew itself. */
export interface ExpiryReminderFacts {
  /** Whole days left until the expiry. */
  daysLeft: number;
  why: ExpiryRisk;
  /** The token's service account is issued manually (`issuance: manual`): an admin uploads each new token. */
  manual: boolean;
}

/**
 * To the owner and the admins: the token reached an `expiryDays` mark and will not be rotated by itself before it
 * expires; what to do about it.
 */
export function expiryReminderEmail(token: TokenRecord, facts: ExpiryReminderFacts): RenderedEmail {
  const error = token.lastRotationError;
  const failed = error ? `${v(error.code)} at ${error.at}` : 'an unknown error';
  const todo =
    facts.why === 'awaiting-upload'
      ? [
          'Its rotation waits for an admin to upload the new token: each admin in notifications.adminEmails has an',
          'upload email naming the label and expiry to create in admin.atlassian.com; one of them creates it there and',
          'pastes its value on the upload page.',
        ]
      : facts.why === 'rotation-failing' && facts.manual
        ? [
            `Its last upload round ended without a new token (${failed}). Token Warden asks the admins for an upload`,
            'again at the next daily sweep; an admin can also rotate it now to send new upload links at once.',
          ]
        : facts.why === 'rotation-failing'
          ? [
              `Its last rotation failed (${failed}) and Token Warden retries at the next daily sweep. Check the rotation`,
              "errors (the token's page, the rotation workflow's failed executions), fix the cause, then rotate it now.",
            ]
          : ['No rotation is planned before it expires. Rotate it now, or request a new token in its place.'];
  return plainEmail(`Action needed: token expires in ${facts.daysLeft} day(s): ${named(token)}`, [
    `Token ${token.tokenId} (${token.secretName}) expires at ${token.expiresAt} and will not be rotated by itself before then.`,
    ...todo,
    `If nothing is done, CI reading this secret fails from ${token.expiresAt}.`,
  ]);
}
