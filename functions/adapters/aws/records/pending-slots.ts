import type { PendingSlots } from '../../../domain/records';
import type { PendingSlotRepository } from '../../../use-cases/ports';
import { isConditionFailure, type RecordTable } from './table';

/**
 * Each member's pending-request slots, one item `PENDING#<member>` holding a map of request id → when taken: at
 * most the policy's `maxPendingRequestsPerMember`, enforced by one conditional write (a burst cannot overshoot).
 */
export function pendingSlotRepository(table: RecordTable): PendingSlotRepository {
  const key = (member: string) => ({ pk: `PENDING#${member}`, sk: 'PENDING' });
  return {
    // `added` says whether this call took the slot (false: the request held it already, e.g. a retried call).
    async reservePendingSlot(member, requestId, at, max) {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const out = await table.update({
            Key: key(member),
            UpdateExpression: 'SET slots.#id = if_not_exists(slots.#id, :at)',
            ConditionExpression: 'attribute_exists(slots.#id) OR size(slots) < :max',
            ExpressionAttributeNames: { '#id': requestId },
            ExpressionAttributeValues: { ':at': at, ':max': max },
            ReturnValues: 'UPDATED_OLD',
          });
          const old = (out.Attributes?.slots ?? {}) as PendingSlots;
          return { reserved: true, added: old[requestId] === undefined };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
        const item = await table.get(key(member));
        if (!item) {
          // The member's first slot: create the item holding it (a concurrent first call may win; then try again).
          if (await table.putIfAbsent({ ...key(member), slots: { [requestId]: at } })) {
            return { reserved: true, added: true };
          }
          continue;
        }
        const holders = (item.slots ?? {}) as PendingSlots;
        if (holders[requestId] !== undefined) return { reserved: true, added: false };
        if (Object.keys(holders).length >= max) return { reserved: false, holders };
      }
      throw new Error(`the pending-request slots of ${member} kept changing`);
    },
    // Idempotent; the item of a member left with no slot goes away, so take-and-give-back leaves no trace.
    async releasePendingSlot(member, requestId) {
      let left: PendingSlots | undefined;
      try {
        const out = await table.update({
          Key: key(member),
          UpdateExpression: 'REMOVE slots.#id',
          ConditionExpression: 'attribute_exists(slots)',
          ExpressionAttributeNames: { '#id': requestId },
          ReturnValues: 'ALL_NEW',
        });
        left = out.Attributes?.slots as PendingSlots | undefined;
      } catch (error) {
        if (isConditionFailure(error)) return;
        throw error;
      }
      if (left && Object.keys(left).length > 0) return;
      await table.delete(key(member), 'size(slots) = :none', { ':none': 0 });
    },
  };
}
