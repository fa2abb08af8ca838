/**
 * A {@link Notice} as a Slack incoming-webhook body: `text` (the notification's fallback) and Block Kit `blocks` —
 * a header, the summary, the rows as two-column fields, the link in a context line. Pure.
 *
 * Values are shown, never interpreted: they go into `plain_text` objects, which Slack renders literally (no
 * formatting, no links, no mentions); the few mrkdwn objects (labels, the link, `text`) have `&`, `<` and `>`
 * escaped as Slack requires and `verbatim` set, so nothing in them is auto-linked or parsed as a mention. Every text
 * stays within Block Kit's limits, cut with an ellipsis.
 */
import { clip, type Notice } from './notice';
import { inlineForEmail } from './text';

/** Block Kit limits (docs.slack.dev, Block Kit reference). */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldsPerSection: 10,
  fieldText: 2000,
  contextText: 3000,
  blocks: 50,
  /** The message `text`, kept well below Slack's 40 000 so a notification stays readable. */
  fallbackText: 3000,
} as const;

/** A Slack incoming-webhook body. */
export interface SlackMessage {
  text: string;
  blocks: object[];
}

/** `&`, `<` and `>` as Slack's mrkdwn wants them written; the only characters Slack asks to escape. */
export function escapeSlack(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TONE_SIGN: Record<Notice['tone'], string> = { info: '', warning: '⚠️ ', danger: '🚨 ' };

/** Requester-typed text as chat shows it: one line, and no URL that a client would link. */
const shown = (value: string) => inlineForEmail(value);

const plain = (text: string, max: number) => ({
  type: 'plain_text',
  text: clip(shown(text), max) || '-',
  emoji: false,
});
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });

/** The notice as a Slack message. */
export function toSlack(notice: Notice): SlackMessage {
  const blocks: object[] = [
    { type: 'header', text: plain(`${TONE_SIGN[notice.tone]}${notice.subject}`, SLACK_LIMITS.headerText) },
    { type: 'section', text: plain(notice.summary, SLACK_LIMITS.sectionText) },
  ];
  const perSection = SLACK_LIMITS.fieldsPerSection / 2;
  // Header, summary, link, and a line saying how many rows were left out.
  const maxRows = (SLACK_LIMITS.blocks - 4) * perSection;
  const rows = notice.rows.slice(0, maxRows);
  for (let i = 0; i < rows.length; i += perSection) {
    blocks.push({
      type: 'section',
      fields: rows
        .slice(i, i + perSection)
        .flatMap(([label, value]) => [
          mrkdwn(`*${clip(shown(label), SLACK_LIMITS.fieldText - 2, escapeSlack)}*`),
          plain(value, SLACK_LIMITS.fieldText),
        ]),
    });
  }
  if (notice.rows.length > rows.length) {
    blocks.push({
      type: 'context',
      elements: [plain(`${notice.rows.length - rows.length} more rows not shown.`, SLACK_LIMITS.contextText)],
    });
  }
  if (notice.action) {
    const href = notice.action.href.replace(/\|/g, '%7C');
    const text = clip(shown(notice.action.text), 200, escapeSlack);
    blocks.push({ type: 'context', elements: [mrkdwn(`<${escapeSlack(href)}|${text}>`)] });
  }
  return {
    text: clip(shown(`${notice.subject}: ${notice.summary}`), SLACK_LIMITS.fallbackText, escapeSlack),
    blocks,
  };
}
