import { type Clock, isoSeconds } from '../../../domain/ports';
import type { NameLock } from '../../../domain/records';
import type { NameBinding } from '../../../domain/requests';
import type { NameLockRepository } from '../../../use-cases/ports';
import type { RecordTable } from './table';

const isBinding = (value: unknown): value is NameBinding =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as NameBinding).owner === 'string' &&
  typeof (value as NameBinding).until === 'string';

/**
 * Locks on token names, `NAME#<alias>#<name>`: one live token (or pending request) per service account and name.
 * A released lock stays (marked `releasedAt`, the first release counts): the name stays bound to the request's
 * owner for the recovery window, and is taken over only as `acquireName` allows.
 */
export function nameLockRepository(table: RecordTable, clock: Clock): NameLockRepository {
  const key = (alias: string, name: string) => ({ pk: `NAME#${alias}#${name}`, sk: 'NAME' });
  return {
    // Taken when free, already `requestId`'s, or (`replacing`) still held by that request.
    async acquireName(alias, name, requestId, { owner, replacing, bound } = {}) {
      const item = { ...key(alias, name), requestId, ...(owner ? { owner } : {}), ...(bound ? { bound } : {}) };
      const ok = replacing
        ? await table.putIf(item, 'requestId = :old', { ':old': replacing })
        : await table.putIf(item, 'attribute_not_exists(pk) OR requestId = :mine', { ':mine': requestId });
      if (ok) return undefined;
      const holder = await table.get(key(alias, name));
      // `requestId` empty: the lock vanished meanwhile.
      const lock: NameLock = {
        requestId: typeof holder?.requestId === 'string' ? holder.requestId : '',
        ...(typeof holder?.owner === 'string' ? { owner: holder.owner } : {}),
        ...(typeof holder?.releasedAt === 'string' ? { releasedAt: holder.releasedAt } : {}),
        ...(isBinding(holder?.bound) ? { bound: holder.bound } : {}),
      };
      return lock;
    },
    async releaseName(alias, name, requestId) {
      await table.transition(key(alias, name), {
        field: 'requestId',
        from: requestId,
        setIfAbsent: { releasedAt: isoSeconds(clock.now()) },
      });
    },
  };
}
