import {
  approvalRequestNotice,
  exceptionOutcomeEmail,
  outcomeEmail,
  outcomeNotice,
} from '../../../functions/domain/messages';
import type { TokenRequestRecord } from '../../../functions/domain/model';
import { clip, consoleApprovalsUrl, consoleTokenUrl, type Notice, toEmail } from '../../../functions/domain/notice';
import { SLACK_LIMITS, toSlack } from '../../../functions/domain/notice-slack';
import { TEAMS_LIMITS, toTeams } from '../../../functions/domain/notice-teams';

const CONSOLE = 'https://console.example.com/';

function request(overrides: Partial<TokenRequestRecord> = {}): TokenRequestRecord {
  return {
    requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    status: 'PENDING_APPROVAL',
    serviceAccount: 'jenkins-bot',
    name: 'ci-main',
    scopes: ['read:jira-work', 'write:jira-work'],
    lifetimeDays: 30,
    justification: 'Jenkins reads issues',
    consumers: ['arn:aws:iam::000000000000:role/jenkins'],
    requester: 'alice@example.com',
    createdAt: '2026-11-28T10:00:00Z',
    updatedAt: '2026-11-28T10:00:00Z',
    approvalsRequired: 1,
    approvers: ['approver1@example.com'],
    approvals: [],
    bodyHash: 'x',
    correlationId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    ...overrides,
  };
}

const HOSTILE = '<!channel> <@channel> *bold* _it_ `code` [x](https://evil.example) <https://evil.example|x> & done';

/** A notice whose every text is hostile. */
const hostile: Notice = {
  subject: `Subject ${HOSTILE}`,
  summary: `Summary ${HOSTILE}`,
  rows: [
    ['Justification', HOSTILE],
    ['Token name', 'ci-main'],
  ],
  action: { text: 'Open Pending approvals', href: consoleApprovalsUrl(CONSOLE) },
  tone: 'warning',
};

/** Every string anywhere in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** The text of every mrkdwn object in a Slack body. */
function mrkdwnTexts(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(mrkdwnTexts);
  if (!value || typeof value !== 'object') return [];
  const v = value as { type?: unknown; text?: unknown };
  if (v.type === 'mrkdwn' && typeof v.text === 'string') return [v.text];
  return Object.values(value).flatMap(mrkdwnTexts);
}

/** The card of a Teams body. */
function cardOf(message: ReturnType<typeof toTeams>) {
  return message.attachments[0]?.content as {
    body: { text?: string; facts?: { title: string; value: string }[] }[];
  };
}

/** Every string of a Slack or Teams body that is text shown to people (not a type, style or schema). */
const STRUCTURE = new Set([
  'header',
  'section',
  'context',
  'plain_text',
  'mrkdwn',
  'message',
  'application/vnd.microsoft.card.adaptive',
  'http://adaptivecards.io/schemas/adaptive-card.json',
  'AdaptiveCard',
  '1.4',
  'TextBlock',
  'FactSet',
  'Action.OpenUrl',
  'Bolder',
  'Medium',
  'Default',
  'Warning',
  'Attention',
]);

