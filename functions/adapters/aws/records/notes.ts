import type { DriftReports, NotificationMarkers } from '../../../use-cases/ports';
import type { RecordTable } from './table';

/** One-time notification markers (`<markerId>`/`NOTE`): claimed before an email goes out, so it goes out once. */
export function notificationMarkers(table: RecordTable): NotificationMarkers {
  return {
    claimNotification: (markerId, at) => table.putIfAbsent({ pk: markerId, sk: 'NOTE', at }),
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
