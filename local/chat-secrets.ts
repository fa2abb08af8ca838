/**
 * The chat channels' webhook secrets, seeded locally as an admin would create them on AWS: for each
 * `notifications.chat[].webhookSecretName` of the policy, a secret whose value is the local chat-webhook sink's URL,
 * `http://127.0.0.1:<api-port>/local/webhooks/<name>`, where `<name>` is the secret name's last path segment
 * (`token-warden/chat/slack-security` → `slack-security`).
 *
 * On a restart an existing secret is kept as it is — unless it still points at a local sink of the same name on
 * another origin (the runtime was started on another API port), which would now reach nothing or another runtime:
 * then a new current version points it at this runtime's sink. A value that is not a local sink URL (say, a real
 * Slack webhook put in by hand to try the messages out) is never overwritten, and neither is a secret marked for
 * deletion (someone is trying out the notifier's missing-secret path).
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { WEBHOOK_NAME } from './webhooks';

/** What seeding did with one secret. */
export interface SeededChatSecret {
  secretName: string;
  /** The sink name deliveries arrive under at `GET /local/webhooks`. */
  sinkName: string;
  /** This runtime's sink URL when the secret now holds it; `undefined` when it was kept holding something else. */
  url: string | undefined;
  /** `created` (was absent), `repointed` (a local sink URL on another origin), or `kept`. */
  action: 'created' | 'repointed' | 'kept';
}

export interface SeedChatSecretsOptions {
  /** A client for the runtime's AWS endpoint. */
  secretsManager: SecretsManagerClient;
  /** The policy's `notifications.chat` (absent: nothing to seed). */
  channels: readonly { webhookSecretName: string }[] | undefined;
  /** The origin of the runtime's HTTP API, e.g. `http://127.0.0.1:3000`. */
  apiUrl: string;
}

const SINK_PATH = /^\/local\/webhooks\/([^/]+)$/;

/**
 * The sink name of a secret: its last path segment, with any character the sink does not accept in a name turned
 * into `-`, at most 64 characters (secret names allow `+=@` and 512 characters; sink names do not).
 */
export function sinkNameOf(secretName: string): string {
  const segments = secretName.split('/').filter(Boolean);
  const last = segments[segments.length - 1] ?? 'chat';
  const name = last.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  if (!WEBHOOK_NAME.test(name)) throw new Error(`no local webhook sink name for secret ${secretName}`);
  return name;
}

/** The local sink URL a chat secret holds. */
export function sinkUrlOf(apiUrl: string, secretName: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/local/webhooks/${sinkNameOf(secretName)}`;
}

/** Whether `value` is a local sink URL for `sinkName` on a loopback origin other than `apiUrl`'s. */
function isStaleSinkUrl(value: string | undefined, apiUrl: string, sinkName: string): boolean {
  if (value === undefined) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  const match = SINK_PATH.exec(url.pathname);
  return (
    url.protocol === 'http:' &&
    loopback &&
    match?.[1] === sinkName &&
    url.search === '' &&
    url.origin !== new URL(apiUrl).origin
  );
}

/** Creates (or re-points) the chat webhook secrets of the policy's channels; returns what it did, in policy order. */
export async function seedChatSecrets(options: SeedChatSecretsOptions): Promise<SeededChatSecret[]> {
  const { secretsManager: sm, apiUrl } = options;
  const names = [...new Set((options.channels ?? []).map((channel) => channel.webhookSecretName))];
  const seeded: SeededChatSecret[] = [];
  for (const secretName of names) {
    const sinkName = sinkNameOf(secretName);
    const url = sinkUrlOf(apiUrl, secretName);
    let deleted = false;
    try {
      deleted = (await sm.send(new DescribeSecretCommand({ SecretId: secretName }))).DeletedDate !== undefined;
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      await sm.send(
        new CreateSecretCommand({
          Name: secretName,
          SecretString: url,
          Description: `Chat incoming-webhook URL (local sink ${sinkName})`,
        }),
      );
      seeded.push({ secretName, sinkName, url, action: 'created' });
      continue;
    }
    if (deleted) {
      seeded.push({ secretName, sinkName, url: undefined, action: 'kept' });
      continue;
    }
    let current: string | undefined;
    try {
      current = (await sm.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString;
    } catch (error) {
      // A secret created without a value: an admin's doing, kept.
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
    if (isStaleSinkUrl(current, apiUrl, sinkName)) {
      await sm.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: url }));
      seeded.push({ secretName, sinkName, url, action: 'repointed' });
    } else {
      seeded.push({ secretName, sinkName, url: current === url ? url : undefined, action: 'kept' });
    }
  }
  return seeded;
}
