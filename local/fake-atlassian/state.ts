/**
 * State of the fake Atlassian: the seeded org (accounts, sites, directory) and every token ever minted.
 *
 * Only a SHA-256 digest of each token value is kept — enough to verify a presented token on `/myself` — so the
 * state file never holds a usable token. With a `stateFile`, every change is written atomically (temporary
 * file + rename) so a restart keeps the tokens and a crash never leaves a half-written file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/** An Atlassian account known to the fake. */
export interface FakeAccount {
  /** The account id used by the token routes (`atlassianId` of a service account). */
  readonly accountId: string;
  readonly email: string;
  readonly displayName: string;
  /** Only service accounts can be given tokens by an admin; humans sit in the org directory. */
  readonly kind: 'service' | 'human';
}

/** A Jira site: `GET /_edge/tenant_info` on it answers its cloudId. */
export interface FakeSite {
  /** `example` in `example.atlassian.net`. */
  readonly site: string;
  readonly cloudId: string;
}

/** What the fake starts with (and returns to on reset). */
export interface FakeSeed {
  readonly orgId: string;
  /** The org's user directory (`-` in a request means every directory). */
  readonly directoryId: string;
  readonly sites: readonly FakeSite[];
  readonly accounts: readonly FakeAccount[];
}

/** A minted token as the fake stores it. */
export interface FakeTokenRecord {
  id: string;
  accountId: string;
  label: string;
  scopes: string[];
  createdAt: string;
  expiry: string;
  /** SHA-256 (hex) of the token value. */
  valueSha256: string;
  revokedAt?: string;
  lastAccess?: string;
}

export type FakeTokenStatus = 'ACTIVE' | 'REVOKED' | 'EXPIRED';

const tokenRecordSchema = z.object({
  id: z.string(),
  accountId: z.string(),
  label: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiry: z.string(),
  valueSha256: z.string().regex(/^[0-9a-f]{64}$/),
  revokedAt: z.string().optional(),
  lastAccess: z.string().optional(),
});

const stateFileSchema = z.object({ version: z.literal(1), tokens: z.array(tokenRecordSchema) });

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The fake's mutable state. Mutations are synchronous, so concurrent requests cannot interleave inside one. */
export class FakeAtlassianState {
  private records: FakeTokenRecord[] = [];
  private readonly byDigest = new Map<string, FakeTokenRecord>();

  constructor(
    readonly seed: FakeSeed,
    private readonly stateFile?: string,
  ) {
    this.load();
  }

  /** Every token ever minted, oldest first (revoked ones included). */
  get tokens(): readonly FakeTokenRecord[] {
    return this.records;
  }

  account(accountId: string): FakeAccount | undefined {
    return this.seed.accounts.find((a) => a.accountId === accountId);
  }

  site(name: string): FakeSite | undefined {
    return this.seed.sites.find((s) => s.site === name);
  }

  siteByCloudId(cloudId: string): FakeSite | undefined {
    return this.seed.sites.find((s) => s.cloudId === cloudId);
  }

  /** Stores a new token; the value itself is only digested. */
  addToken(input: { accountId: string; label: string; scopes: string[]; expiry: Date; value: string; now: Date }) {
    const record: FakeTokenRecord = {
      id: randomUUID(),
      accountId: input.accountId,
      label: input.label,
      scopes: [...input.scopes],
      createdAt: input.now.toISOString(),
      expiry: input.expiry.toISOString(),
      valueSha256: sha256(input.value),
    };
    this.records.push(record);
    this.byDigest.set(record.valueSha256, record);
    this.persist();
    return record;
  }

  /** The token with this value, if one was ever minted. */
  findByValue(value: string): FakeTokenRecord | undefined {
    return this.byDigest.get(sha256(value));
  }

  /** Revokes a live token of the account; false when there is none with that id. */
  revoke(accountId: string, tokenId: string, now: Date): boolean {
    const record = this.records.find((r) => r.id === tokenId && r.accountId === accountId && !r.revokedAt);
    if (!record) return false;
    record.revokedAt = now.toISOString();
    this.persist();
    return true;
  }

  touch(record: FakeTokenRecord, now: Date): void {
    record.lastAccess = now.toISOString();
    this.persist();
  }

  statusOf(record: FakeTokenRecord, now: Date): FakeTokenStatus {
    if (record.revokedAt) return 'REVOKED';
    return Date.parse(record.expiry) <= now.getTime() ? 'EXPIRED' : 'ACTIVE';
  }

  /** Forgets every token (back to the seed). */
  reset(): void {
    this.records = [];
    this.byDigest.clear();
    this.persist();
  }

  private load(): void {
    if (!this.stateFile) return;
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // A file that does not parse is refused rather than silently replaced: it holds the only record of tokens.
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`fake Atlassian: ${this.stateFile} is not valid JSON`, { cause: error });
    }
    const parsed = stateFileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`fake Atlassian: ${this.stateFile} is not a state file this version reads`);
    this.records = parsed.data.tokens.map((t) => {
      const record: FakeTokenRecord = { ...t };
      if (t.revokedAt === undefined) delete record.revokedAt;
      if (t.lastAccess === undefined) delete record.lastAccess;
      return record;
    });
    for (const record of this.records) this.byDigest.set(record.valueSha256, record);
  }

  private persist(): void {
    if (!this.stateFile) return;
    mkdirSync(dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.${randomUUID()}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens: this.records }, null, 2)}\n`);
      renameSync(tmp, this.stateFile);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
  }
}
