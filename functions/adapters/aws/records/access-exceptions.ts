import type { StoredException } from '../../../domain/access-exceptions';
import type { AccessExceptionRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

const key = (exceptionId: string) => ({ pk: `EXC#${exceptionId}`, sk: 'EXC' });
const liveKey = (member: string) => ({ pk: `EXCLIVE#${member}`, sk: 'LIVE' });

function item(exception: StoredException): Record<string, unknown> {
  return {
    ...exception,
    ...key(exception.exceptionId),
    gsi1pk: `EXCMEMBER#${exception.member}`,
    gsi1sk: `${exception.createdAt}#${exception.exceptionId}`,
    kind: 'ACCESS_EXCEPTION',
    kindSk: `${exception.createdAt}#${exception.exceptionId}`,
  };
}

/**
 * Access exceptions: `EXC#<exceptionId>`, listed by member (`byOwner`, `EXCMEMBER#<email>`) and all together
 * (`byKind`, `ACCESS_EXCEPTION`); `EXCLIVE#<email>` names the member's one live exception.
 */
export function accessExceptionRepository(table: RecordTable): AccessExceptionRepository {
  return {
    getException: async (exceptionId) => strip(await table.get(key(exceptionId))),
    createException: (exception) => table.putIfAbsent(item(exception)),
    async saveException(exception) {
      const next = { ...exception, version: exception.version + 1 };
      return (await table.putIfVersion(item(next), exception.version)) ? next : undefined;
    },
    listExceptions: (opts) =>
      opts.member
        ? table.query('byOwner', 'gsi1pk', `EXCMEMBER#${opts.member}`, opts.limit, opts.nextToken)
        : table.query('byKind', 'kind', 'ACCESS_EXCEPTION', opts.limit, opts.nextToken),
    async claimLiveException(member, exceptionId, replacing, claimedAt) {
      const taken = await table.putIf(
        { ...liveKey(member), exceptionId, ...(claimedAt === undefined ? {} : { claimedAt }) },
        replacing === undefined
          ? 'attribute_not_exists(pk) OR exceptionId = :id'
          : 'attribute_not_exists(pk) OR exceptionId = :id OR exceptionId = :old',
        replacing === undefined ? { ':id': exceptionId } : { ':id': exceptionId, ':old': replacing },
      );
      if (taken) return undefined;
      const holder = await table.get(liveKey(member));
      return typeof holder?.exceptionId === 'string' ? holder.exceptionId : undefined;
    },
    async liveExceptionClaim(member) {
      const item = await table.get(liveKey(member));
      if (typeof item?.exceptionId !== 'string') return undefined;
      return typeof item.claimedAt === 'string'
        ? { exceptionId: item.exceptionId, claimedAt: item.claimedAt }
        : { exceptionId: item.exceptionId };
    },
    async releaseLiveException(member, exceptionId) {
      await table.delete(liveKey(member), 'exceptionId = :id', { ':id': exceptionId });
    },
    async activeExceptionHolders(nowIso) {
      const holders = new Set<string>();
      let nextToken: string | undefined;
      do {
        const page = await table.queryFiltered<StoredException>(
          'byKind',
          'kind',
          'ACCESS_EXCEPTION',
          100,
          {
            // An exception whose days are over while its move back is still being retried exempts nobody.
            expression: '#status = :active AND #endsAt > :now',
            names: { '#status': 'status', '#endsAt': 'endsAt' },
            values: { ':active': 'ACTIVE', ':now': nowIso },
          },
          nextToken,
        );
        for (const exception of page.items) holders.add(exception.member);
        nextToken = page.nextToken;
      } while (nextToken);
      return holders;
    },
  };
}
