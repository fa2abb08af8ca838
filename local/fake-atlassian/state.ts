/**
 * State of the fake Atlassian: the seeded org (accounts, sites, directory, authentication policies), the members
 * added since, every token ever minted or created (service-account and personal), each member's authentication
 * policy, and the policy moves (`add-users` tasks) in flight.
 *
 * Only a SHA-256 digest of each token value is kept — enough to verify a presented token on `/myself` — so the
 * state file never holds a usable token. With a `stateFile`, every change is written atomically (temporary
 * file + rename) so a restart keeps the state and a crash never leaves a half-written file. A version 1 file
 * (tokens only) is read too: its members get the seed's policies and the seed's personal tokens are created then.
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
  /** Only service accounts can be given tokens by an admin; humans (members) sit in the org directory. */
  readonly kind: 'service' | 'human';
}

/** A Jira site: `GET /_edge/tenant_info` on it answers its cloudId. */
export interface FakeSite {
  /** `example` in `example.atlassian.net`. */
  readonly site: string;
  readonly cloudId: string;
}

/** An authentication policy of admin.atlassian.com; only its "User API tokens" setting matters here. */
export interface FakeAuthPolicy {
  readonly policyId: string;
  readonly name: string;
  /** "User API tokens: Allow / Block": blocks creating and using members' personal tokens. */
  readonly apiTokens: 'allowed' | 'blocked';
}

/** A personal token the seed creates, relative to the clock when the state is first created. */
export interface FakeSeedPersonalToken {
  readonly email: string;
  readonly label: string;
  /** Default `[]` (unscoped). */
  readonly scopes?: readonly string[];
  readonly createdDaysAgo: number;
  /** Days from creation; default 365. */
  readonly lifetimeDays?: number;
}

/** What the fake starts with (and returns to on reset). */
export interface FakeSeed {
  readonly orgId: string;
  /** The org's user directory (`-` in a request means every directory). */
  readonly directoryId: string;
  readonly sites: readonly FakeSite[];
  readonly accounts: readonly FakeAccount[];
  /** The org's authentication policies; absent = none, and every member's tokens are allowed. */
  readonly authPolicies?: readonly FakeAuthPolicy[];
  /** The policy every seeded member starts in (needs `authPolicies`). */
  readonly defaultAuthPolicyId?: string;
  readonly personalTokens?: readonly FakeSeedPersonalToken[];
}

/** A token as the fake stores it, whoever owns it. */
export interface FakeTokenRecord {
  id: string;
  accountId: string;
  label: string;
  /** `[]` for an unscoped (classic) personal token. */
  scopes: string[];
  createdAt: string;
  expiry: string;
  /** SHA-256 (hex) of the token value. */
  valueSha256: string;
  revokedAt?: string;
  lastAccess?: string;
}

export type FakeTokenStatus = 'ACTIVE' | 'REVOKED' | 'EXPIRED';

/** A member's place in an authentication policy. */
export interface FakeMembership {
  readonly policyId: string;
  /** Epoch ms on the fake's clock, as `bulk-fetch` reports it. */
  readonly dateAdded: number;
}

/** One `add-users` move: in progress until `completesAtMs` (wall clock), then its outcome. */
export interface FakePolicyTask {
  readonly taskId: string;
  readonly policyId: string;
  readonly emails: readonly string[];
  readonly completesAtMs: number;
  outcome?: { succeeded: string[]; unknown: string[] };
}

/** Sortable fields of the org inventory. */
export type InventorySortField = 'label' | 'user.name' | 'createdAt' | 'expiresAt' | 'lastActiveAt';

/** How long a policy move stays in progress (wall clock). */
export const POLICY_MOVE_MS = 300;
const DAY_MS = 24 * 3600 * 1000;

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

const accountSchema = z.object({
  accountId: z.string(),
  email: z.string(),
  displayName: z.string(),
  kind: z.enum(['service', 'human']),
});

const stateFileSchema = z.discriminatedUnion('version', [
  z.object({ version: z.literal(1), tokens: z.array(tokenRecordSchema) }),
  z.object({
    version: z.literal(2),
    tokens: z.array(tokenRecordSchema),
    members: z.array(accountSchema),
    memberships: z.array(z.object({ accountId: z.string(), policyId: z.string(), dateAdded: z.number() })),
    tasks: z.array(
      z.object({
        taskId: z.string(),
        policyId: z.string(),
        emails: z.array(z.string()),
        completesAtMs: z.number(),
        outcome: z.object({ succeeded: z.array(z.string()), unknown: z.array(z.string()) }).optional(),
      }),
    ),
  }),
]);

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Construction options of {@link FakeAtlassianState} beyond the seed. */
export interface FakeStateOptions {
  /** JSON persistence; absent = memory only. */
  stateFile?: string;
  /** The fake's clock (simulated in the local runtime): seeded tokens' dates and policy `dateAdded`. */
  now?: () => Date;
}

