/** Adapters built once per container from configuration, shared by handlers that need them. */
import { AtlassianClient } from '../adapters/atlassian/client';
import { AuditLog } from '../adapters/aws/audit-log';
import { dynamoDocumentClient } from '../adapters/aws/clients';
import { Keyring } from '../adapters/aws/keyring';
import { Mailer } from '../adapters/aws/mailer';
import { RecordStore } from '../adapters/aws/record-store';
import { TokenVault } from '../adapters/aws/token-vault';
import { Workflows } from '../adapters/aws/workflow';
import { envVar, readConfig } from './config';

const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

export const recordStore = once(
  () => new RecordStore(dynamoDocumentClient(), readConfig({ TABLE_NAME: envVar.name }).TABLE_NAME),
);
export const auditLog = once(
  () => new AuditLog(dynamoDocumentClient(), readConfig({ AUDIT_TABLE_NAME: envVar.name }).AUDIT_TABLE_NAME),
);
export const workflows = once(() => new Workflows());
export const mailer = once(() => new Mailer(readConfig({ FROM_EMAIL: envVar.email }).FROM_EMAIL));
export const tokenVault = once(() => new TokenVault());
export const keyring = once(() => new Keyring());

/** The link-signing key (also seals task tokens). */
export const signingKey = () =>
  keyring().key(readConfig({ LINK_SIGNING_SECRET_ID: envVar.name }).LINK_SIGNING_SECRET_ID);

export const atlassian = once(() => {
  const config = readConfig({
    ATLASSIAN_API_BASE_URL: envVar.url,
    ATLASSIAN_SITE_BASE_URL: envVar.name,
    ORG_API_KEY_SECRET_ID: envVar.name,
  });
  return new AtlassianClient({
    apiBaseUrl: config.ATLASSIAN_API_BASE_URL,
    siteBaseUrl: config.ATLASSIAN_SITE_BASE_URL,
    orgApiKey: () => keyring().text(config.ORG_API_KEY_SECRET_ID),
  });
});
