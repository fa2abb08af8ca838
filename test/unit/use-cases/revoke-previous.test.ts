/**
 * `revokePreviousGenerations` against small in-memory fakes of the ports it names (RevokePreviousDeps): no
 * emulator, no adapter. The same step runs against the real adapters in rotation.test.ts and the e2e suites.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from '../../../functions/domain/policy-text';
import type { AuditRecord, StoredToken } from '../../../functions/domain/records';
import { type RevokePreviousDeps, revokePreviousGenerations } from '../../../functions/use-cases/rotation';

const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
const account = policy.serviceAccounts[0]!;
const NOW = new Date('2026-03-01T12:00:00Z');
const TOKEN_ID = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa';

const generation = (n: number, revokedAt?: string) => ({
  generation: n,
  label: `token-warden:${TOKEN_ID}:g${n}`,
  atlassianTokenId: `atl-${n}`,
  expiresAt: '2026-04-01T00:00:00Z',
  versionId: `v${n}`,
  mintedAt: '2026-01-01T00:00:00Z',
  ...(revokedAt ? { revokedAt } : {}),
});

function storedToken(overrides: Partial<StoredToken> = {}): StoredToken {
  return {
    tokenId: TOKEN_ID,
    requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    serviceAccount: account.alias,
    name: 'ci',
    owner: 'Owner@Example.com',
    secretName: `token-warden/${account.alias}/ci`,
    secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:x',
    status: 'ACTIVE',
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    consumers: [],
    expiresAt: '2026-04-01T00:00:00Z',
    generation: 3,
    createdAt: '2026-01-01T00:00:00Z',
    generations: [generation(1, '2026-02-01T00:00:00Z'), generation(2), generation(3)],
    correlationId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    version: 1,
    ...overrides,
  };
}

/** The ports the step uses, each the smallest thing that behaves like it. */
function fakes(initial: StoredToken | undefined) {
  let token = initial;
  const revokedAtAtlassian: string[] = [];
  const audit = new Map<string, AuditRecord>();
  const deps: RevokePreviousDeps = {
    store: {
      getToken: async () => token,
      saveToken: async (next) => {
        if (!token || next.version !== token.version) return undefined;
        token = { ...next, version: next.version + 1 };
        return token;
      },
      createToken: async () => false,
      listTokens: async () => ({ items: [] }),
      listDueTokens: async () => ({ items: [] }),
      allTokens: async () => [],
    },
    // Like the audit trail: one record per event and discriminator, a repeat is a no-op.
    audit: {
      append: async (record, discriminator) => {
        const key = `${record.event}#${discriminator}`;
        if (!audit.has(key)) audit.set(key, record);
      },
      list: async () => [...audit.values()],
    },
    atlassian: {
      revokeToken: async (_account: string, id: string) => {
        revokedAtAtlassian.push(id);
        return 'revoked';
      },
    } as unknown as RevokePreviousDeps['atlassian'],
    clock: { now: () => NOW },
    policy,
  };
  return { deps, revokedAtAtlassian, audit, token: () => token };
}

describe('revokePreviousGenerations', () => {
  it('revokes the older generations still live, marks them and audits ROTATED once (the notifier tells the owner)', async () => {
    // Prepare
    const f = fakes(storedToken());

    // Act
    const first = await revokePreviousGenerations(f.deps, { tokenId: TOKEN_ID, generation: 3 });
    const again = await revokePreviousGenerations(f.deps, { tokenId: TOKEN_ID, generation: 3 });

    // Assess
    expect(first).toEqual({ revoked: 1 });
    expect(again).toEqual({ revoked: 0 });
    expect(f.revokedAtAtlassian).toEqual(['atl-2']);
    expect(f.token()?.generations.map((g) => g.revokedAt)).toEqual([
      '2026-02-01T00:00:00Z',
      '2026-03-01T12:00:00Z',
      undefined,
    ]);
    expect([...f.audit.values()].map((r) => [r.event, r.details?.generation])).toEqual([['ROTATED', 3]]);
  });

  it('does nothing for a token revoked meanwhile', async () => {
    // Prepare
    const f = fakes(storedToken({ status: 'REVOKED' }));

    // Act
    const result = await revokePreviousGenerations(f.deps, { tokenId: TOKEN_ID, generation: 3 });

    // Assess
    expect(result).toEqual({ revoked: 0 });
    expect(f.revokedAtAtlassian).toEqual([]);
    expect(f.audit.size).toBe(0);
  });

  it('never revokes the current generation for a generation that is not current (a retiring run of a promotion that did not happen)', async () => {
    // Prepare: generation 3 is current; a retiring run names generation 4.
    const f = fakes(storedToken());

    // Act
    const result = await revokePreviousGenerations(f.deps, { tokenId: TOKEN_ID, generation: 4 });

    // Assess
    expect(result).toEqual({ revoked: 0 });
    expect(f.revokedAtAtlassian).toEqual([]);
    expect(f.audit.size).toBe(0);
  });
});
