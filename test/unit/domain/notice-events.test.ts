import {
  CHAT_DETAIL_ROWS,
  detailRows,
  genericEventNotice,
  tokenEventNotice,
} from '../../../functions/domain/notice-events';
import { tokenRecord } from '../fixtures/token-record';

describe('Module: notice-events', () => {
  describe('Function: detailRows', () => {
    it('shows only the known-safe keys, labelled, in their fixed order', () => {
      // Act
      const rows = detailRows({
        token: 'ATATT3xFfGF0secret',
        reason: 'leaked',
        generation: 2,
        flags: ['STALE', 'UNSCOPED'],
      });

      // Assess
      expect(rows).toEqual([
        ['Reason', 'leaked'],
        ['Generation', '2'],
        ['Flags', 'STALE, UNSCOPED'],
      ]);
      expect(CHAT_DETAIL_ROWS.map(([key]) => key)).not.toEqual(
        expect.arrayContaining(['token', 'value', 'secret', 'justification']),
      );
    });

    it('cuts a long value to 200 characters', () => {
      // Act
      const [row] = detailRows({ error: 'x'.repeat(500) });

      // Assess
      expect(row?.[1]).toHaveLength(200);
      expect(row?.[1].endsWith('…')).toBe(true);
    });
  });

  describe('Function: tokenEventNotice', () => {
    it("says what happened to the token, with its facts, the event's details and the link given", () => {
      // Act
      const notice = tokenEventNotice(
        tokenRecord(),
        {
          event: 'ROTATION_FAILED',
          actor: 'token-warden',
          at: '2026-12-01T00:00:00Z',
          details: { code: 'MINT_FAILED' },
        },
        { text: 'Open', href: 'https://console.example.com/tokens/tok_x' },
      );

      // Assess
      expect(notice).toMatchObject({
        subject: 'Token rotation failed: jenkins-bot token "ci"',
        summary: 'The jenkins-bot token "ci" (tok_x) failed to rotate; the current token keeps working.',
        tone: 'danger',
        action: { href: 'https://console.example.com/tokens/tok_x' },
      });
      expect(notice.rows).toEqual(
        expect.arrayContaining([
          ['Token', 'tok_x'],
          ['Error code', 'MINT_FAILED'],
        ]),
      );
    });
  });

  describe('Function: genericEventNotice', () => {
    it('titles the notice with the detail-type and shows ids, who, when and the safe details', () => {
      // Act
      const notice = genericEventNotice('Personal Token Revoked', {
        event: 'PERSONAL_TOKEN_REVOKED',
        requestId: 'scan_1',
        actor: 'token-warden',
        at: '2026-12-01T00:00:00Z',
        details: { owner: 'carol@example.com', label: 'laptop', value: 'ATATT3xFfGF0secret' },
      });

      // Assess
      expect(notice).toEqual({
        subject: 'Personal Token Revoked',
        summary: 'Personal Token Revoked (PERSONAL_TOKEN_REVOKED) at 2026-12-01T00:00:00Z.',
        rows: [
          ['Event', 'PERSONAL_TOKEN_REVOKED'],
          ['Request', 'scan_1'],
          ['By', 'token-warden'],
          ['At', '2026-12-01T00:00:00Z'],
          ['Label', 'laptop'],
          ['Owner', 'carol@example.com'],
        ],
        tone: 'warning',
      });
    });
  });
});
