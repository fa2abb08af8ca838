/** Adapters built once per container from configuration, shared by handlers that need them. */
import { AtlassianClient } from '../adapters/atlassian/client';
import { AuditLog } from '../adapters/aws/audit-log';
import { dynamoDocumentClient } from '../adapters/aws/clients';
import { Keyring } from '../adapters/aws/keyring';
import { LifecycleEvents } from '../adapters/aws/lifecycle-events';
import { SesMailer } from '../adapters/aws/mailer';
import { SharedRateLimiter } from '../adapters/aws/rate-limiter';
import { createRecordStore } from '../adapters/aws/record-store';
import { RotationSchedules } from '../adapters/aws/rotation-schedules';
import { TokenVault } from '../adapters/aws/token-vault';
import { Workflows } from '../adapters/aws/workflow';
import { systemClock } from '../domain/ports';
import { logger } from '../edge/logger';
import { exceptionHolders } from '../use-cases/access-exceptions';
import type { LinkKeyRotationDeps } from '../use-cases/link-key-rotation';
import type { LinkKeyring } from '../use-cases/ports';
import { envVar, readConfig } from './config';
import { loadPolicy } from './policy-loader';
import { cryptoRandom } from './random';

/** `make()` once, on first use. */
export const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

export const recordStore = /* @__PURE__ */ once(() =>
  createRecordStore(dynamoDocumentClient(), readConfig({ TABLE_NAME: envVar.name }).TABLE_NAME),
);
/** The audit trail; every record is also published as a lifecycle event on the bus. */
export const auditLog = /* @__PURE__ */ once(() => {
  const config = readConfig({ AUDIT_TABLE_NAME: envVar.name, EVENT_BUS_NAME: envVar.name });
  const events = new LifecycleEvents(config.EVENT_BUS_NAME);
  return new AuditLog(dynamoDocumentClient(), config.AUDIT_TABLE_NAME, (detail) => events.publish(detail));
});
/** The audit trail for reading only: no event publisher, so a reader's bundle carries no EventBridge client. */
export const auditReader = /* @__PURE__ */ once(
  () => new AuditLog(dynamoDocumentClient(), readConfig({ AUDIT_TABLE_NAME: envVar.name }).AUDIT_TABLE_NAME),
);
export const workflows = /* @__PURE__ */ once(() => new Workflows());
export const mailer = /* @__PURE__ */ once(() => new SesMailer(readConfig({ FROM_EMAIL: envVar.email }).FROM_EMAIL));
export const tokenVault = /* @__PURE__ */ once(() => new TokenVault());
export const keyring = /* @__PURE__ */ once(() => new Keyring());

/**
 * The key that signs emailed links and seals workflow task tokens (`LINK_SIGNING_SECRET_ID`): its current version and
 * the one before the last rotation.
 */
export const linkAndSealKey: LinkKeyring = (options = {}) =>
  keyring().keyVersions(readConfig({ LINK_SIGNING_SECRET_ID: envVar.name }).LINK_SIGNING_SECRET_ID, {
    forceFetch: options.refresh === true,
  });

/** What the link-signing key's rotation function needs: the secret it rotates, the vault, randomness. */
export const linkKeyRotationDeps = (): LinkKeyRotationDeps => ({
  vault: tokenVault(),
  random: cryptoRandom,
  secretId: readConfig({ LINK_SIGNING_SECRET_ID: envVar.name }).LINK_SIGNING_SECRET_ID,
});

export const atlassian = /* @__PURE__ */ once(() => {
  const config = readConfig({
    ATLASSIAN_API_BASE_URL: envVar.url,
    ATLASSIAN_SITE_BASE_URL: envVar.name,
    ORG_API_KEY_SECRET_ID: envVar.name,
  });
  const limiter = new SharedRateLimiter(
    dynamoDocumentClient(),
    readConfig({ TABLE_NAME: envVar.name }).TABLE_NAME,
    'atlassian',
    { perSecond: loadPolicy().atlassianRequestsPerSecond },
  );
  return new AtlassianClient({
    apiBaseUrl: config.ATLASSIAN_API_BASE_URL,
    siteBaseUrl: config.ATLASSIAN_SITE_BASE_URL,
    orgApiKey: () => keyring().text(config.ORG_API_KEY_SECRET_ID),
    limiter,
  });
});

export const rotationSchedules = /* @__PURE__ */ once(() => {
  const config = readConfig({
    ROTATION_STATE_MACHINE_ARN: envVar.arn,
    SCHEDULER_ROLE_ARN: envVar.arn,
    SCHEDULE_GROUP_NAME: envVar.name,
  });
  return new RotationSchedules({
    rotationStateMachineArn: config.ROTATION_STATE_MACHINE_ARN,
    schedulerRoleArn: config.SCHEDULER_ROLE_ARN,
    groupName: config.SCHEDULE_GROUP_NAME,
  });
});

/** Stops a running rotation execution by name (revoke). */
export const rotationStopper = /* @__PURE__ */ once(() => {
  const arn = readConfig({ ROTATION_STATE_MACHINE_ARN: envVar.arn }).ROTATION_STATE_MACHINE_ARN;
  const executionPrefix = arn.replace(':stateMachine:', ':execution:');
  return (executionName: string) => workflows().stop(`${executionPrefix}:${executionName}`, 'the token was revoked');
});

export const rotationStateMachineArn = () =>
  readConfig({ ROTATION_STATE_MACHINE_ARN: envVar.arn }).ROTATION_STATE_MACHINE_ARN;

/** Starts a round of the revocation workflow (revoke). */
export const revocationStarter = /* @__PURE__ */ once(() => {
  const arn = readConfig({ REVOCATION_STATE_MACHINE_ARN: envVar.arn }).REVOCATION_STATE_MACHINE_ARN;
  return async (executionName: string, input: object) => {
    await workflows().start(arn, executionName, input);
  };
});

/** What a scheduled or workflow step that calls Atlassian, records and audits needs (inventory, revoke-previous). */
export const atlassianStepDeps = () => ({
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  clock: systemClock,
  policy: loadPolicy(),
});

/** Starts the personal-token scan workflow (`POST /inventory/scan`). */
export const scanStarter = /* @__PURE__ */ once(() => {
  const arn = readConfig({ SCAN_STATE_MACHINE_ARN: envVar.arn }).SCAN_STATE_MACHINE_ARN;
  return async (scanId: string) => {
    await workflows().start(arn, scanId, { action: 'begin', scanId });
  };
});

/** Where owners' notices send members: the console (`CONSOLE_URL`), else the API. */
export const consoleUrl = () => readConfig({ CONSOLE_URL: envVar.url }).CONSOLE_URL;

/** What the personal-token scan and routes need. */
export const personalTokenDeps = () => ({
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  log: logger,
  // Holders of an active access exception are exempt.
  exceptions: exceptionHolders(recordStore(), systemClock),
});
