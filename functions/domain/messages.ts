/**
 * Email and page texts. Pure: no I/O. Every interpolated value is kept on one line (./text: no control, separator,
 * bidirectional or zero-width character survives) and escaped for HTML; in emails, URLs in values are also written so
 * that no mail client links them, so the one link an email carries is its own.
 */
import type { AccessExceptionRepresentation } from './access-exceptions';
import type { TokenRequestRecord } from './model';
import { htmlTable, type Notice, type NoticeAction, type RenderedEmail, textRows, toEmail } from './notice';
import { PAGE_STYLESHEET_PATH } from './page-style';
import { escapeHtml, inline, inlineForEmail } from './text';

export type { RenderedEmail } from './notice';
export { escapeHtml } from './text';

/** What approvers see of a request; the consumers are the IAM roles that will read the secret. */
function summaryLines(r: TokenRequestRecord): [string, string][] {
  return [
    ['Request', r.requestId],
    ['Requester', r.requester],
    ['Service account', r.serviceAccount],
    ['Token name', r.name],
    ['Scopes', r.scopes.join(', ')],
    ['Lifetime', `${r.lifetimeDays} days`],
    ['Consumers (IAM roles that will read the secret)', r.consumers.length > 0 ? r.consumers.join(', ') : 'none'],
    ['Justification', r.justification],
  ];
}

/** What approvers see of an access exception, and what approving it allows. */
function exceptionLines(e: AccessExceptionRepresentation): [string, string][] {
  return [
    ['Exception', e.exceptionId],
    ['Member', e.member],
    ['Days', `${e.days} days`],
    ['Justification', e.justification],
    [
      'What it allows',
      `${e.member} is moved into the authentication policy that allows personal API tokens for ${e.days} days: they can create and use their own API tokens in that time. Afterwards they are moved back and their tokens are handled per the policy.`,
    ],
  ];
}

/**
 * The approval request: the link stands alone on its own line in the text body, the only line that holds a URL
 * (every requester-typed value stays inside its `key: value` line).
 */
export function approvalRequestEmail(r: TokenRequestRecord, link: string, expiresAt: string): RenderedEmail {
  const requester = inlineForEmail(r.requester);
  return approvalLinkEmail(
    {
      subject: `Approval needed: ${inlineForEmail(r.serviceAccount)} token "${inlineForEmail(r.name)}" for ${requester}`,
      textIntro: `${requester} asks for an Atlassian API token.`,
      htmlIntro: `${requester} asks for an Atlassian API token.`,
      rows: summaryLines(r),
      linkText: 'Review the request',
    },
    link,
    expiresAt,
  );
}

/** The approval request of an access exception: like a token request's, worded for the exception. */
export function exceptionApprovalEmail(
  e: AccessExceptionRepresentation,
  link: string,
  expiresAt: string,
): RenderedEmail {
  const member = inlineForEmail(e.member);
  return approvalLinkEmail(
    {
      subject: `Approval needed: access exception for ${member} (${e.days} days of personal API tokens)`,
      textIntro: `${member} asks for an access exception: ${e.days} days in which they may create and use personal API tokens.`,
      htmlIntro: `${member} asks for an access exception.`,
      rows: exceptionLines(e),
      linkText: 'Review the exception',
    },
    link,
    expiresAt,
  );
}

/** An approver's email with its one link: the intro, the subject's rows, the link on its own line, the warning. */
function approvalLinkEmail(
  m: { subject: string; textIntro: string; htmlIntro: string; rows: [string, string][]; linkText: string },
  link: string,
  expiresAt: string,
): RenderedEmail {
  const decidesNothing = 'Opening the link decides nothing; only the Approve or Reject button on the page does.';
  return {
    subject: m.subject,
    text: [
      m.textIntro,
      '',
      ...textRows(m.rows),
      '',
      `Open this link to review and approve or reject (valid until ${expiresAt}):`,
      link,
      '',
      decidesNothing,
    ].join('\n'),
    html: `<p>${escapeHtml(m.htmlIntro)}</p>${htmlTable(m.rows, inlineForEmail)}<p><a href="${escapeHtml(link)}">${m.linkText}</a> (valid until ${escapeHtml(expiresAt)}).</p><p>${decidesNothing}</p>`,
  };
}

/**
 * A request waiting for approval, told to a chat channel: what approvers see of it, linking to the console's
 * *Pending approvals* (`action`; never an approver's own link, a channel is not one person).
 */
export function approvalRequestNotice(r: TokenRequestRecord, action: NoticeAction): Notice {
  return {
    subject: `Approval needed: ${r.serviceAccount} token "${r.name}" for ${r.requester}`,
    summary: `${r.requester} asks for an Atlassian API token.`,
    rows: summaryLines(r),
    action,
    tone: 'info',
  };
}

