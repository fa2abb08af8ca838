/**
 * A {@link Notice} as the body a Microsoft Teams Workflows webhook takes: a message with one Adaptive Card (1.4)
 * attachment — the subject and summary as text blocks, the rows as a fact set, the link as an `Action.OpenUrl`.
 * Pure.
 *
 * Teams reads Markdown in `TextBlock.text`, `Fact.title` and `Fact.value` (no HTML); values have every Markdown
 * character backslash-escaped and no URL left for the client to link, so a value can neither format, link nor
 * mention. Texts are cut with an ellipsis to keep the card within Teams' message size.
 */
import { clip, type Notice } from './notice';
import { inlineForEmail } from './text';

/** What the card holds at most (Teams refuses messages over about 28 KB). */
export const TEAMS_LIMITS = { title: 200, summary: 1000, factTitle: 100, factValue: 1000, facts: 20 } as const;

/** The body a Teams Workflows webhook takes. */
export interface TeamsMessage {
  type: 'message';
  attachments: { contentType: 'application/vnd.microsoft.card.adaptive'; content: object }[];
}

/**
 * `value` with the characters Adaptive Cards' Markdown reads (emphasis, code, links, headings, HTML-looking `<`,
 * `>`) backslash-escaped, and a leading list marker too.
 */
export function escapeTeams(value: string): string {
  return value
    .replace(/[\\*_~`[\]()<>#]/g, '\\$&')
    .replace(/^(\s*)([-+]|\d+\.)(?=\s|$)/, (_, space, marker) => `${space}${marker.replace(/([-+.])$/, '\\$1')}`);
}

/** Requester-typed text as the card shows it: one line, no URL a client would link, no Markdown. */
const shown = (value: string, max: number) => clip(inlineForEmail(value), max, escapeTeams);

const COLOR: Record<Notice['tone'], string> = { info: 'Default', warning: 'Warning', danger: 'Attention' };

/** The notice as a Teams Workflows webhook body. */
export function toTeams(notice: Notice): TeamsMessage {
  const facts = notice.rows.slice(0, TEAMS_LIMITS.facts).map(([title, value]) => ({
    title: shown(title, TEAMS_LIMITS.factTitle),
    value: shown(value, TEAMS_LIMITS.factValue),
  }));
  const left = notice.rows.length - facts.length;
  const body: object[] = [
    {
      type: 'TextBlock',
      text: shown(notice.subject, TEAMS_LIMITS.title),
      weight: 'Bolder',
      size: 'Medium',
      color: COLOR[notice.tone],
      wrap: true,
    },
    { type: 'TextBlock', text: shown(notice.summary, TEAMS_LIMITS.summary), wrap: true },
  ];
  if (facts.length > 0) body.push({ type: 'FactSet', facts });
  if (left > 0) body.push({ type: 'TextBlock', text: `${left} more rows not shown.`, isSubtle: true, wrap: true });
  const content = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(notice.action
      ? {
          actions: [
            { type: 'Action.OpenUrl', title: clip(inlineForEmail(notice.action.text), 100), url: notice.action.href },
          ],
        }
      : {}),
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content }] };
}
