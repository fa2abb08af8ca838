import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { type Policy, PolicyError } from '../functions/domain/policy';
import { parsePolicy } from '../functions/domain/policy-text';

/** Deployment settings read from CDK context (`cdk.json` or `cdk synth -c key=value`). */
export interface TokenWardenConfig {
  /** Policy file as given (relative to the working directory), used in error lines. */
  readonly policyFile: string;
  /** The validated policy. */
  readonly policy: Policy;
  /** Issuer of the members' JWTs. */
  readonly jwtIssuer: string;
  /** Audience the JWTs must carry. */
  readonly jwtAudience: string;
  /**
   * Approver sign-in (policy `approverSignIn`): the OpenID Connect issuer approvers sign in with (default: the
   * members' `jwtIssuer`) and this application's client id there (default: `jwtAudience`), registered as a public
   * client with PKCE and the redirect URI `<approval base URL>/approvals/sign-in/callback`.
   */
  readonly signInIssuer: string;
  readonly signInClientId: string;
  /**
   * The web console's client id at the members' identity provider (`jwtIssuer`), registered as a public client with
   * PKCE and the redirect URI `<API base URL>/console/callback`; default: `jwtAudience`.
   */
  readonly consoleClientId: string;
  /**
   * Origins besides the issuer's that the console's browser code calls at the identity provider: those of its
   * authorization server endpoints when they are not on the issuer's origin (Amazon Cognito's token endpoint is on
   * the user pool's domain). From `-c consoleIdentityOrigins=https://a.example,https://b.example`; default none.
   */
  readonly consoleIdentityOrigins: readonly string[];
  /** SES identity that sends every email. */
  readonly fromEmail: string;
  /** Base URL of approval links; `undefined` means the HTTP API's own URL. */
  readonly approvalBaseUrl?: string;
  /** Name of the Secrets Manager secret holding the Atlassian organization API key (created by an admin). */
  readonly orgApiKeySecretName: string;
  /** Base URL of Atlassian's admin and product APIs (`https://api.atlassian.com`, or the local fake). */
  readonly atlassianApiBaseUrl: string;
  /** Site URL template; `{site}` is replaced by the service account's site. */
  readonly atlassianSiteBaseUrl: string;
  /** Name of the CloudFormation stack (also prefixes the link-signing key and the state machine names). */
  readonly stackName: string;
}

/**
 * Context defaults. The issuer and sender address default to the local runtime's values so that `npx cdk synth`
 * works offline with no flags; a real deployment sets `jwtIssuer` and `fromEmail`.
 */
export const CONTEXT_DEFAULTS = {
  policy: 'policy/policy.yaml',
  jwtIssuer: 'http://127.0.0.1:3000/local/oidc',
  jwtAudience: 'token-warden',
  fromEmail: 'token-warden@example.com',
  orgApiKeySecretName: 'token-warden/atlassian-org-api-key',
  atlassianApiBaseUrl: 'https://api.atlassian.com',
  atlassianSiteBaseUrl: 'https://{site}.atlassian.net',
  stackName: 'TokenWarden',
} as const;

/** Reads and validates a policy file. Throws `PolicyError` with `<file>: <field path>: <message>` lines. */
export function loadPolicyFile(file: string, cwd: string = process.cwd()): Policy {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new PolicyError([`${file}: (root): cannot read the file (${code})`]);
  }
  return parsePolicy(text, file);
}

/** A comma-separated list of origins; anything else fails synth, naming the context key. */
function origins(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((raw) => {
    const item = raw.trim();
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    const loopback = url?.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (!url || (url.protocol !== 'https:' && !loopback) || url.origin !== item.replace(/\/$/, '')) {
      throw new Error(
        `context consoleIdentityOrigins: '${item}' is not an origin (https://host[:port], no path; http only on loopback)`,
      );
    }
    return url.origin;
  });
}

function optionalContext(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context ${key} must be a string`);
  return value;
}

function context(node: Node, key: keyof typeof CONTEXT_DEFAULTS): string {
  return optionalContext(node, key) ?? CONTEXT_DEFAULTS[key];
}

/** Builds the configuration from the app's context; the policy is loaded and validated here. */
export function readConfig(node: Node, cwd: string = process.cwd()): TokenWardenConfig {
  const policyFile = context(node, 'policy');
  const approvalBaseUrl = optionalContext(node, 'approvalBaseUrl');
  return {
    policyFile,
    policy: loadPolicyFile(policyFile, cwd),
    jwtIssuer: context(node, 'jwtIssuer'),
    jwtAudience: context(node, 'jwtAudience'),
    signInIssuer: optionalContext(node, 'signInIssuer') ?? context(node, 'jwtIssuer'),
    signInClientId: optionalContext(node, 'signInClientId') ?? context(node, 'jwtAudience'),
    consoleClientId: optionalContext(node, 'consoleClientId') ?? context(node, 'jwtAudience'),
    consoleIdentityOrigins: origins(optionalContext(node, 'consoleIdentityOrigins')),
    fromEmail: context(node, 'fromEmail'),
    ...(approvalBaseUrl ? { approvalBaseUrl: approvalBaseUrl.replace(/\/+$/, '') } : {}),
    orgApiKeySecretName: context(node, 'orgApiKeySecretName'),
    atlassianApiBaseUrl: context(node, 'atlassianApiBaseUrl'),
    atlassianSiteBaseUrl: context(node, 'atlassianSiteBaseUrl'),
    stackName: context(node, 'stackName'),
  };
}