/** The fake's mutable state. Mutations are synchronous, so concurrent requests cannot interleave inside one. */
export class FakeAtlassianState {
  private records: FakeTokenRecord[] = [];
  private readonly byDigest = new Map<string, FakeTokenRecord>();
  private readonly byId = new Map<string, FakeTokenRecord>();
  private readonly accountsById = new Map<string, FakeAccount>();
  private readonly accountsByEmail = new Map<string, FakeAccount>();
  private addedMembers: FakeAccount[] = [];
  private readonly memberships = new Map<string, FakeMembership>();
  private readonly tasks = new Map<string, FakePolicyTask>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Live (unrevoked) tokens sorted per `field:direction`; dropped on every change that can reorder them. */
  private readonly sortCache = new Map<string, FakeTokenRecord[]>();
  private readonly stateFile: string | undefined;
  private readonly now: () => Date;

  constructor(
    readonly seed: FakeSeed,
    options: FakeStateOptions | string = {},
  ) {
    const opts = typeof options === 'string' ? { stateFile: options } : options;
    this.stateFile = opts.stateFile;
    this.now = opts.now ?? (() => new Date());
    if (!this.load()) {
      this.fromSeed();
      this.persist();
    }
  }

  /** Every token ever minted or created, oldest first (revoked ones included). */
  get tokens(): readonly FakeTokenRecord[] {
    return this.records;
  }

  /** Every account: the seed's, then the members added since. */
  get accounts(): readonly FakeAccount[] {
    return [...this.seed.accounts, ...this.addedMembers];
  }

  get policies(): readonly FakeAuthPolicy[] {
    return this.seed.authPolicies ?? [];
  }

  account(accountId: string): FakeAccount | undefined {
    return this.accountsById.get(accountId);
  }

  accountByEmail(email: string): FakeAccount | undefined {
    return this.accountsByEmail.get(email.toLowerCase());
  }

  site(name: string): FakeSite | undefined {
    return this.seed.sites.find((s) => s.site === name);
  }

  siteByCloudId(cloudId: string): FakeSite | undefined {
    return this.seed.sites.find((s) => s.cloudId === cloudId);
  }

  policy(policyId: string): FakeAuthPolicy | undefined {
    return this.policies.find((p) => p.policyId === policyId);
  }

  membership(accountId: string): FakeMembership | undefined {
    return this.memberships.get(accountId);
  }

  /** Members (human accounts) of a policy, in directory order. */
  membersOf(policyId: string): Array<{ account: FakeAccount; dateAdded: number }> {
    return this.accounts.flatMap((account) => {
      const m = this.memberships.get(account.accountId);
      return m?.policyId === policyId ? [{ account, dateAdded: m.dateAdded }] : [];
    });
  }

  /**
   * Whether the account's API tokens work: a service account's always; a member's while their authentication
   * policy allows user API tokens (a member in no policy — a seed without policies — is allowed).
   */
  apiTokensAllowed(accountId: string): boolean {
    const account = this.account(accountId);
    if (!account || account.kind === 'service') return true;
    const m = this.memberships.get(accountId);
    const policy = m ? this.policy(m.policyId) : undefined;
    return policy?.apiTokens !== 'blocked';
  }

  /** Stores a new token; the value itself is only digested. */
  addToken(input: {
    accountId: string;
    label: string;
    scopes: readonly string[];
    expiry: Date;
    value: string;
    now: Date;
    /** When it was created, if not `now` (a personal token that predates a block). */
    createdAt?: Date;
  }): FakeTokenRecord {
    const record = this.insert({
      id: randomUUID(),
      accountId: input.accountId,
      label: input.label,
      scopes: [...input.scopes],
      createdAt: (input.createdAt ?? input.now).toISOString(),
      expiry: input.expiry.toISOString(),
      valueSha256: sha256(input.value),
    });
    this.changed();
    return record;
  }