/** What became of an exception (`what`: e.g. `is active until …`), for the member, an approver or a channel. */
export function exceptionOutcomeNotice(e: AccessExceptionRepresentation, what: string, action?: NoticeAction): Notice {
  return {
    subject: `Access exception for ${e.member} ${what}`,
    summary: `The access exception ${e.exceptionId} for ${e.member} ${what}.`,
    rows: exceptionLines(e)
      .slice(0, 4)
      .concat([['Status', e.status]]),
    ...(action ? { action } : {}),
    tone: e.status === 'FAILED' ? 'danger' : 'info',
  };
}

/** Tells the member or an approver what became of an exception. */
export function exceptionOutcomeEmail(e: AccessExceptionRepresentation, what: string): RenderedEmail {
  return toEmail(exceptionOutcomeNotice(e, what));
}

export type Outcome = 'ISSUED' | 'REJECTED' | 'CANCELLED' | 'EXPIRED' | 'FAILED';

const OUTCOME_TEXT: Record<Outcome, string> = {
  ISSUED: 'was approved and the token is issued',
  REJECTED: 'was rejected',
  CANCELLED: 'was cancelled',
  EXPIRED: 'expired before enough approvals arrived',
  FAILED: 'was approved but issuing the token failed',
};

const OUTCOME_TONE: Record<Outcome, Notice['tone']> = {
  ISSUED: 'info',
  REJECTED: 'warning',
  CANCELLED: 'info',
  EXPIRED: 'warning',
  FAILED: 'danger',
};

/**
 * How a request ended, for the requester, an approver or a channel (`action`: in chat, the token's or the
 * approvals page in the console). Never includes a token value.
 */
export function outcomeNotice(
  r: TokenRequestRecord,
  outcome: Outcome,
  extra: { reason?: string; secretName?: string; expiresAt?: string },
  action?: NoticeAction,
): Notice {
  const rows = summaryLines(r);
  if (extra.reason) rows.push(['Reason', extra.reason]);
  if (extra.secretName) rows.push(['Secret', extra.secretName]);
  if (extra.expiresAt) rows.push(['Expires', extra.expiresAt]);
  return {
    subject: `Token request ${outcome.toLowerCase()}: ${r.serviceAccount} "${r.name}"`,
    summary: `Token request ${r.requestId} ${OUTCOME_TEXT[outcome]}.`,
    rows,
    ...(action ? { action } : {}),
    tone: OUTCOME_TONE[outcome],
  };
}

/** Tells the requester or an approver how a request ended. Never includes a token value. */
export function outcomeEmail(
  r: TokenRequestRecord,
  outcome: Outcome,
  extra: { reason?: string; secretName?: string; expiresAt?: string },
): RenderedEmail {
  return toEmail(outcomeNotice(r, outcome, extra));
}

export interface ApprovalPageModel {
  title: string;
  message: string;
  request?: TokenRequestRecord;
  /** An access exception's page shows the exception instead of a request. */
  exception?: AccessExceptionRepresentation;
  /** Present only when the page may decide: the form's hidden fields. */
  form?: { action: string; sig: string; csrf: string };
  /** A link to follow instead of a form (e.g. to the identity provider's sign-in). */
  link?: { href: string; text: string };
}

/** A value in a page: on one line, escaped for HTML. */
const shown = (value: string) => escapeHtml(inline(value));

/**
 * The confirmation page. Its form posts `decision`, `sig` and `csrf`; no script, no inline style, nothing from another
 * origin: its look is the same-origin stylesheet at {@link PAGE_STYLESHEET_PATH}.
 */
export function approvalPage(m: ApprovalPageModel): string {
  const r = m.request;
  const e = m.exception;
  const decided = r?.approvals ?? e?.approvals;
  const approvals = decided
    ? decided.length === 0
      ? '<p>No decisions yet.</p>'
      : `<ul>${decided.map((a) => `<li>${shown(a.approver)}: ${shown(a.decision)} at ${shown(a.decidedAt)}</li>`).join('')}</ul>`
    : '';
  const form = m.form
    ? `<form method="post" action="${escapeHtml(m.form.action)}">
<input type="hidden" name="sig" value="${escapeHtml(m.form.sig)}">
<input type="hidden" name="csrf" value="${escapeHtml(m.form.csrf)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject">Reject</button>
</form>`
    : m.link
      ? `<p><a href="${escapeHtml(m.link.href)}">${shown(m.link.text)}</a></p>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${shown(m.title)} · Token Warden</title>
<link rel="stylesheet" href="${escapeHtml(PAGE_STYLESHEET_PATH)}">
</head><body>
<h1>${shown(m.title)}</h1>
<p id="message">${shown(m.message)}</p>
${
  r
    ? `${htmlTable(
        summaryLines(r).concat([
          ['Status', r.status],
          ['Approvals required', String(r.approvalsRequired)],
        ]),
        inline,
      )}<h2>Current approvals</h2>${approvals}`
    : e
      ? `${htmlTable(
          exceptionLines(e).concat([
            ['Status', e.status],
            ['Approvals required', String(e.approvalsRequired)],
          ]),
          inline,
        )}<h2>Current approvals</h2>${approvals}`
      : ''
}
${form}
</body></html>`;
}

