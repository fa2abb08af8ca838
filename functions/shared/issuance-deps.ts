import type { IssuanceDeps } from '../app/issuance';
import { systemClock } from '../domain/ports';
import { envVar, readConfig } from './config';
import { atlassian, auditLog, mailer, recordStore, rotationSchedules, tokenVault } from './deps';
import { loadPolicy } from './policy-loader';

/**
 * Dependencies of the minting steps (mint, verify, promote, discard). Each step's function is configured with only
 * what that step uses, so adapters are built on first use; the table and the policy are read at cold start.
 */
export function issuanceDeps(): IssuanceDeps {
  const store = recordStore();
  const policy = loadPolicy();
  return {
    store,
    policy,
    clock: systemClock,
    get audit() {
      return auditLog();
    },
    get vault() {
      return tokenVault();
    },
    get atlassian() {
      return atlassian();
    },
    get mailer() {
      return mailer();
    },
    get schedules() {
      return rotationSchedules();
    },
    get kmsKeyId() {
      return readConfig({ SECRETS_KMS_KEY_ID: envVar.name }).SECRETS_KMS_KEY_ID;
    },
  };
}
