import { findDrift } from '../../../functions/domain/inventory';
import type { TokenRecord } from '../../../functions/domain/model';
import { tokenRecord } from '../fixtures/token-record';

const tokenId = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const record = (over: Partial<TokenRecord> = {}): TokenRecord =>
  tokenRecord({
    tokenId,
    requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    generation: 2,
    generations: [
      {
        generation: 1,
        label: `token-warden:${tokenId}:g1`,
        atlassianTokenId: 'at-1',
        expiresAt: '2026-12-01T00:00:00Z',
        versionId: 'v1',
        mintedAt: 'x',
        revokedAt: '2026-11-25T00:00:00Z',
      },
      {
        generation: 2,
        label: `token-warden:${tokenId}:g2`,
        atlassianTokenId: 'at-2',
        expiresAt: '2027-01-01T00:00:00Z',
        versionId: 'v2',
        mintedAt: 'x',
      },
    ],
    correlationId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    ...over,
  });

const NOW = new Date('2026-12-03T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

describe('findDrift', () => {
  it('finds nothing when Atlassian lists exactly the live generations', () => {
    expect(
      findDrift(
        'jenkins-bot',
        [{ id: 'at-2', label: `token-warden:${tokenId}:g2`, expiry: '2027-01-01T00:00:00Z' }],
        [record()],
        NOW,
      ),
    ).toEqual([]);
  });

  it('reports tokens not issued by Token Warden, but not a mint in flight for a known token', () => {
    const findings = findDrift(
      'jenkins-bot',
      [
        { id: 'at-2', label: `token-warden:${tokenId}:g2` },
        { id: 'hand-made', label: 'my laptop' },
        { id: 'at-3', label: `token-warden:${tokenId}:g3`, createdAt: minutesAgo(2) },
      ],
      [record()],
      NOW,
    );
    expect(findings).toEqual([
      expect.objectContaining({ kind: 'UNKNOWN_TOKEN', atlassianTokenId: 'hand-made', label: 'my laptop' }),
    ]);
  });

  it('reports live generations missing at Atlassian, revoked ones still listed, and expiry mismatches', () => {
    const findings = findDrift(
      'jenkins-bot',
      [
        { id: 'at-1', label: `token-warden:${tokenId}:g1` },
        { id: 'other-2', label: 'x' },
      ],
      [record()],
      NOW,
    );
    expect(findings.map((f) => f.kind).sort()).toEqual(['MISSING_TOKEN', 'REVOKED_BUT_LISTED', 'UNKNOWN_TOKEN']);
    const mismatch = findDrift(
      'jenkins-bot',
      [{ id: 'at-2', label: 'l', expiry: '2027-03-01T00:00:00Z' }],
      [record()],
      NOW,
    );
    expect(mismatch).toEqual([expect.objectContaining({ kind: 'EXPIRY_MISMATCH', generation: 2 })]);
  });

  it('does not expect revoked or expired tokens to be listed', () => {
    expect(
      findDrift(
        'jenkins-bot',
        [],
        [record({ status: 'EXPIRED' }), record({ status: 'REVOKED', tokenId: 'tok_b' })],
        NOW,
      ),
    ).toEqual([]);
  });

  it('reports an unrecorded mint as an orphan unless its rotation holds the lock or it is younger than a step', () => {
    const orphan = { id: 'at-3', label: `token-warden:${tokenId}:g3`, createdAt: minutesAgo(60) };
    const live = { id: 'at-2', label: `token-warden:${tokenId}:g2` };
    // A revoke stopped the rotation while its mint response was lost: the token is live and recorded nowhere.
    expect(findDrift('jenkins-bot', [orphan], [record({ status: 'REVOKED' })], NOW)).toEqual([
      expect.objectContaining({ kind: 'ORPHANED_MINT', atlassianTokenId: 'at-3', tokenId, generation: 3 }),
    ]);
    expect(findDrift('jenkins-bot', [live, orphan], [record()], NOW)).toEqual([
      expect.objectContaining({ kind: 'ORPHANED_MINT', atlassianTokenId: 'at-3' }),
    ]);
    const rotating = record({ status: 'ROTATING', rotation: { generation: 3, attempt: 1, startedAt: minutesAgo(90) } });
    expect(findDrift('jenkins-bot', [live, orphan], [rotating], NOW)).toEqual([]);
    const young = { ...orphan, createdAt: minutesAgo(5) };
    expect(findDrift('jenkins-bot', [live, young], [record()], NOW)).toEqual([]);
    expect(findDrift('jenkins-bot', [young], [record({ status: 'REVOKED' })], NOW)).toEqual([
      expect.objectContaining({ kind: 'ORPHANED_MINT' }),
    ]);
  });
});
