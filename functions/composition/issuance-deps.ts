import { systemClock } from '../domain/ports';
import type { DiscardDeps, MintDeps, PromoteDeps, VerifyDeps } from '../use-cases/issuance';
import { envVar, readConfig } from './config';
import { atlassian, auditLog, recordStore, rotationSchedules, tokenVault } from './deps';
import { loadPolicy } from './policy-loader';

/*
 * Dependencies of the minting steps (mint, verify, promote, discard). Each step's function gets only what that step
 * uses, so its bundle carries no other adapter; adapters are built on first use, the table and the policy are read
 * at cold start.
 */

export function mintDeps(): MintDeps {
  return {
    store: recordStore(),
    policy: loadPolicy(),
    clock: systemClock,
    get vault() {
      return tokenVault();
    },
    get atlassian() {
      return atlassian();
    },
    get kmsKeyId() {
      return readConfig({ SECRETS_KMS_KEY_ID: envVar.name }).SECRETS_KMS_KEY_ID;
    },
  };
}

export function verifyDeps(): VerifyDeps {
  return {
    store: recordStore(),
    policy: loadPolicy(),
    get vault() {
      return tokenVault();
    },
    get atlassian() {
      return atlassian();
    },
  };
}

export function promoteDeps(): PromoteDeps {
  return {
    store: recordStore(),
    policy: loadPolicy(),
    clock: systemClock,
    get vault() {
      return tokenVault();
    },
    get audit() {
      return auditLog();
    },
    get schedules() {
      return rotationSchedules();
    },
  };
}

/** Discarding uses what verifying uses: the records, the policy, the vault and Atlassian. */
export const discardDeps: () => DiscardDeps = verifyDeps;
