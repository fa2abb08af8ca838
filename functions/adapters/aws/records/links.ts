import { MAX_APPROVAL_EXPIRY_HOURS } from '../../../domain/policy';
import { isoSeconds } from '../../../domain/ports';
import type { ApprovalRecord, UploadRecord } from '../../../domain/records';
import type { ApprovalRepository, UploadRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

/** How many anti-forgery values a link remembers (the pages rendered last). */
const CSRF_KEPT = 5;

/**
 * The items behind single-use links (approvals `APV#…`, uploads `UPL#…`): one item per link with a `status`,
 * and the anti-forgery values of its latest pages. Every status change is one conditional transition.
 */
function linkItems<T>(table: RecordTable, prefix: 'APV' | 'UPL') {
  const key = (id: string) => ({ pk: `${prefix}#${id}`, sk: prefix });
  return {
    key,
    get: async (id: string) => strip<T>(await table.get(key(id))),
    /** Creates the link's item (with its index keys, if any); false if it exists. */
    create: (id: string, record: T, index: Record<string, string> = {}) =>
      table.putIfAbsent({ ...record, ...index, ...key(id) }),
    /** Remembers an anti-forgery value handed out with a page; false if the link is no longer open. */
    addCsrf: async (id: string, csrfHash: string, previous: string[]) =>
      (await table.transition(key(id), {
        field: 'status',
        from: 'OPEN',
        set: { csrfHashes: [...previous, csrfHash].slice(-CSRF_KEPT) },
      })) !== undefined,
    /** Moves the link from status `from` to `to` (with `set`/`remove`); false if it was not in `from`. */
    move: async (id: string, from: string, to: string, change: { set?: Record<string, unknown>; remove?: string[] }) =>
      (await table.transition(key(id), { field: 'status', from, to, ...change })) !== undefined,
  };
}

/**
 * Approvers' single-use approval links, listed by approver (`byOwner`, `APPROVER#<email>`, newest first). Approvals
 * written before that index entry existed are not listed (they still decide through their link).
 */
export function approvalRepository(table: RecordTable): ApprovalRepository {
  const links = linkItems<ApprovalRecord>(table, 'APV');
  return {
    getApproval: links.get,
    createApproval: (approval) =>
      links.create(approval.approvalId, approval, {
        gsi1pk: `APPROVER#${approval.approver.toLowerCase()}`,
        gsi1sk: `${approval.createdAt}#${approval.approvalId}`,
      }),
    addApprovalCsrf: links.addCsrf,
    decideApproval: (approvalId, decision, at) =>
      links.move(approvalId, 'OPEN', 'DECIDED', { set: { decision, decidedAt: at, csrfHashes: [] } }),
    // A decision that lost the race to another one is taken back.
    supersedeApproval: (approvalId) =>
      links.move(approvalId, 'DECIDED', 'CLOSED', { remove: ['decision', 'decidedAt'] }),
    closeApproval: (approvalId) => links.move(approvalId, 'OPEN', 'CLOSED', { set: { csrfHashes: [] } }),
    listOpenApprovals: (opts) =>
      table.queryFiltered<ApprovalRecord>(
        'byOwner',
        'gsi1pk',
        `APPROVER#${opts.approver.toLowerCase()}`,
        opts.limit,
        {
          expression: '#status = :open AND #expiresAt > :now',
          names: { '#status': 'status', '#expiresAt': 'expiresAt' },
          values: { ':open': 'OPEN', ':now': opts.nowIso },
        },
        opts.nextToken,
        // An approval open at `nowIso` was created less than the longest approval expiry before: older ones are not
        // read at all, so an approver's history does not make the hourly reminders slower.
        `${isoSeconds(new Date(Date.parse(opts.nowIso) - MAX_APPROVAL_EXPIRY_HOURS * 3_600_000))}#`,
      ),
  };
}

/** Admins' single-use upload links (manual issuance). */
export function uploadRepository(table: RecordTable): UploadRepository {
  const links = linkItems<UploadRecord>(table, 'UPL');
  return {
    getUpload: links.get,
    // A retried step finds the link there and reuses it, with its expiry.
    createUpload: (upload) => links.create(upload.uploadId, upload),
    addUploadCsrf: links.addCsrf,
    claimUpload: (uploadId, at) => links.move(uploadId, 'OPEN', 'USED', { set: { usedAt: at, csrfHashes: [] } }),
    // Storing the upload failed before anything was recorded: the link is open again, with its page's values.
    releaseUpload: (uploadId, csrfHashes) =>
      links.move(uploadId, 'USED', 'OPEN', { set: { csrfHashes }, remove: ['usedAt'] }),
  };
}
