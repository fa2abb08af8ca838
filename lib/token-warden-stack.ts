import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AccessExceptionWorkflow } from './access-exception-workflow';
import type { TokenWardenConfig } from './config';
import { WardenDashboard } from './dashboard';
import { IssuanceWorkflow } from './issuance-workflow';
import { Notifications } from './notifications';
import { Notifier } from './notifier';
import { PersonalTokenScan } from './personal-token-scan';
import { writePolicyArtifact } from './policy-artifact';
import { RequestApi } from './request-api';
import { RevocationWorkflow } from './revocation-workflow';
import { RotationSchedules } from './rotation-schedules';
import { RotationWorkflow } from './rotation-workflow';
import { WardenSecrets } from './secrets';
import { TokenStore } from './token-store';
import { REPO_ROOT, WardenFunction, type WardenFunctionProps } from './warden-function';

/** Properties of {@link TokenWardenStack}. */
export interface TokenWardenStackProps extends StackProps {
  readonly config: TokenWardenConfig;
}

/** Every function of the stack, by role. */
export interface TokenWardenFunctions {
  readonly tokenRequests: WardenFunction;
  readonly tokens: WardenFunction;
  readonly admin: WardenFunction;
  readonly approvals: WardenFunction;
  readonly uploads: WardenFunction;
  readonly health: WardenFunction;
  readonly requestApproval: WardenFunction;
  readonly requestUpload: WardenFunction;
  readonly closeRequest: WardenFunction;
  readonly mintToken: WardenFunction;
  readonly verifyToken: WardenFunction;
  readonly promoteToken: WardenFunction;
  readonly discardToken: WardenFunction;
  readonly beginRotation: WardenFunction;
  readonly revokePrevious: WardenFunction;
  readonly recordRotationFailure: WardenFunction;
  readonly finishRevocation: WardenFunction;
  readonly sweep: WardenFunction;
  readonly inventory: WardenFunction;
  readonly personalTokens: WardenFunction;
  readonly personalTokenScan: WardenFunction;
  readonly accessExceptions: WardenFunction;
  readonly accessExceptionStep: WardenFunction;
  readonly console: WardenFunction;
  readonly consoleAssets: WardenFunction;
  readonly notifier: WardenFunction;
  readonly secretRotation: WardenFunction;
  readonly linkKeyRotation: WardenFunction;
}

/**
 * Token Warden: the stateful store and secrets, the HTTP API, the issuance and rotation workflows, the rotation
 * schedules and daily sweep, the lifecycle event bus, and the alarms. Grants are all made here, one line per need,
 * so who may do what reads as one table.
 */
export class TokenWardenStack extends Stack {
  /** The configuration the stack was built from (the validated policy included). */
  readonly config: TokenWardenConfig;
  readonly store: TokenStore;
  readonly secrets: WardenSecrets;
  readonly functions: TokenWardenFunctions;
  readonly api: RequestApi;
  readonly issuance: IssuanceWorkflow;
  readonly rotation: RotationWorkflow;
  readonly revocation: RevocationWorkflow;
  readonly schedules: RotationSchedules;
  /** The scan of members' personal tokens (daily, and `POST /inventory/scan`). */
  readonly personalTokenScan: PersonalTokenScan;
  /** Approval-gated, time-boxed moves of a member into the authentication policy that allows API tokens. */
  readonly accessExceptions: AccessExceptionWorkflow;
  /** Lifecycle events (`<stack>-events`): every audit record is also published here, for integrations. */
  readonly events: EventBus;
  readonly notifications: Notifications;
  /** Lifecycle events to the notifier: rule → queue (with a dead-letter queue) → function. */
  readonly notifier: Notifier;
  /** The operators' CloudWatch dashboard, and the alarms on the functions' own metrics. */
  readonly dashboard: WardenDashboard;

