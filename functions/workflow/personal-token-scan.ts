import { personalTokenDeps } from '../composition/deps';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { abandonScan, beginScan, runScan } from '../use-cases/personal-tokens';

const deps = personalTokenDeps();
const scanId = z.string().check(z.regex(/^scan_[a-z2-7]{26}$/));
const input = z.discriminatedUnion('action', [
  // The daily schedule starts the workflow without a scan; `POST /inventory/scan` has begun one already.
  z.object({ action: z.literal('begin'), scanId: z.optional(scanId) }),
  z.object({ action: z.literal('scan'), scanId }),
  z.object({ action: z.literal('abandon'), scanId, error: z.optional(z.string()) }),
]);

/**
 * Tasks of the personal-token scan workflow: `Begin scan` (the schedule's run takes the lock; `{skipped: true}`
 * when another scan holds it), `Scan personal tokens` (one listing attempt; `retry` when it stopped part-way and
 * attempts are left) and `Give up the scan` (a step failed after its retries: `INCOMPLETE`, lock released).
 */
export const handler = taskHandler(input, async (parsed) => {
  switch (parsed.action) {
    case 'begin': {
      if (parsed.scanId !== undefined) return { scanId: parsed.scanId, skipped: false };
      try {
        const scan = await beginScan(deps, {});
        return { scanId: scan.scanId, skipped: false };
      } catch (error) {
        if (error instanceof Error && error.name === 'RequestError') {
          logger.info('scheduled scan skipped', { reason: error.message });
          return { skipped: true };
        }
        throw error;
      }
    }
    case 'scan': {
      const { scan, retry } = await runScan(deps, parsed.scanId);
      logger.info('personal-token scan attempt', {
        scanId: scan.scanId,
        status: scan.status,
        attempts: scan.attempts,
        listed: scan.listed,
        retry,
      });
      return { scanId: scan.scanId, status: scan.status, retry };
    }
    case 'abandon':
      await abandonScan(deps, parsed.scanId, parsed.error ?? 'the scan step failed');
      return { scanId: parsed.scanId, status: 'INCOMPLETE' };
  }
});
