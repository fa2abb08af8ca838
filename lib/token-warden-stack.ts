import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { allAllowedConsumers } from '../functions/domain/policy';
import type { TokenWardenConfig } from './config';
import { IssuanceWorkflow } from './issuance-workflow';
import { Notifications } from './notifications';
import { writePolicyArtifact } from './policy-artifact';
import { RequestApi } from './request-api';
import { WardenSecrets } from './secrets';
import { TokenStore } from './token-store';
import { WardenFunction, type WardenFunctionProps } from './warden-function';

/** Properties of {@link TokenWardenStack}. */
export interface TokenWardenStackProps extends StackProps {
  readonly config: TokenWardenConfig;
}

/** Every function of the stack, by role. */
export interface TokenWardenFunctions {
  readonly tokenRequests: WardenFunction;
  readonly tokens: WardenFunction;
  readonly approvals: WardenFunction;
  readonly health: WardenFunction;
  readonly requestApproval: WardenFunction;
  readonly closeRequest: WardenFunction;
  readonly mintToken: WardenFunction;
  readonly verifyToken: WardenFunction;
  readonly promoteToken: WardenFunction;
  readonly discardToken: WardenFunction;
}

/**
 * Token Warden: the stateful store and secrets, the HTTP API, the issuance workflow, and the alarms. Grants are
 * all made here, one line per need, so who may do what reads as one table.
 */
export class TokenWardenStack extends Stack {
  /** The configuration the stack was built from (the validated policy included). */
  readonly config: TokenWardenConfig;
  readonly store: TokenStore;
  readonly secrets: WardenSecrets;
  readonly functions: TokenWardenFunctions;
  readonly api: RequestApi;
  readonly issuance: IssuanceWorkflow;
  readonly notifications: Notifications;