  constructor(scope: Construct, id: string, props: TokenWardenStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { policy } = config;
    this.config = config;

    this.store = new TokenStore(this, 'Store', {
      secretConsumers: policy.serviceAccounts.map(({ alias, allowedConsumers }) => ({
        alias,
        consumers: allowedConsumers,
      })),
    });
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
      // Revoke spends up to 8 s revoking at Atlassian (each call up to 10 s) before the workflow takes over.
      tokens: fn('Tokens', 'functions/api/tokens.ts', 'token routes', { timeout: Duration.seconds(25) }),
      admin: fn('Admin', 'functions/api/admin.ts', 'audit and drift routes'),
      // With approver sign-in the callback calls the identity provider up to three times (discovery, token, key
      // set), each with a 5-second timeout.
      approvals: fn('Approvals', 'functions/api/approvals.ts', 'approval page and decisions', {
        ...(config.policy.approverSignIn ? { timeout: Duration.seconds(25) } : {}),
      }),
      // Lists the service account's tokens at Atlassian (with its own backoff) before storing an upload.
      uploads: fn('Uploads', 'functions/api/uploads.ts', 'manual token upload page', { timeout: Duration.seconds(25) }),
      health: fn('Health', 'functions/api/health.ts', 'health check', { memorySize: 256 }),
      requestApproval: fn(
        'RequestApproval',
        'functions/workflow/request-approval.ts',
        'approvals and emails',
        workflowStep,
      ),
      requestUpload: fn(
        'RequestUpload',
        'functions/workflow/request-upload.ts',
        'ask admins to upload a manually created token',
        workflowStep,
      ),
      closeRequest: fn('CloseRequest', 'functions/workflow/close-request.ts', 'final request status', workflowStep),
      mintToken: fn('MintToken', 'functions/workflow/mint-token.ts', 'mint and stage a token', workflowStep),
      verifyToken: fn('VerifyToken', 'functions/workflow/verify-token.ts', 'verify a staged token', workflowStep),
      promoteToken: fn('PromoteToken', 'functions/workflow/promote-token.ts', 'promote a token', workflowStep),
      discardToken: fn('DiscardToken', 'functions/workflow/discard-token.ts', 'discard a staged token', workflowStep),
      beginRotation: fn(
        'BeginRotation',
        'functions/workflow/begin-rotation.ts',
        'take the rotation lock',
        workflowStep,
      ),
      revokePrevious: fn(
        // The construct id predates the name: kept, so a deploy updates the function in place.
        'RetirePrevious',
        'functions/workflow/revoke-previous.ts',
        'revoke previous generations',
        workflowStep,
      ),
      recordRotationFailure: fn(
        'RecordRotationFailure',
        'functions/workflow/record-rotation-failure.ts',
        'record a failed rotation',
        workflowStep,
      ),
      // One pass revokes for up to 40 s (each Atlassian call up to 10 s), then the workflow loops.
      finishRevocation: fn(
        'FinishRevocation',
        'functions/workflow/finish-revocation.ts',
        'finish revoking a revoked token',
        workflowStep,
      ),
      // One run walks every due token, each with a few Atlassian and AWS calls.
      sweep: fn('Sweep', 'functions/workflow/sweep.ts', 'daily rotation sweep', {
        timeout: Duration.minutes(5),
        memorySize: 512,
      }),
      // Lists every service account's tokens at Atlassian and compares them with all token records.
      inventory: fn('Inventory', 'functions/workflow/inventory.ts', 'daily inventory (drift report)', {
        timeout: Duration.minutes(5),
        memorySize: 512,
      }),
      personalTokens: fn('PersonalTokens', 'functions/api/personal-tokens.ts', 'personal-token routes', {
        // An admin's revoke calls Atlassian (each call up to 10 s, with backoff).
        timeout: Duration.seconds(25),
      }),
      // One attempt lists the whole org (1,000 tokens a page) and compares each page with the records.
      personalTokenScan: fn('PersonalTokenScan', 'functions/workflow/personal-token-scan.ts', 'personal-token scan', {
        timeout: Duration.minutes(15),
        memorySize: 512,
      }),
      accessExceptions: fn('AccessExceptions', 'functions/api/access-exceptions.ts', 'access exception routes'),
      // A policy move polls Atlassian's task for up to 20 s; revoking a member's tokens after it is one call each.
      accessExceptionStep: fn(
        'AccessExceptionStep',
        'functions/workflow/access-exception.ts',
        'access exception steps',
        {
          timeout: Duration.minutes(2),
        },
      ),
      console: fn('Console', 'functions/api/console.ts', 'catalog and signed-in approver routes'),
      // The web console's static files, built into the bundle (console/build.ts) and read once per container.
      consoleAssets: fn('ConsoleAssets', 'functions/api/console-assets.ts', 'web console assets', {
        memorySize: 256,
        afterBundling: (outputDir) => [
          `"${join(REPO_ROOT, 'node_modules', '.bin', 'tsx')}" "${join(REPO_ROOT, 'console', 'build.ts')}" "${join(outputDir, 'console')}"`,
        ],
      }),
      // A batch of up to ten events, each posted to its channels at once (every POST up to 10 s).
      notifier: fn('Notifier', 'functions/events/notifier.ts', 'lifecycle events to chat channels', workflowStep),
      // Secrets Manager's rotation of token secrets: one step per invocation, each a minting step's work.
      secretRotation: fn(
        'SecretRotation',
        'functions/events/rotate-secret.ts',
        'Secrets Manager rotation of token secrets',
        workflowStep,
      ),
      // Secrets Manager's rotation of the link-signing key: one step per invocation.
      linkKeyRotation: fn(
        'LinkKeyRotation',
        'functions/events/rotate-link-key.ts',
        'Secrets Manager rotation of the link-signing key',
        workflowStep,
      ),
    };

