/**
 * `npm start`: runs Token Warden on this machine (no AWS account, no Atlassian organization needed).
 * Flags (or environment variables): --api-port (TW_API_PORT, 3000), --aws-port (TW_AWS_PORT, 4566),
 * --atlassian-port (TW_ATLASSIAN_PORT, 4610), --mail-port (TW_MAIL_PORT, 8005), --data-dir (TW_DATA_DIR,
 * .token-warden/), --policy <file>, --reset, --assembly-cache <dir> (TW_ASSEMBLY_CACHE: share synthesized assemblies
 * with other runtimes, see synth.ts).
 */
// The local runtime targets the Node on this machine; the SDK's notice about future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { PolicyError } from '../functions/domain/policy';
import { startRuntime } from './runtime';

interface Flags {
  apiPort: number;
  awsPort: number;
  atlassianPort: number;
  mailPort: number;
  dataDir: string;
  reset: boolean;
  policy?: string;
  assemblyCache?: string;
  quiet: boolean;
}

const USAGE = `usage: npm start -- [--api-port N] [--aws-port N] [--atlassian-port N] [--mail-port N] [--data-dir DIR] [--policy FILE] [--reset] [--quiet] [--assembly-cache DIR]`;

export function parseFlags(argv: string[], env: NodeJS.ProcessEnv): Flags {
  const port = (value: string | undefined, name: string, fallback: number) => {
    if (value === undefined || value === '') return fallback;
    if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
      throw new Error(`${name} must be a port number (1-65535), got '${value}'`);
    }
    return Number(value);
  };
  const given = new Map<string, string>();
  let reset = false;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--reset') reset = true;
    else if (arg === '--quiet') quiet = true;
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else if (/^--(api-port|aws-port|atlassian-port|mail-port|data-dir|policy|assembly-cache)(=.*)?$/.test(arg)) {
      const [name, inline] = arg.split(/=(.*)/s);
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`${name} needs a value\n${USAGE}`);
      given.set(name!, value);
    } else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  const policy = given.get('--policy');
  const assemblyCache = given.get('--assembly-cache');
  return {
    apiPort: port(given.get('--api-port') ?? env.TW_API_PORT, '--api-port', 3000),
    awsPort: port(given.get('--aws-port') ?? env.TW_AWS_PORT, '--aws-port', 4566),
    atlassianPort: port(given.get('--atlassian-port') ?? env.TW_ATLASSIAN_PORT, '--atlassian-port', 4610),
    mailPort: port(given.get('--mail-port') ?? env.TW_MAIL_PORT, '--mail-port', 8005),
    dataDir: given.get('--data-dir') ?? env.TW_DATA_DIR ?? '.token-warden',
    reset,
    quiet,
    ...(policy ? { policy } : {}),
    ...(assemblyCache ? { assemblyCache } : {}),
  };
}

export function walkthrough(urls: { api: string; aws: string; atlassian: string; mail: string }): string {
  const awsEnv = 'AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1';
  return `Console: ${urls.api}/console/
  Sign in with any email: alice@example.com asks for tokens, approver1@example.com approves them,
  admin@example.com is an admin.

Token Warden is running locally.
  HTTP API        ${urls.api}          (GET /health)
  AWS endpoint    ${urls.aws}          (Step Functions, DynamoDB, Secrets Manager, SES v2, Scheduler, EventBridge, SQS)
  fake Atlassian  ${urls.atlassian}          (GET /__control/tokens)
  outgoing mail   ${urls.mail}          (GET /store)

Walkthrough (copy and paste):

  # 1. A member signs in with the local identity provider
  TOKEN=$(curl -s -X POST ${urls.api}/local/oidc/token -H 'content-type: application/json' \\
    -d '{"email":"alice@example.com"}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')

  # 2. She asks for a token for the jenkins-bot service account
  curl -s -X POST ${urls.api}/token-requests -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"serviceAccount":"jenkins-bot","name":"ci-main","scopes":["read:jira-work","read:jira-user"],"lifetimeDays":30,"justification":"Jenkins reads Jira issues"}'

  # 3. An approver opens the emailed link (${urls.mail} lists the mails) and presses Approve in the browser

  # 4. The request is ISSUED (use the requestId printed in step 2)
  curl -s ${urls.api}/token-requests/<requestId> -H "authorization: Bearer $TOKEN"

  # 5. CI reads the token from Secrets Manager
  ${awsEnv} aws --endpoint-url ${urls.aws} secretsmanager get-secret-value \\
    --secret-id token-warden.jenkins-bot.ci-main --query SecretString --output text

  # 6. Rotation: move the simulated clock past expiry − 7 days; the token rotates by itself
  curl -s -X POST ${urls.api}/local/clock/advance -H 'content-type: application/json' -d '{"days":24}'
  curl -s ${urls.api}/tokens -H "authorization: Bearer $TOKEN"     # generation 2, new expiresAt
  # (the previous token keeps working for the 24-hour grace period, then it is revoked at Atlassian)

  # 7. An admin revokes it
  ADMIN=$(curl -s -X POST ${urls.api}/local/oidc/token -H 'content-type: application/json' \\
    -d '{"email":"admin@example.com"}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s -X POST ${urls.api}/tokens/<tokenId>/revoke -H "authorization: Bearer $ADMIN" \\
    -H 'content-type: application/json' -d '{"reason":"demo"}'

  # 8. The admin scans the org's members' personal tokens: alice's forgotten "my laptop scripts" is found
  curl -s -X POST ${urls.api}/inventory/scan -H "authorization: Bearer $ADMIN"
  curl -s "${urls.api}/inventory/personal-tokens" -H "authorization: Bearer $ADMIN"
  # (BLOCKED, flags UNSCOPED STALE NEVER_USED OVER_LIFETIME; the policy's mode is report: nothing is acted on)

  # 9. alice asks for an access exception: three days in which she may use personal API tokens
  curl -s -X POST ${urls.api}/access-exceptions -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"days":3,"justification":"Debugging the Jira webhook with a local script"}'

  # 10. The approver security@example.com opens the emailed link (${urls.mail}) and presses Approve

  # 11. alice is in the allow policy; her exception is ACTIVE (use the exceptionId printed in step 9)
  curl -s ${urls.atlassian}/__control/policies
  curl -s ${urls.api}/access-exceptions/<exceptionId> -H "authorization: Bearer $TOKEN"

  # 12. Three days later she is back in the block policy and the exception is ENDED
  curl -s -X POST ${urls.api}/local/clock/advance -H 'content-type: application/json' -d '{"days":3}'
  curl -s ${urls.atlassian}/__control/policies

Ctrl-C stops everything; data stays in the data folder (--reset starts afresh).
`;
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const log = (line: string) => {
    if (!flags.quiet) process.stdout.write(`[token-warden] ${line}\n`);
  };
  // synth.ts reads the cache folder from the environment.
  if (flags.assemblyCache) process.env.TW_ASSEMBLY_CACHE = flags.assemblyCache;
  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  try {
    runtime = await startRuntime({ ...flags, log });
  } catch (error) {
    if (error instanceof PolicyError) {
      process.stderr.write(`${error.lines.join('\n')}\n`);
    } else {
      process.stderr.write(`token-warden: ${(error as Error).message}\n`);
    }
    process.exit(1);
  }
  process.stdout.write(walkthrough(runtime.urls));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping …');
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) void main();