  constructor(scope: Construct, id: string, props: TokenWardenStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { policy } = config;
    this.config = config;

    this.store = new TokenStore(this, 'Store', { secretConsumers: allAllowedConsumers(policy) });
    this.secrets = new WardenSecrets(this, 'Secrets', {
      encryptionKey: this.store.key,
      orgApiKeySecretName: config.orgApiKeySecretName,
      linkSigningKeyName: `${this.stackName}/link-signing-key`,
    });

    const stateless = new Construct(this, 'Functions');
    const policyFile = writePolicyArtifact(policy);
    const fn = (id: string, entry: string, description: string, extra: Partial<WardenFunctionProps> = {}) =>
      new WardenFunction(stateless, id, {
        entry,
        description: `Token Warden: ${description}`,
        policyFile,
        encryptionKey: this.store.key,
        ...extra,
      });
    const workflowStep = { timeout: Duration.seconds(60) };
    this.functions = {
      tokenRequests: fn('TokenRequests', 'functions/api/token-requests.ts', 'token request routes'),
      tokens: fn('Tokens', 'functions/api/tokens.ts', 'token routes'),
      approvals: fn('Approvals', 'functions/api/approvals.ts', 'approval page and decisions'),
      health: fn('Health', 'functions/api/health.ts', 'health check', { memorySize: 256 }),
      requestApproval: fn(
        'RequestApproval',
        'functions/workflow/request-approval.ts',
        'approvals and emails',
        workflowStep,
      ),
      closeRequest: fn('CloseRequest', 'functions/workflow/close-request.ts', 'final request status', workflowStep),
      mintToken: fn('MintToken', 'functions/workflow/mint-token.ts', 'mint and stage a token', workflowStep),
      verifyToken: fn('VerifyToken', 'functions/workflow/verify-token.ts', 'verify a staged token', workflowStep),
      promoteToken: fn('PromoteToken', 'functions/workflow/promote-token.ts', 'promote a token', workflowStep),
      discardToken: fn('DiscardToken', 'functions/workflow/discard-token.ts', 'discard a staged token', workflowStep),
    };

    this.api = new RequestApi(this, 'Api', {
      handlers: {
        tokenRequests: this.functions.tokenRequests.function,
        tokens: this.functions.tokens.function,
        approvals: this.functions.approvals.function,
        health: this.functions.health.function,
      },
      jwtIssuer: config.jwtIssuer,
      jwtAudience: [config.jwtAudience],
      encryptionKey: this.store.key,
    });

    this.issuance = new IssuanceWorkflow(this, 'Issuance', {
      functions: {
        requestApproval: this.functions.requestApproval.function,
        closeRequest: this.functions.closeRequest.function,
        mintToken: this.functions.mintToken.function,
        verifyToken: this.functions.verifyToken.function,
        promoteToken: this.functions.promoteToken.function,
        discardToken: this.functions.discardToken.function,
      },
      approvalExpiryHours: policy.approvalExpiryHours,
      encryptionKey: this.store.key,
    });

    this.grant(config);

    this.notifications = new Notifications(this, 'Notifications', {
      encryptionKey: this.store.key,
      adminEmails: policy.notifications.adminEmails,
    });
    this.notifications.watchStateMachine('Issuance', this.issuance.stateMachine);
    for (const [name, warden] of Object.entries(this.functions) as [string, WardenFunction][]) {
      this.notifications.watchFunction(name.charAt(0).toUpperCase() + name.slice(1), warden.function);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'HTTP API base URL' });
    new CfnOutput(this, 'RecordsTableName', { value: this.store.records.tableName });
    new CfnOutput(this, 'AuditTableName', { value: this.store.audit.tableName });
    new CfnOutput(this, 'IssuanceStateMachineArn', { value: this.issuance.stateMachine.stateMachineArn });
    new CfnOutput(this, 'LinkSigningSecretName', { value: this.secrets.linkSigningKey.secretName });
    new CfnOutput(this, 'OrgApiKeySecretName', {
      value: this.secrets.orgApiKey.secretName,
      description: 'Create this secret (the Atlassian organization API key, without scopes) before issuing tokens',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.notifications.topic.topicArn });
  }

  /**
   * Who may do what. Each line follows what the handler calls (functions/app/*), nothing more; the comments name
   * the calls that are easy to miss.
   */
  private grant(config: TokenWardenConfig): void {
    const { records, audit } = this.store;
    const indexes = this.store.recordIndexArns;
    const { linkSigningKey, orgApiKey } = this.secrets;
    const { stateMachine, stateMachineByName } = this.issuance;
    const f = this.functions;
    const atlassian = { apiBaseUrl: config.atlassianApiBaseUrl, siteBaseUrl: config.atlassianSiteBaseUrl };
    const approvalBaseUrl = config.approvalBaseUrl ?? this.api.url;

    // Cancel resumes the waiting workflow with the task token, which is stored sealed with the link-signing key.
    f.tokenRequests
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachine, ['start', 'respond']);
    f.tokens.bindTable(records, 'read', indexes);
    f.approvals
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachine, ['respond'])
      .bindMail(config.fromEmail)
      .addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl);
    // Resumes its own task when the request was decided before a re-driven attempt (hence respond, by name).
    f.requestApproval
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachineByName, ['respond'])
      .bindMail(config.fromEmail)
      .addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl);
    f.closeRequest.bindTable(records, 'write', indexes).bindAuditTable(audit).bindMail(config.fromEmail);
    f.mintToken.bindTable(records, 'write', indexes).bindAtlassian(orgApiKey, atlassian).bindTokenSecrets('create');
    // Verify records the VERIFIED state of the generation, hence write.
    f.verifyToken.bindTable(records, 'write', indexes).bindAtlassian(orgApiKey, atlassian).bindTokenSecrets('read');
    f.promoteToken
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit)
      .bindTokenSecrets('stage')
      .bindMail(config.fromEmail);
    // A failed first issuance leaves a secret with no current value: discard schedules its deletion.
    f.discardToken
      .bindTable(records, 'write', indexes)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('stage', 'delete');
  }
}