    // Events carry ids and non-secret facts only (never a token value), so the AWS owned key suffices.
    this.events = new EventBus(this, 'Events', {
      eventBusName: `${this.stackName}-events`,
      description: 'Token Warden lifecycle events (requested, issued, rotated, revoked, ...)',
    });

    this.api = new RequestApi(this, 'Api', {
      handlers: {
        tokenRequests: this.functions.tokenRequests.function,
        tokens: this.functions.tokens.function,
        admin: this.functions.admin.function,
        approvals: this.functions.approvals.function,
        uploads: this.functions.uploads.function,
        health: this.functions.health.function,
        personalTokens: this.functions.personalTokens.function,
        accessExceptions: this.functions.accessExceptions.function,
        console: this.functions.console.function,
        consoleAssets: this.functions.consoleAssets.function,
      },
      jwtIssuer: config.jwtIssuer,
      jwtAudience: [config.jwtAudience],
      approverSignIn: policy.approverSignIn,
      encryptionKey: this.store.key,
    });

    this.issuance = new IssuanceWorkflow(this, 'Issuance', {
      functions: {
        requestApproval: this.functions.requestApproval.function,
        closeRequest: this.functions.closeRequest.function,
        mintToken: this.functions.mintToken.function,
        requestUpload: this.functions.requestUpload.function,
        verifyToken: this.functions.verifyToken.function,
        promoteToken: this.functions.promoteToken.function,
        discardToken: this.functions.discardToken.function,
      },
      approvalExpiryHours: policy.approvalExpiryHours,
      encryptionKey: this.store.key,
    });

    this.rotation = new RotationWorkflow(this, 'Rotation', {
      functions: {
        beginRotation: this.functions.beginRotation.function,
        mintToken: this.functions.mintToken.function,
        requestUpload: this.functions.requestUpload.function,
        verifyToken: this.functions.verifyToken.function,
        promoteToken: this.functions.promoteToken.function,
        discardToken: this.functions.discardToken.function,
        revokePrevious: this.functions.revokePrevious.function,
        recordRotationFailure: this.functions.recordRotationFailure.function,
      },
      gracePeriodHours: policy.gracePeriodHours,
      uploadExpiryHours: policy.approvalExpiryHours,
      encryptionKey: this.store.key,
    });

    this.revocation = new RevocationWorkflow(this, 'Revocation', {
      finishRevocation: this.functions.finishRevocation.function,
      encryptionKey: this.store.key,
    });

    this.schedules = new RotationSchedules(this, 'Schedules', {
      stateMachineName: this.rotation.stateMachineName,
      sweep: this.functions.sweep.function,
      inventory: this.functions.inventory.function,
    });

    this.personalTokenScan = new PersonalTokenScan(this, 'PersonalTokenScan', {
      scanFunction: this.functions.personalTokenScan.function,
      scheduleGroup: this.schedules.group,
      encryptionKey: this.store.key,
    });

    this.accessExceptions = new AccessExceptionWorkflow(this, 'AccessExceptions', {
      requestApproval: this.functions.requestApproval.function,
      exceptionStep: this.functions.accessExceptionStep.function,
      approvalExpiryHours: policy.approvalExpiryHours,
      encryptionKey: this.store.key,
    });

