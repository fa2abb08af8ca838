import type { IssuanceDeps } from '../app/issuance';
import { systemClock } from '../domain/ports';
import { envVar, readConfig } from './config';
import { atlassian, auditLog, mailer, recordStore, tokenVault } from './deps';
import { loadPolicy } from './policy-loader';

/** Dependencies of the minting steps (mint, verify, promote, discard). */
export function issuanceDeps(): IssuanceDeps {
  return {
    store: recordStore(),
    audit: auditLog(),
    vault: tokenVault(),
    atlassian: atlassian(),
    mailer: mailer(),
    clock: systemClock,
    policy: loadPolicy(),
    kmsKeyId: readConfig({ SECRETS_KMS_KEY_ID: envVar.name }).SECRETS_KMS_KEY_ID,
  };
}