  /**
   * Adds `members` new members (in `policyId`, default the seed's default policy), each with `tokensPerMember`
   * unscoped personal tokens created over the past year, none used, in one step (one write). For benchmarks:
   * the token values are random and never returned.
   */
  addGeneratedPersonalTokens(input: {
    members: number;
    tokensPerMember: number;
    now: Date;
    policyId?: string;
    /** Distinguishes the accounts of several calls; default a random prefix. */
    prefix?: string;
  }): FakeAccount[] {
    const prefix = input.prefix ?? randomUUID().slice(0, 8);
    const policyId = input.policyId ?? this.seed.defaultAuthPolicyId;
    const nowMs = input.now.getTime();
    const added: FakeAccount[] = [];
    for (let m = 0; m < input.members; m++) {
      const n = String(m + 1).padStart(6, '0');
      const account: FakeAccount = {
        accountId: `712020:gen-${prefix}-${n}`,
        email: `member-${prefix}-${n}@example.com`,
        displayName: `Member ${prefix} ${n}`,
        kind: 'human',
      };
      this.addAccount(account);
      this.addedMembers.push(account);
      if (policyId) this.memberships.set(account.accountId, { policyId, dateAdded: nowMs });
      added.push(account);
      for (let t = 0; t < input.tokensPerMember; t++) {
        const createdMs = nowMs - (((m * input.tokensPerMember + t) * 7919) % 365) * DAY_MS - t * 1000;
        this.insert({
          id: randomUUID(),
          accountId: account.accountId,
          label: `token ${t + 1}`,
          scopes: [],
          createdAt: new Date(createdMs).toISOString(),
          expiry: new Date(createdMs + 365 * DAY_MS).toISOString(),
          valueSha256: sha256(randomUUID()),
        });
      }
    }
    this.changed();
    return added;
  }

  /** The token with this value, if one was ever minted. */
  findByValue(value: string): FakeTokenRecord | undefined {
    return this.byDigest.get(sha256(value));
  }

  tokenById(tokenId: string): FakeTokenRecord | undefined {
    return this.byId.get(tokenId);
  }

  /** Revokes a live token of the account; false when there is none with that id. */
  revoke(accountId: string, tokenId: string, now: Date): boolean {
    const record = this.byId.get(tokenId);
    if (!record || record.accountId !== accountId || record.revokedAt) return false;
    record.revokedAt = now.toISOString();
    this.changed();
    return true;
  }

  touch(record: FakeTokenRecord, now: Date): void {
    record.lastAccess = now.toISOString();
    this.changed();
  }

  statusOf(record: FakeTokenRecord, now: Date): FakeTokenStatus {
    if (record.revokedAt) return 'REVOKED';
    return Date.parse(record.expiry) <= now.getTime() ? 'EXPIRED' : 'ACTIVE';
  }

  /**
   * Unrevoked tokens in inventory order: by the field (a missing value — never used, no expiry — is the
   * smallest, so it sorts first ascending and last descending), then by token id; `descending` reverses both.
   * Cached per order until the next change.
   */
  sortedTokens(field: InventorySortField, descending: boolean): readonly FakeTokenRecord[] {
    const key = `${field}:${descending}`;
    let sorted = this.sortCache.get(key);
    if (!sorted) {
      const valued = this.records.filter((r) => !r.revokedAt).map((r) => ({ r, v: this.sortValue(r, field) }));
      const sign = descending ? -1 : 1;
      valued.sort((a, b) => sign * compareTuples(a.v, a.r.id, b.v, b.r.id));
      sorted = valued.map((x) => x.r);
      this.sortCache.set(key, sorted);
    }
    return sorted;
  }

  /** A token's value for an inventory sort (`''` when it has none). */
  sortValue(record: FakeTokenRecord, field: InventorySortField): string {
    switch (field) {
      case 'label':
        return record.label;
      case 'user.name':
        return this.account(record.accountId)?.displayName ?? '';
      case 'createdAt':
        return record.createdAt;
      case 'expiresAt':
        return record.expiry;
      case 'lastActiveAt':
        return record.lastAccess ?? '';
    }
  }

  /** Moves a member into a policy at once, as an admin would in admin.atlassian.com. */
  moveMember(accountId: string, policyId: string): FakeMembership {
    const current = this.memberships.get(accountId);
    if (current?.policyId === policyId) return current;
    const membership = { policyId, dateAdded: this.now().getTime() };
    this.memberships.set(accountId, membership);
    this.changed();
    return membership;
  }

  /** Starts an `add-users` move; it completes after {@link POLICY_MOVE_MS} of wall time. */
  startPolicyMove(policyId: string, emails: readonly string[]): FakePolicyTask {
    const task: FakePolicyTask = {
      taskId: randomUUID(),
      policyId,
      emails: [...emails],
      completesAtMs: Date.now() + POLICY_MOVE_MS,
    };
    this.tasks.set(task.taskId, task);
    this.schedule(task);
    this.changed();
    return task;
  }

  /** The task, completed first if its time has come. */
  task(taskId: string): FakePolicyTask | undefined {
    const task = this.tasks.get(taskId);
    if (task && !task.outcome && Date.now() >= task.completesAtMs) this.complete(task);
    return task;
  }

  /** Back to the seed: its members, policies and personal tokens (created again on the clock), no tasks. */
  reset(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.fromSeed();
    this.persist();
  }

  private fromSeed(): void {
    this.records = [];
    this.byDigest.clear();
    this.byId.clear();
    this.addedMembers = [];
    this.tasks.clear();
    this.indexAccounts();
    this.seedMemberships();
    this.seedPersonalTokens();
    this.sortCache.clear();
  }

