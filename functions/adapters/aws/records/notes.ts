import type { DeliveryLeases, DriftReports } from '../../../use-cases/ports';
import type { RecordTable } from './table';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Leased delivery markers (`<markerId>`/`NOTE`): `state` `SENDING` with `leaseUntil` while an attempt delivers,
 * `SENT` once confirmed.
 */
export function deliveryLeases(table: RecordTable): DeliveryLeases {
  return {
    async leaseDelivery(markerId, at, leaseSeconds) {
      const leaseUntil = iso(new Date(at.getTime() + leaseSeconds * 1000));
      const claimed = await table.putIf(
        { pk: markerId, sk: 'NOTE', at: iso(at), state: 'SENDING', leaseUntil },
        'attribute_not_exists(pk) OR (#s = :sending AND leaseUntil < :now)',
        { ':sending': 'SENDING', ':now': iso(at) },
        { '#s': 'state' },
      );
      if (claimed) return 'claimed';
      const marker = await table.get({ pk: markerId, sk: 'NOTE' });
      // Gone between the two calls (released): another attempt will deliver it, or this one on its retry.
      if (!marker || marker.state === 'SENDING') return 'in-flight';
      return 'done';
    },
    async confirmDelivery(markerId) {
      await table.update({
        Key: { pk: markerId, sk: 'NOTE' },
        UpdateExpression: 'SET #s = :sent REMOVE leaseUntil',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':sent': 'SENT' },
      });
    },
    async releaseNotification(markerId) {
      await table.delete({ pk: markerId, sk: 'NOTE' });
    },
  };
}

/** The latest drift report of the periodic inventory (`INVENTORY`/`LATEST`). */
export function driftReports(table: RecordTable): DriftReports {
  const key = { pk: 'INVENTORY', sk: 'LATEST' };
  return {
    async getDriftReport() {
      const item = await table.get(key);
      if (!item) return undefined;
      const { pk: _pk, sk: _sk, ...report } = item;
      return report;
    },
    putDriftReport: (report) => table.put({ ...report, ...key }),
  };
}
