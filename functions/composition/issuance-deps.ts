import { systemClock } from '../domain/ports';
import { logger } from '../edge/logger';
import type { DiscardDeps, MintDeps, PromoteDeps, VerifyDeps } from '../use-cases/issuance';
import type { SecretRotationDeps } from '../use-cases/secret-rotation';
import { envVar, readConfig } from './config';
import {
  atlassian,
  auditLog,
  recordStore,
  rotationSchedules,
  rotationStateMachineArn,
  tokenVault,
  workflows,
} from './deps';
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
    get secretRotationFunctionArn() {
      return readConfig({ SECRET_ROTATION_FUNCTION_ARN: envVar.arn }).SECRET_ROTATION_FUNCTION_ARN;
    },
    log: logger,
  };
}

/**
 * The Secrets Manager rotation function runs every minting step (mint, verify, promote, discard) and starts the
 * rotation workflow's retiring run.
 */
export function secretRotationDeps(): SecretRotationDeps {
  const mint = mintDeps();
  const promote = promoteDeps();
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
      return mint.kmsKeyId;
    },
    get audit() {
      return auditLog();
    },
    get schedules() {
      return rotationSchedules();
    },
    get workflows() {
      return workflows();
    },
    get rotationStateMachineArn() {
      return rotationStateMachineArn();
    },
    // Secrets Manager's own rotation never reconfigures it (the secret was configured when issued).
    get secretRotationFunctionArn() {
      return promote.secretRotationFunctionArn;
    },
  };
}

/** Discarding uses what verifying uses: the records, the policy, the vault and Atlassian. */
export const discardDeps: () => DiscardDeps = verifyDeps;
