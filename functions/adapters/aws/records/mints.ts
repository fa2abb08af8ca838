import type { MintRecord } from '../../../domain/records';
import type { MintRepository } from '../../../use-cases/ports';
import { type RecordTable, strip } from './table';

const mintKey = (tokenId: string, generation: number) => ({
  pk: `TOK#${tokenId}`,
  sk: `MINT#${String(generation).padStart(6, '0')}`,
});

/** A generation still awaiting the upload into `versionId` (the round's secret version). */
const awaitingUpload = (versionId: string) => ({ field: 'state', from: 'AWAITING_UPLOAD', where: { versionId } });

/** A token's generations: `MINT#<generation>` items beside the token's own item. */
export function mintRepository(table: RecordTable): MintRepository {
  return {
    getMint: async (tokenId, generation) => strip(await table.get(mintKey(tokenId, generation))),
    putMint: (mint) => table.put({ ...mint, ...mintKey(mint.tokenId, mint.generation) }),
    // The links' expiry is set the first time only: a re-armed wait keeps the links it emailed.
    armUploadWait: async (tokenId, generation, versionId, taskTokenSealed, uploadExpiresAt) =>
      strip<MintRecord>(
        await table.transition(mintKey(tokenId, generation), {
          ...awaitingUpload(versionId),
          set: { taskTokenSealed },
          setIfAbsent: { uploadExpiresAt },
          returnValues: 'ALL_NEW',
        }),
      ),
    // The record as it was before: its sealed task token is the one to resume.
    receiveUpload: async (tokenId, generation, versionId, fields) =>
      strip<MintRecord>(
        await table.transition(mintKey(tokenId, generation), {
          ...awaitingUpload(versionId),
          to: 'STAGED',
          set: { ...fields, mintedAt: fields.uploadedAt },
          remove: ['taskTokenSealed'],
          returnValues: 'ALL_OLD',
        }),
      ),
    closeUploadWait: async (tokenId, generation, versionId) =>
      (await table.transition(mintKey(tokenId, generation), {
        ...awaitingUpload(versionId),
        to: 'DISCARDED',
        remove: ['taskTokenSealed'],
      })) !== undefined,
  };
}