/** What an admin must create in admin.atlassian.com for a manually issued generation. Never a token value. */
export interface UploadInstructions {
  /** `new token for request …` or `rotation of token … to generation n`. */
  purpose: string;
  serviceAccount: string;
  serviceAccountEmail: string;
  tokenName: string;
  secretName: string;
  /** The exact Atlassian label: `token-warden:<tokenId>:g<generation>`. */
  label: string;
  scopes: string[];
  /** Earliest acceptable expiry (the expected one). */
  expiresNotBefore: string;
  /** Latest acceptable expiry (the policy's maximum lifetime). */
  expiresNotAfter: string;
}

function instructionLines(i: UploadInstructions): [string, string][] {
  return [
    ['For', i.purpose],
    ['Service account', `${i.serviceAccount} (${i.serviceAccountEmail})`],
    ['Label (exactly)', i.label],
    ['Scopes', i.scopes.join(', ')],
    ['Expiry', `on or after ${i.expiresNotBefore} (and not after ${i.expiresNotAfter})`],
    ['Token name in Token Warden', i.tokenName],
    ['Stored as secret', i.secretName],
  ];
}

const UPLOAD_STEPS = [
  'In admin.atlassian.com, open Directory > Service accounts, choose the service account above, and create an API token with exactly this label, these scopes and an expiry in the range shown.',
  'Copy the token value Atlassian shows (it is shown once).',
  'Open the link below and paste the value into the form. Do not send it by email or chat, and do not keep a copy.',
];

/** Asks one admin to create a token in admin.atlassian.com and upload it: the link on its own line. */
export function uploadRequestEmail(i: UploadInstructions, link: string, expiresAt: string): RenderedEmail {
  const rows = instructionLines(i);
  const account = inlineForEmail(i.serviceAccount);
  const purpose = inlineForEmail(i.purpose);
  return {
    subject: `Action needed: create an Atlassian token for ${account} "${inlineForEmail(i.tokenName)}"`,
    text: [
      `Service account ${account} is issued manually: Token Warden needs an admin to create its API token (${purpose}).`,
      '',
      ...textRows(rows),
      '',
      ...UPLOAD_STEPS.map((step, n) => `${n + 1}. ${step}`),
      '',
      `Upload link (single use, valid until ${expiresAt}):`,
      link,
      '',
      'Opening the link changes nothing; only submitting the token on the page does.',
    ].join('\n'),
    html: `<p>Service account ${escapeHtml(account)} is issued manually: Token Warden needs an admin to create its API token (${escapeHtml(purpose)}).</p>${htmlTable(rows, inlineForEmail)}<ol>${UPLOAD_STEPS.map((step) => `<li>${escapeHtml(step)}</li>`).join('')}</ol><p><a href="${escapeHtml(link)}">Upload the token</a> (single use, valid until ${escapeHtml(expiresAt)}).</p><p>Opening the link changes nothing; only submitting the token on the page does.</p>`,
  };
}

export interface UploadPageModel {
  title: string;
  message: string;
  instructions?: UploadInstructions;
  /** Present only when the page may upload: the form's hidden fields (never a token value). */
  form?: { action: string; sig: string; csrf: string };
}

/**
 * The upload page. Its form posts `token` (a password field, never filled in by the page), `sig` and `csrf`; no
 * script, no inline style, nothing from another origin: its look is the same-origin stylesheet at
 * {@link PAGE_STYLESHEET_PATH}.
 */
export function uploadPage(m: UploadPageModel): string {
  const form = m.form
    ? `<ol>${UPLOAD_STEPS.slice(0, 2)
        .map((step) => `<li>${escapeHtml(step)}</li>`)
        .join('')}</ol>
<form method="post" action="${escapeHtml(m.form.action)}" autocomplete="off">
<input type="hidden" name="sig" value="${escapeHtml(m.form.sig)}">
<input type="hidden" name="csrf" value="${escapeHtml(m.form.csrf)}">
<label for="token">Token value</label><br>
<input type="password" id="token" name="token" required minlength="1" maxlength="1024" autocomplete="off" spellcheck="false" size="60"><br>
<button type="submit">Upload token</button>
</form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${shown(m.title)} · Token Warden</title>
<link rel="stylesheet" href="${escapeHtml(PAGE_STYLESHEET_PATH)}">
</head><body>
<h1>${shown(m.title)}</h1>
<p id="message">${shown(m.message)}</p>
${m.instructions ? htmlTable(instructionLines(m.instructions), inline) : ''}
${form}
</body></html>`;
}
