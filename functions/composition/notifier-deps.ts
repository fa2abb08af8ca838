/**
 * The notifier's adapters, apart from the shared ones (`./deps`) so that no other function's bundle carries the
 * email planners, the message builders or the chat and queue clients.
 */
import { SqsMessageVisibility } from '../adapters/aws/message-visibility';
import { PowertoolsNotifierMetrics } from '../adapters/aws/metrics';
import { WebhookChatSender } from '../adapters/chat/webhook';
import { systemClock } from '../domain/ports';
import { logger } from '../edge/logger';
import { EMAIL_PLANNERS } from '../use-cases/notices';
import type { NotifyDeps } from '../use-cases/notify';
import { envVar, readConfig } from './config';
import { consoleUrl, keyring, linkAndSealKey, mailer, once, recordStore } from './deps';
import { loadPolicy } from './policy-loader';

/** Chat webhooks: each channel's URL is read from its secret (`webhookSecretName`) at run time, never logged. */
export const chatSender = /* @__PURE__ */ once(
  () => new WebhookChatSender({ readSecret: (secretId, options) => keyring().text(secretId, options) }),
);

/** The notifier's queue (`QUEUE_URL`): a message to retry later is hidden until then. */
export const messageVisibility = /* @__PURE__ */ once(
  () => new SqsMessageVisibility(readConfig({ QUEUE_URL: envVar.url }).QUEUE_URL),
);

export const notifierMetrics = /* @__PURE__ */ once(() => new PowertoolsNotifierMetrics());

/** What the notifier needs to tell lifecycle events by email and to chat channels. */
export const notifierDeps = (): NotifyDeps => ({
  store: recordStore(),
  chat: chatSender(),
  mailer: mailer(),
  planners: EMAIL_PLANNERS,
  clock: systemClock,
  policy: loadPolicy(),
  consoleUrl: consoleUrl(),
  linkBaseUrl: readConfig({ APPROVAL_BASE_URL: envVar.url }).APPROVAL_BASE_URL,
  linkKey: async () => (await linkAndSealKey()).current,
  metrics: notifierMetrics(),
  log: logger,
});
