/**
 * Chat notices of lifecycle events that have no request- or exception-shaped builder in `./messages`: what happened
 * to a token ({@link tokenEventNotice}), and a plain notice for any other event ({@link genericEventNotice}). Rows
 * come from a fixed list of detail keys whose values are ids, names, counts, dates and codes: nothing else an event
 * may carry reaches a channel. Pure.
 */
import type { TokenRecord } from './model';
import type { Notice, NoticeAction, NoticeTone } from './notice';
import type { AuditEvent, AuditRecord } from './records';

/**
 * The `details` keys a chat notice shows, with their labels, in this order. Each holds an id, a name, a count, a
 * date, a mode or an error code (docs/events.md), never free text a member typed or anything token-like.
 */
export const CHAT_DETAIL_ROWS: readonly (readonly [string, string])[] = [
  ['serviceAccount', 'Service account'],
  ['name', 'Token name'],
  ['approver', 'Approver'],
  ['expiresAt', 'Expires'],
  ['outcome', 'Outcome'],
  ['reason', 'Reason'],
  ['code', 'Error code'],
  ['error', 'Error'],
  ['generation', 'Generation'],
  ['attempt', 'Attempt'],
  ['label', 'Label'],
  ['owner', 'Owner'],
  ['member', 'Member'],
  ['exceptionId', 'Exception'],
  ['atlassianTokenId', 'Atlassian token id'],
  ['state', 'State'],
  ['flags', 'Flags'],
  ['mode', 'Mode'],
  ['days', 'Days'],
  ['endsAt', 'Ends'],
  ['revokeAt', 'Revoked on'],
  ['due', 'Revocations due'],
  ['maxRevocationsPerScan', 'At most per scan'],
  ['listed', 'Listed'],
  ['willRetry', 'Will retry'],
  ['failures', 'Failures'],
];

const MAX_VALUE_LENGTH = 200;

/** The rows of the known-safe `details` keys an event carries. */
export function detailRows(details: AuditRecord['details']): [string, string][] {
  if (!details) return [];
  const rows: [string, string][] = [];
  for (const [key, label] of CHAT_DETAIL_ROWS) {
    const value = details[key];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    rows.push([label, text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text]);
  }
  return rows;
}

/** What each token event says of the token, and how serious it is. */
const TOKEN_EVENT_TEXT: Partial<Record<AuditEvent, { title: string; what: string; tone: NoticeTone }>> = {
  TOKEN_UPLOADED: { title: 'Token uploaded', what: 'received an uploaded token', tone: 'info' },
  ROTATED: { title: 'Token rotated', what: 'was rotated', tone: 'info' },
  ROTATION_FAILED: {
    title: 'Token rotation failed',
    what: 'failed to rotate; the current token keeps working',
    tone: 'danger',
  },
  REVOKED: { title: 'Token revoked', what: 'was revoked', tone: 'warning' },
  REVOCATION_COMPLETED: {
    title: 'Token revocation completed',
    what: 'has nothing left live at Atlassian after its revocation',
    tone: 'info',
  },
  TOKEN_EXPIRED: { title: 'Token expired', what: 'expired without a successful rotation', tone: 'danger' },
};

/** Whether {@link tokenEventNotice} has words for `event`. */
export const isTokenEvent = (event: AuditEvent) => TOKEN_EVENT_TEXT[event] !== undefined;

/**
 * What happened to a token, for a chat channel: the token's facts and the event's known-safe details, linking to
 * the token's page in the console (`action`).
 */
export function tokenEventNotice(
  token: TokenRecord,
  record: Pick<AuditRecord, 'event' | 'actor' | 'at' | 'details'>,
  action?: NoticeAction,
): Notice {
  const text = TOKEN_EVENT_TEXT[record.event] ?? {
    title: record.event,
    what: `had a ${record.event} event`,
    tone: 'info',
  };
  const label = `${token.serviceAccount} token "${token.name}"`;
  const rows: [string, string][] = [
    ['Token', token.tokenId],
    ['Service account', token.serviceAccount],
    ['Token name', token.name],
    ['Owner', token.owner],
    ['Secret', token.secretName],
    ['Expires', token.expiresAt],
    ['By', record.actor],
    ['At', record.at],
    ...detailRows(record.details).filter(([k]) => k !== 'Service account' && k !== 'Token name' && k !== 'Expires'),
  ];
  return {
    subject: `${text.title}: ${label}`,
    summary: `The ${label} (${token.tokenId}) ${text.what}.`,
    rows,
    ...(action ? { action } : {}),
    tone: text.tone,
  };
}

/** Events that tell an admin something went wrong. */
const DANGER: readonly AuditEvent[] = [
  'ISSUANCE_FAILED',
  'ROTATION_FAILED',
  'TOKEN_EXPIRED',
  'PERSONAL_TOKEN_REVOCATIONS_CAPPED',
  'EXCEPTION_FAILED',
];
const WARNING: readonly AuditEvent[] = [
  'REVOKED',
  'DRIFT_DETECTED',
  'PERSONAL_TOKEN_REVOKED',
  'PERSONAL_TOKEN_SCAN_INCOMPLETE',
];

/**
 * Any lifecycle event, for a chat channel: its name (`detailType`, e.g. `Token Revoked`) as the title, its ids, who
 * and when, and its known-safe details ({@link detailRows}).
 */
export function genericEventNotice(
  detailType: string,
  record: Pick<AuditRecord, 'event' | 'requestId' | 'tokenId' | 'actor' | 'at' | 'details'>,
  action?: NoticeAction,
): Notice {
  const rows: [string, string][] = [
    ['Event', record.event],
    ['Request', record.requestId],
    ...(record.tokenId ? ([['Token', record.tokenId]] as [string, string][]) : []),
    ['By', record.actor],
    ['At', record.at],
    ...detailRows(record.details),
  ];
  return {
    subject: detailType,
    summary: `${detailType} (${record.event}) at ${record.at}.`,
    rows,
    ...(action ? { action } : {}),
    tone: DANGER.includes(record.event) ? 'danger' : WARNING.includes(record.event) ? 'warning' : 'info',
  };
}