  private indexAccounts(): void {
    this.accountsById.clear();
    this.accountsByEmail.clear();
    for (const account of this.seed.accounts) this.addAccount(account);
  }

  private addAccount(account: FakeAccount): void {
    this.accountsById.set(account.accountId, account);
    this.accountsByEmail.set(account.email.toLowerCase(), account);
  }

  private seedMemberships(): void {
    this.memberships.clear();
    const policyId = this.seed.defaultAuthPolicyId;
    if (!policyId) return;
    const dateAdded = this.now().getTime();
    for (const a of this.seed.accounts) {
      if (a.kind === 'human') this.memberships.set(a.accountId, { policyId, dateAdded });
    }
  }

  private seedPersonalTokens(): void {
    const nowMs = this.now().getTime();
    for (const t of this.seed.personalTokens ?? []) {
      const account = this.accountByEmail(t.email);
      if (!account) throw new Error(`fake Atlassian seed: no account ${t.email} for personal token ${t.label}`);
      const createdMs = nowMs - t.createdDaysAgo * DAY_MS;
      this.insert({
        id: randomUUID(),
        accountId: account.accountId,
        label: t.label,
        scopes: [...(t.scopes ?? [])],
        createdAt: new Date(createdMs).toISOString(),
        expiry: new Date(createdMs + (t.lifetimeDays ?? 365) * DAY_MS).toISOString(),
        valueSha256: sha256(randomUUID()),
      });
    }
  }

  private insert(record: FakeTokenRecord): FakeTokenRecord {
    this.records.push(record);
    this.byDigest.set(record.valueSha256, record);
    this.byId.set(record.id, record);
    return record;
  }

  private schedule(task: FakePolicyTask): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (this.tasks.get(task.taskId) === task && !task.outcome) this.complete(task);
      },
      Math.max(0, task.completesAtMs - Date.now()),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /** Applies a move: every known member moves; an email of no member is a failure. */
  private complete(task: FakePolicyTask): void {
    const succeeded: string[] = [];
    const unknown: string[] = [];
    for (const email of task.emails) {
      const account = this.accountByEmail(email);
      if (account?.kind === 'human' && this.policy(task.policyId)) {
        const current = this.memberships.get(account.accountId);
        if (current?.policyId !== task.policyId) {
          this.memberships.set(account.accountId, { policyId: task.policyId, dateAdded: this.now().getTime() });
        }
        succeeded.push(email);
      } else {
        unknown.push(email);
      }
    }
    task.outcome = { succeeded, unknown };
    this.changed();
  }

  private changed(): void {
    this.sortCache.clear();
    this.persist();
  }

  /** Reads the state file; false when there is none or it predates members (version 1: seeded then). */
  private load(): boolean {
    if (!this.stateFile) return false;
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
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
    const file = parsed.data;
    this.records = [];
    this.byDigest.clear();
    this.byId.clear();
    this.indexAccounts();
    if (file.version === 1) {
      // Version 1 knew neither members' policies nor personal tokens: they start from the seed now.
      this.seedMemberships();
      this.seedPersonalTokens();
    }
    for (const t of file.tokens) {
      const record: FakeTokenRecord = { ...t };
      if (t.revokedAt === undefined) delete record.revokedAt;
      if (t.lastAccess === undefined) delete record.lastAccess;
      this.insert(record);
    }
    if (file.version === 2) {
      this.addedMembers = file.members.filter((m) => !this.accountsById.has(m.accountId));
      for (const m of this.addedMembers) this.addAccount(m);
      this.memberships.clear();
      for (const m of file.memberships) {
        this.memberships.set(m.accountId, { policyId: m.policyId, dateAdded: m.dateAdded });
      }
      for (const t of file.tasks) {
        const task: FakePolicyTask = { ...t, emails: [...t.emails] };
        if (t.outcome === undefined) delete task.outcome;
        this.tasks.set(task.taskId, task);
        if (!task.outcome) this.schedule(task);
      }
    } else {
      this.persist();
    }
    this.sortCache.clear();
    return true;
  }

  private persist(): void {
    if (!this.stateFile) return;
    mkdirSync(dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.${randomUUID()}.tmp`;
    const file = {
      version: 2,
      tokens: this.records,
      members: this.addedMembers,
      memberships: [...this.memberships].map(([accountId, m]) => ({ accountId, ...m })),
      tasks: [...this.tasks.values()],
    };
    try {
      writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
      renameSync(tmp, this.stateFile);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
  }
}

/** Orders `(value, id)` pairs: by value, then by id (plain code-unit order, as the cursor compares). */
export function compareTuples(av: string, aid: string, bv: string, bid: string): number {
  if (av !== bv) return av < bv ? -1 : 1;
  if (aid !== bid) return aid < bid ? -1 : 1;
  return 0;
}
