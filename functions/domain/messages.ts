/** Email and page texts. Pure: no I/O; every interpolated value is escaped for HTML. */
import type { TokenRequestRecord } from './model';

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

function summaryLines(r: TokenRequestRecord): [string, string][] {
  return [
    ['Request', r.requestId],
    ['Requester', r.requester],
    ['Service account', r.serviceAccount],
    ['Token name', r.name],
    ['Scopes', r.scopes.join(', ')],
    ['Lifetime', `${r.lifetimeDays} days`],
    ['Justification', r.justification],
  ];
}

function htmlTable(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

/** The approval request: the link stands alone on its own line in the text body. */
export function approvalRequestEmail(r: TokenRequestRecord, link: string, expiresAt: string): RenderedEmail {
  const rows = summaryLines(r);
  return {
    subject: `Approval needed: ${r.serviceAccount} token "${r.name}" for ${r.requester}`,
    text: [
      `${r.requester} asks for an Atlassian API token.`,
      '',
      ...rows.map(([k, v]) => `${k}: ${v}`),
      '',
      `Open this link to review and approve or reject (valid until ${expiresAt}):`,
      link,
      '',
      'Opening the link decides nothing; only the Approve or Reject button on the page does.',
    ].join('\n'),
    html: `<p>${escapeHtml(r.requester)} asks for an Atlassian API token.</p>${htmlTable(rows)}<p><a href="${escapeHtml(link)}">Review the request</a> (valid until ${escapeHtml(expiresAt)}).</p><p>Opening the link decides nothing; only the Approve or Reject button on the page does.</p>`,
  };
}

export type Outcome = 'ISSUED' | 'REJECTED' | 'CANCELLED' | 'EXPIRED' | 'FAILED';

const OUTCOME_TEXT: Record<Outcome, string> = {
  ISSUED: 'was approved and the token is issued',
  REJECTED: 'was rejected',
  CANCELLED: 'was cancelled',
  EXPIRED: 'expired before enough approvals arrived',
  FAILED: 'was approved but issuing the token failed',
};

/** Tells the requester or an approver how a request ended. Never includes a token value. */
export function outcomeEmail(
  r: TokenRequestRecord,
  outcome: Outcome,
  extra: { reason?: string; secretName?: string; expiresAt?: string },
): RenderedEmail {
  const rows = summaryLines(r);
  if (extra.reason) rows.push(['Reason', extra.reason]);
  if (extra.secretName) rows.push(['Secret', extra.secretName]);
  if (extra.expiresAt) rows.push(['Expires', extra.expiresAt]);
  const headline = `Token request ${r.requestId} ${OUTCOME_TEXT[outcome]}.`;
  return {
    subject: `Token request ${outcome.toLowerCase()}: ${r.serviceAccount} "${r.name}"`,
    text: [headline, '', ...rows.map(([k, v]) => `${k}: ${v}`)].join('\n'),
    html: `<p>${escapeHtml(headline)}</p>${htmlTable(rows)}`,
  };
}

export interface ApprovalPageModel {
  title: string;
  message: string;
  request?: TokenRequestRecord;
  /** Present only when the page may decide: the form's hidden fields. */
  form?: { action: string; sig: string; csrf: string };
}

/** The confirmation page. Its form posts `decision`, `sig` and `csrf`; no script, no external resources. */
export function approvalPage(m: ApprovalPageModel): string {
  const r = m.request;
  const approvals = r
    ? r.approvals.length === 0
      ? '<p>No decisions yet.</p>'
      : `<ul>${r.approvals.map((a) => `<li>${escapeHtml(a.approver)}: ${escapeHtml(a.decision)} at ${escapeHtml(a.decidedAt)}</li>`).join('')}</ul>`
    : '';
  const form = m.form
    ? `<form method="post" action="${escapeHtml(m.form.action)}">
<input type="hidden" name="sig" value="${escapeHtml(m.form.sig)}">
<input type="hidden" name="csrf" value="${escapeHtml(m.form.csrf)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject">Reject</button>
</form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(m.title)} · Token Warden</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}th{padding-right:1rem;vertical-align:top}button{font-size:1rem;margin-right:1rem;padding:.5rem 1.5rem}</style>
</head><body>
<h1>${escapeHtml(m.title)}</h1>
<p id="message">${escapeHtml(m.message)}</p>
${
  r
    ? `${htmlTable(
        summaryLines(r).concat([
          ['Status', r.status],
          ['Approvals required', String(r.approvalsRequired)],
        ]),
      )}<h2>Current approvals</h2>${approvals}`
    : ''
}
${form}
</body></html>`;
}
