import type { ScanRecord, StoredPersonalToken } from '../../../domain/personal-tokens';
import type { PersonalTokenRepository, ScanRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

const tokenKey = (atlassianTokenId: string) => ({ pk: `PT#${atlassianTokenId}`, sk: 'PT' });

function tokenItem(record: StoredPersonalToken): Record<string, unknown> {
  return {
    ...record,
    ...tokenKey(record.atlassianTokenId),
    gsi1pk: `PTOWNER#${record.owner.email}`,
    gsi1sk: `${record.firstSeenAt}#${record.atlassianTokenId}`,
    kind: 'PERSONAL_TOKEN',
    kindSk: `${record.firstSeenAt}#${record.atlassianTokenId}`,
  };
}

/**
 * Members' personal tokens: `PT#<atlassianTokenId>`, listed by owner (`byOwner`, `PTOWNER#<email>`) and all together
 * (`byKind`, `PERSONAL_TOKEN`), newest first; state and flag filters run on the index pages.
 */
export function personalTokenRepository(table: RecordTable): PersonalTokenRepository {
  return {
    getPersonalToken: async (id) => strip(await table.get(tokenKey(id))),
    async getPersonalTokens(ids) {
      const unique = [...new Set(ids)];
      const items = await table.batchGet(unique.map(tokenKey));
      const found = new Map<string, StoredPersonalToken>();
      for (const item of items) {
        const record = strip<StoredPersonalToken>(item);
        if (record) found.set(record.atlassianTokenId, record);
      }
      return found;
    },
    createPersonalToken: (record) => table.putIfAbsent(tokenItem(record)),
    async savePersonalToken(record) {
      const next = { ...record, version: record.version + 1 };
      return (await table.putIfVersion(tokenItem(next), record.version)) ? next : undefined;
    },
    listPersonalTokens(opts) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      const clauses: string[] = [];
      if (opts.state !== undefined) {
        names['#state'] = 'state';
        values[':state'] = opts.state;
        clauses.push('#state = :state');
      }
      if (opts.flag !== undefined) {
        names['#flags'] = 'flags';
        values[':flag'] = opts.flag;
        clauses.push('contains(#flags, :flag)');
      }
      const filter = clauses.length === 0 ? undefined : { expression: clauses.join(' AND '), names, values };
      return opts.owner !== undefined
        ? table.queryFiltered('byOwner', 'gsi1pk', `PTOWNER#${opts.owner}`, opts.limit, filter, opts.nextToken)
        : table.queryFiltered('byKind', 'kind', 'PERSONAL_TOKEN', opts.limit, filter, opts.nextToken);
    },
    async eachPersonalTokenPage(visit) {
      let nextToken: string | undefined;
      do {
        const page = await table.query<StoredPersonalToken>('byKind', 'kind', 'PERSONAL_TOKEN', 1000, nextToken);
        await visit(page.items);
        nextToken = page.nextToken;
      } while (nextToken);
    },
  };
}

const scanKey = (scanId: string) => ({ pk: `SCAN#${scanId}`, sk: 'SCAN' });
const LOCK = { pk: 'PT_SCAN_LOCK', sk: 'LOCK' };
const LATEST = { pk: 'PT_SCAN_LATEST', sk: 'LATEST' };

const scanItem = (scan: ScanRecord) => ({
  ...scan,
  ...scanKey(scan.scanId),
  kind: 'PT_SCAN',
  kindSk: `${scan.startedAt}#${scan.scanId}`,
});

/**
 * Scans: `SCAN#<scanId>`; the lock `PT_SCAN_LOCK` (one scan at a time; a lock older than the longest scan can run
 * is taken over); `PT_SCAN_LATEST` copies the latest complete scan (the listings' `scannedAt`).
 */
export function scanRepository(table: RecordTable): ScanRepository {
  return {
    async claimScan(scan, staleBefore) {
      const taken = await table.putIf(
        { ...LOCK, scanId: scan.scanId, startedAt: scan.startedAt },
        'attribute_not_exists(pk) OR startedAt < :stale',
        { ':stale': staleBefore },
      );
      if (taken) {
        await table.put(scanItem(scan));
        return undefined;
      }
      const lock = await table.get(LOCK);
      const holder =
        typeof lock?.scanId === 'string' ? strip<ScanRecord>(await table.get(scanKey(lock.scanId))) : undefined;
      return (
        holder ?? {
          scanId: String(lock?.scanId ?? 'unknown'),
          status: 'RUNNING',
          trigger: 'schedule',
          startedAt: String(lock?.startedAt ?? scan.startedAt),
          attempts: 0,
          listed: 0,
          new: 0,
          revoked: 0,
          gone: 0,
        }
      );
    },
    getScan: async (scanId) => strip(await table.get(scanKey(scanId))),
    async saveScan(scan, opts = {}) {
      await table.put(scanItem(scan));
      if (opts.complete) await table.put({ ...scan, ...LATEST });
      if (opts.release) await table.delete(LOCK, 'scanId = :id', { ':id': scan.scanId });
    },
    latestCompleteScan: async () => strip(await table.get(LATEST)),
  };
}
