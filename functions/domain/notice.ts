/**
 * One message, three media. A {@link Notice} is what Token Warden tells someone, in no medium's form: a subject, one
 * summary line, `label: value` rows, at most one link, a tone. The message builders (`./messages`) make notices;
 * renderers put one into a medium: {@link toEmail} here, `toSlack` (`./notice-slack`) and `toTeams`
 * (`./notice-teams`). A notice holds raw text: each renderer keeps values on one line and escapes them for its
 * medium, and outputs nothing but what the notice holds and its own fixed layout. Pure: no I/O.
 */
import { escapeHtml, inlineForEmail } from './text';

/** How serious a notice is: chat media show it (Teams as the title's colour, Slack as a sign before it). */
export type NoticeTone = 'info' | 'warning' | 'danger';

/** The one link of a notice. In chat it is never a per-person link: see {@link consoleApprovalsUrl}. */
export interface NoticeAction {
  text: string;
  /** An absolute URL. */
  href: string;
}

/** What Token Warden tells someone, before any medium's form. Never holds a token value. */
export interface Notice {
  /** The email subject; the chat message's title. */
  subject: string;
  /** One line saying what happened. */
  summary: string;
  /** `[label, value]` facts, in order; labels are Token Warden's, values may be anyone's text. */
  rows: [string, string][];
  action?: NoticeAction;
  tone: NoticeTone;
}

/** An email as the mailer sends it. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The console's *Pending approvals* page: where a chat message about a request sends its readers. */
export function consoleApprovalsUrl(consoleUrl: string): string {
  return `${withSlash(consoleUrl)}approvals`;
}

/** The console's page of one token. */
export function consoleTokenUrl(consoleUrl: string, tokenId: string): string {
  return `${withSlash(consoleUrl)}tokens/${encodeURIComponent(tokenId)}`;
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** `key: value` lines of an email's text body, each value on its line with no URL a mail client would link. */
export const textRows = (rows: [string, string][]) => rows.map(([k, v]) => `${k}: ${inlineForEmail(v)}`);

/** The rows as an HTML table; `shown` puts each value on one line (for an email or a page). */
export function htmlTable(rows: [string, string][], shown: (value: string) => string): string {
  return `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(shown(v))}</td></tr>`).join('')}</table>`;
}

/**
 * The notice as an email: the summary, a blank line, the rows as `label: value` lines, and the link (its text, then
 * the bare URL alone on its own line, the only line holding a URL). The HTML body says the same.
 */
export function toEmail(notice: Notice): RenderedEmail {
  const summary = inlineForEmail(notice.summary);
  const action = notice.action;
  return {
    subject: inlineForEmail(notice.subject),
    text: [
      summary,
      '',
      ...textRows(notice.rows),
      ...(action ? ['', `${inlineForEmail(action.text)}:`, action.href] : []),
    ].join('\n'),
    html: `<p>${escapeHtml(summary)}</p>${htmlTable(notice.rows, inlineForEmail)}${
      action ? `<p><a href="${escapeHtml(action.href)}">${escapeHtml(inlineForEmail(action.text))}</a></p>` : ''
    }`,
  };
}

/**
 * `value` cut to at most `max` UTF-16 units once `encode`d, ending in an ellipsis when cut; never splits a
 * surrogate pair or an escape.
 */
export function clip(value: string, max: number, encode: (raw: string) => string = (raw) => raw): string {
  const whole = encode(value);
  if (whole.length <= max) return whole;
  const points = Array.from(value);
  let keep = Math.min(points.length, max);
  while (keep > 0) {
    const cut = `${encode(points.slice(0, keep).join(''))}…`;
    if (cut.length <= max) return cut;
    keep -= Math.max(1, Math.ceil((cut.length - max) / 6));
  }
  return '…';
}