describe('Notice', () => {
  describe('Method: toEmail', () => {
    it('renders the summary, the rows and the link alone on its line, in text and HTML', () => {
      // Prepare
      const notice: Notice = {
        subject: 'Token rotation failed: jenkins-bot "ci-main"',
        summary: 'Rotating token tok_a failed.',
        rows: [['Code', 'ATLASSIAN_DOWN']],
        action: { text: 'Open the token', href: consoleTokenUrl(CONSOLE, 'tok_a') },
        tone: 'danger',
      };
      // Act
      const email = toEmail(notice);
      // Assess
      expect(email).toEqual({
        subject: 'Token rotation failed: jenkins-bot "ci-main"',
        text: 'Rotating token tok_a failed.\n\nCode: ATLASSIAN_DOWN\n\nOpen the token:\nhttps://console.example.com/tokens/tok_a',
        html: '<p>Rotating token tok_a failed.</p><table><tr><th align="left">Code</th><td>ATLASSIAN_DOWN</td></tr></table><p><a href="https://console.example.com/tokens/tok_a">Open the token</a></p>',
      });
    });

    it('is what outcomeEmail sends, so the email builders and chat say the same', () => {
      // Prepare
      const r = request({ status: 'ISSUED' });
      const extra = { secretName: 'token-warden.jenkins-bot.ci-main', expiresAt: '2026-12-28T10:00:00Z' };
      // Act
      const email = outcomeEmail(r, 'ISSUED', extra);
      // Assess
      expect(email).toEqual(toEmail(outcomeNotice(r, 'ISSUED', extra)));
      expect(email.subject).toBe('Token request issued: jenkins-bot "ci-main"');
      expect(email.text.split('\n')[0]).toBe(
        'Token request req_aaaaaaaaaaaaaaaaaaaaaaaaaa was approved and the token is issued.',
      );
    });

    it('keeps hostile values on one line and unlinked, and escapes the HTML', () => {
      // Prepare
      const notice: Notice = { ...hostile, rows: [['Justification', `one\ntwo <b>x</b> https://evil.example`]] };
      // Act
      const email = toEmail(notice);
      // Assess
      expect(email.text).toContain('Justification: one\\u000atwo <b>x</b> https[:]//evil.example');
      expect(email.html).toContain('one\\u000atwo &lt;b&gt;x&lt;/b&gt; https[:]//evil.example');
      expect(email.text.split('\n').filter((line) => line.includes('://'))).toEqual([
        'https://console.example.com/approvals',
      ]);
    });

    it('leaves the exception outcome email as it was', () => {
      // Prepare
      const e = {
        exceptionId: 'exc_a',
        member: 'bob@example.com',
        days: 7,
        justification: 'migration',
        status: 'ACTIVE',
      } as Parameters<typeof exceptionOutcomeEmail>[0];
      // Act
      const email = exceptionOutcomeEmail(e, 'is active');
      // Assess
      expect(email.subject).toBe('Access exception for bob@example.com is active');
      expect(email.text).toBe(
        'The access exception exc_a for bob@example.com is active.\n\nException: exc_a\nMember: bob@example.com\nDays: 7 days\nJustification: migration\nStatus: ACTIVE',
      );
    });
  });

  describe('Method: toSlack', () => {
    it('renders a header, the summary, the rows as label and value fields, and a link to the console', () => {
      // Prepare
      const notice = approvalRequestNotice(request(), {
        text: 'Open Pending approvals',
        href: consoleApprovalsUrl(CONSOLE),
      });
      // Act
      const message = toSlack(notice);
      // Assess
      expect(message.text).toBe(
        'Approval needed: jenkins-bot token "ci-main" for alice@example.com: alice@example.com asks for an Atlassian API token.',
      );
      expect(message.blocks[0]).toEqual({
        type: 'header',
        text: {
          type: 'plain_text',
          text: 'Approval needed: jenkins-bot token "ci-main" for alice@example.com',
          emoji: false,
        },
      });
      expect(message.blocks[1]).toEqual({
        type: 'section',
        text: { type: 'plain_text', text: 'alice@example.com asks for an Atlassian API token.', emoji: false },
      });
      expect(message.blocks[2]).toMatchObject({
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Request*', verbatim: true },
          { type: 'plain_text', text: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa' },
          { type: 'mrkdwn', text: '*Requester*' },
          { type: 'plain_text', text: 'alice@example.com' },
          { type: 'mrkdwn', text: '*Service account*' },
          { type: 'plain_text', text: 'jenkins-bot' },
          { type: 'mrkdwn', text: '*Token name*' },
          { type: 'plain_text', text: 'ci-main' },
          { type: 'mrkdwn', text: '*Scopes*' },
          { type: 'plain_text', text: 'read:jira-work, write:jira-work' },
        ],
      });
      expect(message.blocks.at(-1)).toEqual({
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: '<https://console.example.com/approvals|Open Pending approvals>', verbatim: true },
        ],
      });
      expect(JSON.stringify(message)).not.toContain('sig=');
    });

    it('shows hostile values as plain text and escapes &, < and > wherever mrkdwn is read', () => {
      // Act
      const message = toSlack(hostile);
      // Assess
      expect(message.text).toBe(
        'Subject &lt;!channel&gt; &lt;@channel&gt; *bold* _it_ `code` [x](https[:]//evil.example) &lt;https[:]//evil.example|x&gt; &amp; done: Summary &lt;!channel&gt; &lt;@channel&gt; *bold* _it_ `code` [x](https[:]//evil.example) &lt;https[:]//evil.example|x&gt; &amp; done',
      );
      expect(message.blocks[0]).toMatchObject({
        text: { type: 'plain_text', text: `⚠️ Subject ${HOSTILE.replace(/:\/\//g, '[:]//')}` },
      });
      expect(message.blocks[2]).toMatchObject({
        fields: [
          { type: 'mrkdwn', text: '*Justification*' },
          { type: 'plain_text', text: HOSTILE.replace(/:\/\//g, '[:]//') },
          { type: 'mrkdwn', text: '*Token name*' },
          { type: 'plain_text', text: 'ci-main' },
        ],
      });
      // Every mrkdwn text is Token Warden's own: the labels and the one link, nothing that could mention anyone.
      expect(mrkdwnTexts(message)).toEqual([
        '*Justification*',
        '*Token name*',
        '<https://console.example.com/approvals|Open Pending approvals>',
      ]);
      // The one link is the notice's own.
      expect(JSON.stringify(message).match(/https:\/\//g)).toHaveLength(1);
    });

    it('keeps every text within Block Kit limits, cutting with an ellipsis, and says how many rows were left out', () => {
      // Prepare
      const long = 'x'.repeat(5000);
      const notice: Notice = {
        subject: `${'&'.repeat(200)}`,
        summary: long,
        rows: Array.from({ length: 300 }, (_, i) => [`Row ${i}`, i === 0 ? long : `v${i}`] as [string, string]),
        tone: 'danger',
      };
      // Act
      const message = toSlack(notice);
      // Assess
      const header = message.blocks[0] as { text: { text: string } };
      expect(header.text.text).toHaveLength(SLACK_LIMITS.headerText);
      expect(header.text.text.endsWith('&…')).toBe(true);
      expect((message.blocks[1] as { text: { text: string } }).text.text).toHaveLength(SLACK_LIMITS.sectionText);
      expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      const sections = message.blocks.filter((b): b is { type: string; fields: { text: string }[] } => 'fields' in b);
      for (const s of sections) expect(s.fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldsPerSection);
      expect(sections[0]?.fields[1]?.text).toHaveLength(SLACK_LIMITS.fieldText);
      expect(sections[0]?.fields[1]?.text.endsWith('x…')).toBe(true);
      expect(sections.flatMap((s) => s.fields)).toHaveLength(230 * 2);
      expect(message.blocks.at(-1)).toEqual({
        type: 'context',
        elements: [{ type: 'plain_text', text: '70 more rows not shown.', emoji: false }],
      });
      expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
      // An escape is never cut in half.
      expect(message.text).toMatch(/^(&amp;)+: x+…$/);
    });
  });

  describe('Method: toTeams', () => {
    it('renders a message with one Adaptive Card 1.4: title, summary, facts and an Action.OpenUrl', () => {
      // Prepare
      const r = request({ status: 'ISSUED', tokenId: 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa' } as Partial<TokenRequestRecord>);
      const notice = outcomeNotice(
        r,
        'FAILED',
        { reason: 'ATLASSIAN_DOWN' },
        {
          text: 'Open Pending approvals',
          href: consoleApprovalsUrl(CONSOLE),
        },
      );
      // Act
      const message = toTeams(notice);
      // Assess
      expect(message).toMatchObject({
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                {
                  type: 'TextBlock',
                  text: 'Token request failed: jenkins-bot "ci-main"',
                  weight: 'Bolder',
                  color: 'Attention',
                  wrap: true,
                },
                {
                  type: 'TextBlock',
                  text: 'Token request req\\_aaaaaaaaaaaaaaaaaaaaaaaaaa was approved but issuing the token failed.',
                },
                { type: 'FactSet' },
              ],
              actions: [
                {
                  type: 'Action.OpenUrl',
                  title: 'Open Pending approvals',
                  url: 'https://console.example.com/approvals',
                },
              ],
            },
          },
        ],
      });
      const facts = cardOf(message).body[2]?.facts;
      expect(facts?.at(-1)).toEqual({ title: 'Reason', value: 'ATLASSIAN\\_DOWN' });
      expect(facts?.[4]).toEqual({ title: 'Scopes', value: 'read:jira-work, write:jira-work' });
    });

    it('escapes Markdown in hostile values, unlinks their URLs and keeps the only link the notice’s own', () => {
      // Act
      const message = toTeams({ ...hostile, rows: [...hostile.rows, ['List', '- item']] });
      // Assess
      const card = cardOf(message);
      expect(card.body[0]?.text).toBe(
        'Subject \\<!channel\\> \\<@channel\\> \\*bold\\* \\_it\\_ \\`code\\` \\[x\\]\\(https\\[:\\]//evil.example\\) \\<https\\[:\\]//evil.example|x\\> & done',
      );
      expect(card.body[2]?.facts?.[2]?.value).toBe('\\- item');
      expect(JSON.stringify(message).match(/https:\/\//g)).toHaveLength(1);
    });

    it('keeps texts and facts within its limits', () => {
      // Prepare
      const notice: Notice = {
        subject: '*'.repeat(500),
        summary: 's'.repeat(5000),
        rows: Array.from({ length: 25 }, (_, i) => [`Row ${i}`, 'v'.repeat(2000)] as [string, string]),
        tone: 'info',
      };
      // Act
      const card = cardOf(toTeams(notice));
      // Assess
      // 99 escaped asterisks and the ellipsis: one more escape would not fit.
      expect(card.body[0]?.text).toHaveLength(TEAMS_LIMITS.title - 1);
      expect(card.body[0]?.text?.endsWith('\\*…')).toBe(true);
      expect(card.body[1]?.text).toHaveLength(TEAMS_LIMITS.summary);
      expect(card.body[2]?.facts).toHaveLength(TEAMS_LIMITS.facts);
      expect(card.body[2]?.facts?.[0]?.value).toHaveLength(TEAMS_LIMITS.factValue);
      expect(card.body[3]?.text).toBe('5 more rows not shown.');
    });
  });

  describe('Renderers', () => {
    it('output only what the notice holds, besides their own layout', () => {
      // Prepare
      const notice: Notice = {
        subject: 'S1',
        summary: 'S2',
        rows: [['L1', 'ATATT3xFfGF0-a-value-in-a-row']],
        action: { text: 'A1', href: 'https://console.example.com/approvals' },
        tone: 'info',
      };
      const held = ['S1', 'S2', 'L1', '*L1*', 'ATATT3xFfGF0-a-value-in-a-row', 'A1', 'S1: S2'];
      // Act
      const slack = strings(toSlack(notice)).filter((s) => !STRUCTURE.has(s));
      const teams = strings(toTeams(notice)).filter((s) => !STRUCTURE.has(s));
      // Assess
      expect(slack.filter((s) => !held.includes(s))).toEqual(['<https://console.example.com/approvals|A1>']);
      expect(teams.filter((s) => !held.includes(s))).toEqual(['https://console.example.com/approvals']);
    });
  });

  describe('Function: clip', () => {
    it('never splits a surrogate pair and counts the ellipsis', () => {
      // Act / Assess
      expect(clip('ab😀cd', 4)).toBe('ab…');
      expect(clip('abc', 3)).toBe('abc');
      expect(clip('abcd', 1)).toBe('…');
    });
  });
});
