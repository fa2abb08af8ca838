import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig, type TokenWardenConfig } from './config';
import { TokenWardenStack } from './token-warden-stack';

/**
 * Adds Token Warden to `app`: reads the context (loading and validating the policy — a `PolicyError` propagates),
 * creates the stack, and registers the cdk-nag AwsSolutions checks, which fail the synth on any finding that is
 * not acknowledged.
 */
export function addTokenWarden(app: App, config: TokenWardenConfig = readConfig(app.node)): TokenWardenStack {
  const stack = new TokenWardenStack(app, config.stackName, {
    config,
    description: 'Token Warden: approval-gated issuance and rotation of Atlassian service-account API tokens',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
