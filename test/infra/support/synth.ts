import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parse } from 'yaml';
import { addTokenWarden } from '../../../lib/app';
import { readConfig } from '../../../lib/config';
import {
  type CloudFormationTemplate,
  defaultIdentities,
  type ResolveContext,
  resolveStateMachineDefinition,
  resolveValue,
} from '../../../lib/synth/resolve-template';
import type { TokenWardenStack } from '../../../lib/token-warden-stack';
import { REPO_ROOT, WardenFunction } from '../../../lib/warden-function';

/** Template JSON, read by property path in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized template JSON has no static shape worth declaring
export type TemplateJson = any;

/** A synthesized Token Warden stack (bundling skipped) and helpers to read it. */
export interface Synthesized {
  readonly app: App;
  readonly stack: TokenWardenStack;
  readonly template: Template;
  readonly json: CloudFormationTemplate & { Resources: Record<string, { Type: string; Properties: TemplateJson }> };
  readonly resolve: ResolveContext;
}

/** `us-east-1` / `000000000000`, the local runtime's environment. */
export const LOCAL_ENV = { region: 'us-east-1', accountId: '000000000000' } as const;

/** Synthesizes the app the way `bin/token-warden.ts` does, with `context` on top (bundling is always skipped). */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = addTokenWarden(app, readConfig(app.node, REPO_ROOT));
  const template = Template.fromStack(stack);
  const json = template.toJSON() as Synthesized['json'];
  return { app, stack, template, json, resolve: { ...LOCAL_ENV, resources: defaultIdentities(json, LOCAL_ENV) } };
}

/** Writes `policy` (text as is, data as JSON) to a fresh temporary file and returns its absolute path. */
export function writePolicy(policy: unknown, name = 'policy.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tw-policy-')), name);
  writeFileSync(file, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
  return file;
}

/** The repository's default policy as plain data, to derive variants from. */
export function defaultPolicy(): TemplateJson {
  return parse(readFileSync(join(REPO_ROOT, 'policy/policy.yaml'), 'utf8'));
}

export function wardenFunctions(s: Synthesized): WardenFunction[] {
  return s.stack.node.findAll().filter((c): c is WardenFunction => c instanceof WardenFunction);
}

export function logicalId(s: Synthesized, resource: CfnResource): string {
  return s.stack.resolve(resource.logicalId) as string;
}

/** The `AWS::Lambda::Function` logical id of the function whose entry is `entry` (e.g. `functions/api/tokens.ts`). */
export function functionId(s: Synthesized, entry: string): string {
  const warden = wardenFunctions(s).find((w) => w.entry === entry);
  if (!warden) throw new Error(`no function with entry ${entry}`);
  return logicalId(s, warden.function.node.defaultChild as CfnResource);
}

/** The function's environment with every intrinsic resolved to local names. */
export function environmentOf(s: Synthesized, entry: string): Record<string, string> {
  const fn = s.json.Resources[functionId(s, entry)];
  return resolveValue(fn?.Properties.Environment?.Variables ?? {}, s.resolve) as Record<string, string>;
}

/** Every statement of the identity policies attached to the role of the function at `entry`. */
export function statementsOf(s: Synthesized, entry: string): Statement[] {
  const warden = wardenFunctions(s).find((w) => w.entry === entry);
  if (!warden) throw new Error(`no function with entry ${entry}`);
  return statementsOfRole(s, logicalId(s, warden.role.node.defaultChild as CfnResource));
}

/** Every statement of the identity policies attached to the role with logical id `roleId`. */
export function statementsOfRole(s: Synthesized, roleId: string): Statement[] {
  return Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) =>
      (r.Properties.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })),
    )
    .flatMap((r) => resolveValue(r.Properties.PolicyDocument.Statement, s.resolve) as unknown as Statement[]);
}

/** An IAM statement with intrinsics resolved. */
export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Actions granted to the function at `entry` (flattened, deduplicated). */
export function actionsOf(s: Synthesized, entry: string): Set<string> {
  return new Set(statementsOf(s, entry).flatMap((st) => list(st.Action)));
}

/** The resolved ASL of the state machine named `name` (e.g. `TokenWarden-rotation`). */
export function stateMachineDefinition(s: Synthesized, name: string): TemplateJson {
  const machines = Object.values(s.json.Resources).filter(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties.StateMachineName === name,
  );
  if (machines.length !== 1 || !machines[0])
    throw new Error(`expected one state machine ${name}, found ${machines.length}`);
  return resolveStateMachineDefinition(machines[0], s.resolve);
}

/** The resolved ASL of the issuance workflow. */
export function issuanceDefinition(s: Synthesized): TemplateJson {
  return stateMachineDefinition(s, `${s.stack.stackName}-issuance`);
}

/** The resolved ASL of the access-exception workflow. */
export function accessExceptionDefinition(s: Synthesized): TemplateJson {
  return stateMachineDefinition(s, `${s.stack.stackName}-access-exception`);
}

/** The resolved ASL of the rotation workflow. */
export function rotationDefinition(s: Synthesized): TemplateJson {
  return stateMachineDefinition(s, `${s.stack.stackName}-rotation`);
}

/** The states of the minting chain both workflows share (lib/minting-chain.ts), in order. */
export const MINTING_STATES = [
  'Mint token',
  'Uploaded by an admin?',
  'Wait for token upload',
  'Verify token',
  'Promote token',
  'Discard staged token',
];

/** All function entries of docs/architecture.md. */
export const ENTRIES = {
  tokenRequests: 'functions/api/token-requests.ts',
  tokens: 'functions/api/tokens.ts',
  admin: 'functions/api/admin.ts',
  approvals: 'functions/api/approvals.ts',
  uploads: 'functions/api/uploads.ts',
  health: 'functions/api/health.ts',
  requestApproval: 'functions/workflow/request-approval.ts',
  requestUpload: 'functions/workflow/request-upload.ts',
  closeRequest: 'functions/workflow/close-request.ts',
  mintToken: 'functions/workflow/mint-token.ts',
  verifyToken: 'functions/workflow/verify-token.ts',
  promoteToken: 'functions/workflow/promote-token.ts',
  discardToken: 'functions/workflow/discard-token.ts',
  beginRotation: 'functions/workflow/begin-rotation.ts',
  revokePrevious: 'functions/workflow/revoke-previous.ts',
  recordRotationFailure: 'functions/workflow/record-rotation-failure.ts',
  finishRevocation: 'functions/workflow/finish-revocation.ts',
  sweep: 'functions/workflow/sweep.ts',
  inventory: 'functions/workflow/inventory.ts',
  personalTokens: 'functions/api/personal-tokens.ts',
  personalTokenScan: 'functions/workflow/personal-token-scan.ts',
  accessExceptions: 'functions/api/access-exceptions.ts',
  accessExceptionStep: 'functions/workflow/access-exception.ts',
  console: 'functions/api/console.ts',
  consoleAssets: 'functions/api/console-assets.ts',
  notifier: 'functions/events/notifier.ts',
  secretRotation: 'functions/events/rotate-secret.ts',
  linkKeyRotation: 'functions/events/rotate-link-key.ts',
} as const;