    this.notifications = new Notifications(this, 'Notifications', {
      encryptionKey: this.store.key,
      adminEmails: policy.notifications.adminEmails,
    });
    this.notifier = new Notifier(this, 'Notifier', {
      handler: this.functions.notifier,
      eventBus: this.events,
      notifications: this.notifications,
    });

    this.grant(config);

    this.notifications.watchStateMachine('Issuance', this.issuance.stateMachine);
    this.notifications.watchStateMachine('Rotation', this.rotation.stateMachine);
    this.notifications.watchStateMachine('Revocation', this.revocation.stateMachine);
    this.notifications.watchStateMachine('PersonalTokenScan', this.personalTokenScan.stateMachine);
    this.notifications.watchStateMachine('AccessException', this.accessExceptions.stateMachine);
    for (const [name, warden] of Object.entries(this.functions) as [string, WardenFunction][]) {
      this.notifications.watchFunction(name.charAt(0).toUpperCase() + name.slice(1), warden.function);
    }
    this.dashboard = new WardenDashboard(this, 'Dashboard', {
      notifications: this.notifications,
      stateMachines: {
        Issuance: this.issuance.stateMachine,
        Rotation: this.rotation.stateMachine,
        Revocation: this.revocation.stateMachine,
        PersonalTokenScan: this.personalTokenScan.stateMachine,
        AccessException: this.accessExceptions.stateMachine,
      },
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, w]) => [name, w.function])),
      notifier: this.notifier,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'HTTP API base URL' });
    new CfnOutput(this, 'RecordsTableName', { value: this.store.records.tableName });
    new CfnOutput(this, 'AuditTableName', { value: this.store.audit.tableName });
    new CfnOutput(this, 'IssuanceStateMachineArn', { value: this.issuance.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RotationStateMachineArn', { value: this.rotation.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RevocationStateMachineArn', { value: this.revocation.stateMachine.stateMachineArn });
    new CfnOutput(this, 'PersonalTokenScanStateMachineArn', {
      value: this.personalTokenScan.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'AccessExceptionStateMachineArn', {
      value: this.accessExceptions.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'EventBusName', { value: this.events.eventBusName, description: 'Lifecycle events' });
    new CfnOutput(this, 'ScheduleGroupName', {
      value: this.schedules.group.ref,
      description: 'EventBridge Scheduler group of the rotation schedules and the daily sweep',
    });
    new CfnOutput(this, 'LinkSigningSecretName', { value: this.secrets.linkSigningKey.secretName });
    new CfnOutput(this, 'OrgApiKeySecretName', {
      value: this.secrets.orgApiKey.secretName,
      description: 'Create this secret (the Atlassian organization API key, without scopes) before issuing tokens',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.notifications.topic.topicArn });
  }

  /**
   * Who may do what. Each line follows what the handler calls (functions/use-cases/*), nothing more; the comments name
   * the calls that are easy to miss.
   */
  private grant(config: TokenWardenConfig): void {
    const { records, audit } = this.store;
    const indexes = this.store.recordIndexArns;
    // The sweep's indexes: due tokens (byDue) and each approver's open approvals (byOwner).
    const dueAndApprovers = indexes.filter((arn) => /\/index\/(byDue|byOwner)$/.test(arn));
    const { linkSigningKey, orgApiKey } = this.secrets;
    const { stateMachine, stateMachineByName } = this.issuance;
    const rotation = this.rotation.stateMachine;
    const { events, schedules } = this;
    const f = this.functions;
    const atlassian = { apiBaseUrl: config.atlassianApiBaseUrl, siteBaseUrl: config.atlassianSiteBaseUrl };
    const approvalBaseUrl = config.approvalBaseUrl ?? this.api.url;

    // Cancel resumes the waiting workflow with the task token, which is stored sealed with the link-signing key.
    f.tokenRequests
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachine, ['start', 'respond']);
    // Rotate starts a rotation now. Revoke marks the token REVOKED, starts the revocation workflow, removes the
    // secret's readers and schedules its deletion, stops the token's rotations, deletes its schedule and revokes live
    // generations at Atlassian within its budget.
    f.tokens
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindRotationSchedules(schedules, 'delete')
      .bindStateMachine(rotation, ['start'], 'ROTATION_STATE_MACHINE_ARN')
      .bindStopExecutions(this.rotation.stateMachineName)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('unshare', 'delete')
      .bindStateMachine(this.revocation.stateMachine, ['start'], 'REVOCATION_STATE_MACHINE_ARN');
    // The revocation workflow's step repeats what revoke does, until nothing of the token is live.
    f.finishRevocation
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindRotationSchedules(schedules, 'delete')
      .bindStopExecutions(this.rotation.stateMachineName)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('unshare', 'delete');
    // The admin routes read the audit trail without a publisher (functions/composition/deps.ts auditReader): no bus.
    f.admin.bindTable(records, 'read', indexes).bindAuditTable(audit, 'read');
    // The approval page and decision send no mail: the workflow's steps tell everyone the outcome.
    f.approvals
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachine, ['respond'])
      .addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl);
    if (config.policy.approverSignIn) {
      f.approvals
        .addEnvironment('SIGN_IN_ISSUER', config.signInIssuer)
        .addEnvironment('SIGN_IN_CLIENT_ID', config.signInClientId);
    }
    // Resumes its own task when the request was decided before a re-driven attempt (hence respond, by name).
    f.requestApproval
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachineByName, ['respond'])
      .addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl);
    // Manual issuance. request-upload seals the wait's task token with the link key on the mint record and records
    // one upload request per admin (the notifier emails their links); it resumes its own task when the upload arrived
    // before a retried or re-driven attempt, in either workflow (hence respond, by name: it is one of their steps).
    f.requestUpload
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachineByName, ['respond'])
      .bindStateMachine(this.rotation.stateMachineByName, ['respond']);
    // The upload page checks the link (link key), finds the labelled token at Atlassian (org key), stages the value
    // as AWSPENDING (PutSecretValue; it drops that label again when the wait ended meanwhile), audits the upload and
    // resumes whichever workflow waits for it.
    f.uploads
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('put', 'stage')
      .bindStateMachine(stateMachineByName, ['respond'])
      .bindStateMachine(this.rotation.stateMachineByName, ['respond']);
    f.closeRequest.bindTable(records, 'write', indexes).bindAuditTable(audit, 'append', events);
    f.mintToken.bindTable(records, 'write', indexes).bindAtlassian(orgApiKey, atlassian).bindTokenSecrets('create');
    // Verify records the VERIFIED state of the generation, hence write.
    f.verifyToken.bindTable(records, 'write', indexes).bindAtlassian(orgApiKey, atlassian).bindTokenSecrets('read');
    // Promote schedules the token's next rotation (the rotation workflow invokes it, hence the schedules know the
    // state machine by name only).
    f.promoteToken
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindTokenSecrets('stage')
      .bindRotationSchedules(schedules, 'write');
    // Promotion also configures the secret to rotate with the rotation function (RotateSecret, not rotating now).
    f.promoteToken.bindTokenSecretRotation(f.secretRotation.function);
    // A failed first issuance leaves a secret with no current value: discard schedules its deletion.
    f.discardToken
      .bindTable(records, 'write', indexes)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('stage', 'delete');
    // The link-signing key's own rotation function: a new key in a new version, made current; the previous one stays
    // AWSPREVIOUS, which every reader of the key still accepts.
    f.linkKeyRotation.bindSecretRotation('LINK_SIGNING_SECRET_ID', linkSigningKey, this.store.key);
    this.secrets.rotateLinkSigningKeyWith(f.linkKeyRotation.function);
    f.beginRotation.bindTable(records, 'write', indexes);
    // Secrets Manager's rotation function (RotateSecret: "Rotate secret immediately", its backstop schedule) runs the
    // minting steps of the next generation: it narrows the secret's readers, mints at Atlassian and stages the value
    // under Secrets Manager's version id, verifies and promotes it, records and audits it, schedules the next
    // rotation, and starts the rotation workflow's retiring run (by name) that revokes the previous generation after
    // the grace period.
    f.secretRotation
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('put', 'read', 'stage', 'narrow', 'unshare')
      .bindRotationSchedules(schedules, 'write')
      .bindStateMachine(this.rotation.stateMachineByName, ['start'], 'ROTATION_STATE_MACHINE_ARN')
      .allowTokenSecretRotation();
    f.revokePrevious
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian);
    f.recordRotationFailure.bindTable(records, 'write', indexes).bindAuditTable(audit, 'append', events);
    // The sweep reads due tokens from the byDue index only (never a scan), starts their rotations, expires tokens
    // past expiry (closing their secrets) and revokes previous generations still live after their grace period; it
    // lists each approver's open approvals (byOwner) for the approval reminders.
    f.sweep
      .bindTable(records, 'write', dueAndApprovers)
      .bindAuditTable(audit, 'append', events)
      .bindStateMachine(rotation, ['start'], 'ROTATION_STATE_MACHINE_ARN')
      .bindAtlassian(orgApiKey, atlassian)
      .bindTokenSecrets('unshare', 'delete');
    // The sweep warns admins before the org API key expires: its expiry is a tag on the key's secret.
    f.sweep.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [orgApiKey.secretArn] }),
    );
    // Messages name the console; until it is deployed apart, below the API's base URL.
    const consoleUrl = `${approvalBaseUrl}/console/`;
    // The personal-token routes read and revoke records, start scans (the scan lock is a record), revoke a token at
    // Atlassian, and look a governed token up in its service account's listing (409).
    f.personalTokens
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian)
      .bindStateMachine(this.personalTokenScan.stateMachine, ['start'], 'SCAN_STATE_MACHINE_ARN');
    // The scan pages the org's tokens at Atlassian, reads them in batches, writes what changed and revokes what is
    // due; its events tell owners and admins (the notifier mails them).
    f.personalTokenScan
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian);
    // Exceptions: the routes create and read exceptions, start the workflow, and unseal the approval task token to
    // resume it on cancel. The steps move members between authentication policies (Admin Control) and revoke the
    // member's personal tokens; their events tell the member, approvers and admins (the notifier mails them).
    f.accessExceptions
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(this.accessExceptions.stateMachine, ['start', 'respond'], 'EXCEPTION_STATE_MACHINE_ARN');
    f.accessExceptionStep
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian);
    // The shared approval step and page also serve the exception workflow: they resume its task (by name, since the
    // workflow invokes the step).
    const exceptionByName = StateMachine.fromStateMachineName(
      this,
      'AccessExceptionByName',
      this.accessExceptions.stateMachineName,
    );
    f.requestApproval.bindStateMachine(exceptionByName, ['respond']);
    f.approvals.bindStateMachine(exceptionByName, ['respond']);
    // The console's decision is the approval page's, made by the signed-in approver: it reads and decides approvals,
    // audits, and unseals the task token to resume either workflow (bound as the page is). The catalog is the
    // bundled policy and needs no grant.
    f.console
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindStateMachine(stateMachine, ['respond'])
      .bindStateMachine(exceptionByName, ['respond']);
    // The console's assets need no grant (only their logs): the page is told the issuer and its client id to sign in.
    f.consoleAssets
      .addEnvironment('CONSOLE_ISSUER', config.jwtIssuer)
      .addEnvironment('CONSOLE_CLIENT_ID', config.consoleClientId)
      .addEnvironment('CONSOLE_CONNECT_ORIGINS', config.consoleIdentityOrigins.join(' '));
    // The notifier is the one function that sends mail. It reads the records an event names (no index), leases one
    // `NOTE#` marker per event and recipient or channel (conditional put, updated once delivered, deleted again when
    // a send is to be retried) and writes nothing else, signs approval and upload links with the link key, reads the
    // channels' webhook secrets, and delays a message whose webhook asked to wait. Its queue grants (receive,
    // delete) come with the event source.
    f.notifier
      // What planners read: requests, approvals, uploads, tokens and their mints, exceptions, personal tokens and the
      // drift report; never name locks, pending slots, live-exception places, scans or the rate limiter.
      .bindNotificationMarkers(records, ['REQ#*', 'APV#*', 'UPL#*', 'TOK#*', 'EXC#*', 'PT#*', 'INVENTORY'])
      .bindMail(config.fromEmail)
      .bindSecret('LINK_SIGNING_SECRET_ID', linkSigningKey)
      .bindChatWebhooks((config.policy.notifications.chat ?? []).map((c) => c.webhookSecretName))
      .bindQueueVisibility(this.notifier.queue)
      .addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl)
      .addEnvironment('CONSOLE_URL', consoleUrl);
    // The inventory reads every token record (byKind index) and writes the latest drift report.
    f.inventory
      .bindTable(records, 'write', indexes)
      .bindAuditTable(audit, 'append', events)
      .bindAtlassian(orgApiKey, atlassian);
  }
}
