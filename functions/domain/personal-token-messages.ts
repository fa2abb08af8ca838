/**
 * Email texts about members' personal tokens: the owner's notice and revocation, the admins' scan digest and their
 * alert when more revocations were due than the cap. Pure: no I/O. Labels and reasons come from Atlassian and admins,
 * so each is kept on one line with its URLs unlinked (./text); the console URL is the only link written here.
 */
import type { RenderedEmail } from './notice';
import type { PersonalTokenRecord } from './personal-tokens';
import { inlineForEmail } from './text';
import { plainEmail } from './token-messages';

/** How many new tokens a digest lists by name before "and N more" (and how many ids its event carries). */
export const DIGEST_LINES = 50;

const v = (value: string) => inlineForEmail(value.slice(0, 200));

/** Where members go instead of a personal token: a governed token, or a time-boxed exception. */
function wayOut(consoleUrl: string): string[] {
  return [
    'The way out:',
    `- For CI and scripts, request a governed service-account token: ${consoleUrl} (or POST /token-requests).`,
    `- If you truly need a personal token, ask for a time-boxed access exception: ${consoleUrl} (POST /access-exceptions).`,
  ];
}

/**
 * To the owner: Token Warden found their personal token, why it matters and the way out; in revoke mode, the date on
 * or after which it is revoked (`revokeAt`).
 */
export function personalTokenNoticeEmail(
  record: Pick<PersonalTokenRecord, 'atlassianTokenId' | 'label' | 'createdAt' | 'flags'>,
  revokeAt: string | undefined,
  consoleUrl: string,
): RenderedEmail {
  const label = v(record.label);
  const lines = [
    `Token Warden found your personal Atlassian API token "${label}" (id ${v(record.atlassianTokenId)}, created ${v(record.createdAt)}).`,
    `Findings: ${record.flags.length === 0 ? 'none beyond being a personal token' : record.flags.join(', ')}.`,
    '',
    'Why it matters: personal tokens act with all of your access, are not approved or rotated, and stop working',
    "when the organization's authentication policy blocks API tokens.",
  ];
  if (revokeAt) lines.push('', `It will be revoked on or after ${v(revokeAt)}.`);
  lines.push('', ...wayOut(consoleUrl));
  return plainEmail(
    revokeAt
      ? `Action needed: your Atlassian API token "${label}" will be revoked on ${v(revokeAt.slice(0, 10))}`
      : `Your Atlassian API token "${label}" was found by Token Warden`,
    lines,
  );
}

/** To the owner: Token Warden revoked their personal token (the notice period ended, or an admin's reason). */
export function personalTokenRevokedEmail(
  record: Pick<PersonalTokenRecord, 'atlassianTokenId' | 'label' | 'revokeReason'>,
  consoleUrl: string,
): RenderedEmail {
  const label = v(record.label);
  return plainEmail(`Your Atlassian API token "${label}" was revoked`, [
    `Token Warden revoked your personal Atlassian API token "${label}" (id ${v(record.atlassianTokenId)}).`,
    record.revokeReason === 'NOTICE_PERIOD_ENDED'
      ? 'Its notice period ended without the token being replaced or an access exception being granted.'
      : `Reason: ${v(record.revokeReason ?? 'unspecified')}`,
    '',
    ...wayOut(consoleUrl),
  ]);
}

/** To the admins: scan `scanId` found more revocations due than the cap, and made none. */
export function revocationsCappedEmail(scanId: string, due: number, cap: number): RenderedEmail {
  return plainEmail(`Personal tokens: ${due} revocations due, none made (over the cap of ${cap})`, [
    `The scan ${v(scanId)} found ${due} personal tokens whose notice period is over, more than`,
    `personalTokens.maxRevocationsPerScan (${cap}). Token Warden revoked none of them.`,
    '',
    'Check the policy (mode, revokeAfterDays, exemptUsers) and GET /inventory/personal-tokens?state=OPEN, then',
    'raise the cap or let the scans work through them.',
  ]);
}

/** What one complete scan did, as its digest tells it. */
export interface ScanDigest {
  scanId: string;
  mode: string;
  listed: number;
  new: number;
  gone: number;
  revoked: number;
  /** Revocations due but not made (over the cap); 0 when the cap did not hold them. */
  capped: number;
}

/** To the admins: one scan's counts and the first {@link DIGEST_LINES} new tokens, one line each. */
export function scanDigestEmail(
  digest: ScanDigest,
  found: ReadonlyArray<Pick<PersonalTokenRecord, 'atlassianTokenId' | 'owner' | 'label' | 'state' | 'flags'>>,
): RenderedEmail {
  const lines = found
    .slice(0, DIGEST_LINES)
    .map((r) =>
      `- ${v(r.owner.email)} "${v(r.label)}" (${v(r.atlassianTokenId)}) ${r.state} ${r.flags.join(' ')}`.trimEnd(),
    );
  if (digest.new > lines.length) lines.push(`- … and ${digest.new - lines.length} more`);
  return plainEmail(`Personal tokens: ${digest.new} new, ${digest.gone} gone, ${digest.revoked} revoked`, [
    `The scan ${v(digest.scanId)} listed ${digest.listed} personal tokens (mode ${v(digest.mode)}).`,
    `New: ${digest.new}. Gone: ${digest.gone}. Revoked: ${digest.revoked}.`,
    ...(digest.capped > 0 ? [`Revocations due but not made (over the cap): ${digest.capped}.`] : []),
    ...(lines.length > 0 ? ['', 'New tokens:', ...lines] : []),
    '',
    'GET /inventory/personal-tokens lists them all.',
  ]);
}
