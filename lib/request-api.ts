import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The Lambda functions behind the routes. */
export interface RequestApiHandlers {
  /** `POST /token-requests`, `GET /token-requests`, `GET /token-requests/{requestId}`, `POST …/cancel`. */
  readonly tokenRequests: IFunction;
  /** `GET /tokens`, `GET /tokens/{tokenId}`, `POST /tokens/{tokenId}/rotate`, `POST /tokens/{tokenId}/revoke`. */
  readonly tokens: IFunction;
  /** `GET /audit`, `GET /inventory/drift` (admins; the handler checks the group claim). */
  readonly admin: IFunction;
  /**
   * `GET`/`POST /approvals/{approvalId}` and, with approver sign-in, `GET /approvals/sign-in/callback` (no
   * authorizer: the signed link, a CSRF value and, with sign-in, the identity provider's ID token authenticate).
   */
  readonly approvals: IFunction;
  /** `GET`/`POST /uploads/{uploadId}` (no authorizer: the signed link and a CSRF value authenticate). */
  readonly uploads: IFunction;
  /** `GET /health` (no authorizer). */
  readonly health: IFunction;
  /** `/inventory/personal-tokens…`, `/inventory/scan`, `/inventory/scans/{scanId}` (admins), `/me/personal-tokens`. */
  readonly personalTokens: IFunction;
  /** `/access-exceptions…` (members their own, admins all). */
  readonly accessExceptions: IFunction;
  /**
   * The web console's member routes: `GET /me` (the caller's email and roles), `GET /catalog`, `GET /approvals`
   * (the caller's pending approvals), `GET /approvals/{approvalId}/request` and
   * `POST /approvals/{approvalId}/decision` (the signed-in approver's own).
   */
  readonly console: IFunction;
  /** `GET /`, `GET /console` and `GET /console/{proxy+}`: the web console's static files (no authorizer). */
  readonly consoleAssets: IFunction;
}

/** Properties of {@link RequestApi}. */
export interface RequestApiProps {
  readonly handlers: RequestApiHandlers;
  /** Issuer of members' JWTs (the authorizer reads its discovery document). */
  readonly jwtIssuer: string;
  /** Audiences accepted by the authorizer. */
  readonly jwtAudience: readonly string[];
  /**
   * Approvers sign in through the identity provider before deciding: adds `GET /approvals/sign-in/callback`.
   * @default false
   */
  readonly approverSignIn?: boolean;
  /** Key that encrypts the access log group. */
  readonly encryptionKey: IKey;
  /**
   * Throttling of the default stage.
   * @default - 20 requests per second, bursts of 40
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Retention of the access log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * Access log line. It deliberately leaves out the query string (approval links carry their signature in `sig`)
 * and every header, `Authorization` included: `$context.path` is the path alone.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

/** Member routes (JWT authorizer) and public routes of the HTTP API. */
export class RequestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly authorizer: HttpJwtAuthorizer;
  readonly accessLogs: LogGroup;
  /** `https://<api-id>.execute-api.<region>.amazonaws.com`, no trailing slash. */
  readonly url: string;
  /** Routes that require a member's JWT. */
  readonly memberRoutes: HttpRoute[] = [];
  /** Routes open to anyone (health, approval and upload links). */
  readonly publicRoutes: HttpRoute[] = [];

  constructor(scope: Construct, id: string, props: RequestApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Token Warden: token requests, tokens, approvals and administration',
      createDefaultStage: false,
    });
    this.url = this.api.apiEndpoint;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.encryptionKey,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 20, burstLimit: 40 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.authorizer = new HttpJwtAuthorizer('MemberJwt', props.jwtIssuer, {
      jwtAudience: [...props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });

    const {
      tokenRequests,
      tokens,
      admin,
      approvals,
      uploads,
      health,
      personalTokens,
      accessExceptions,
      console,
      consoleAssets,
    } = props.handlers;
    const integrations = {
      tokenRequests: new HttpLambdaIntegration('TokenRequests', tokenRequests),
      tokens: new HttpLambdaIntegration('Tokens', tokens),
      admin: new HttpLambdaIntegration('Admin', admin),
      approvals: new HttpLambdaIntegration('Approvals', approvals),
      uploads: new HttpLambdaIntegration('Uploads', uploads),
      health: new HttpLambdaIntegration('Health', health),
      personalTokens: new HttpLambdaIntegration('PersonalTokens', personalTokens),
      accessExceptions: new HttpLambdaIntegration('AccessExceptions', accessExceptions),
      console: new HttpLambdaIntegration('Console', console),
      consoleAssets: new HttpLambdaIntegration('ConsoleAssets', consoleAssets),
    };
    const member = (path: string, methods: HttpMethod[], integration: HttpLambdaIntegration) =>
      this.memberRoutes.push(...this.api.addRoutes({ path, methods, integration, authorizer: this.authorizer }));
    const open = (path: string, methods: HttpMethod[], integration: HttpLambdaIntegration) =>
      this.publicRoutes.push(...this.api.addRoutes({ path, methods, integration }));

    member('/token-requests', [HttpMethod.GET, HttpMethod.POST], integrations.tokenRequests);
    member('/token-requests/{requestId}', [HttpMethod.GET], integrations.tokenRequests);
    member('/token-requests/{requestId}/cancel', [HttpMethod.POST], integrations.tokenRequests);
    member('/tokens', [HttpMethod.GET], integrations.tokens);
    member('/tokens/{tokenId}', [HttpMethod.GET], integrations.tokens);
    member('/tokens/{tokenId}/rotate', [HttpMethod.POST], integrations.tokens);
    member('/tokens/{tokenId}/revoke', [HttpMethod.POST], integrations.tokens);
    member('/audit', [HttpMethod.GET], integrations.admin);
    member('/inventory/drift', [HttpMethod.GET], integrations.admin);
    member('/inventory/personal-tokens', [HttpMethod.GET], integrations.personalTokens);
    member('/inventory/personal-tokens/{atlassianTokenId}', [HttpMethod.GET], integrations.personalTokens);
    member('/inventory/personal-tokens/{atlassianTokenId}/revoke', [HttpMethod.POST], integrations.personalTokens);
    member('/inventory/scan', [HttpMethod.POST], integrations.personalTokens);
    member('/inventory/scans/{scanId}', [HttpMethod.GET], integrations.personalTokens);
    member('/me/personal-tokens', [HttpMethod.GET], integrations.personalTokens);
    member('/access-exceptions', [HttpMethod.GET, HttpMethod.POST], integrations.accessExceptions);
    member('/access-exceptions/{exceptionId}', [HttpMethod.GET], integrations.accessExceptions);
    member('/access-exceptions/{exceptionId}/cancel', [HttpMethod.POST], integrations.accessExceptions);
    member('/access-exceptions/{exceptionId}/end', [HttpMethod.POST], integrations.accessExceptions);
    member('/me', [HttpMethod.GET], integrations.console);
    member('/catalog', [HttpMethod.GET], integrations.console);
    member('/approvals', [HttpMethod.GET], integrations.console);
    member('/approvals/{approvalId}/request', [HttpMethod.GET], integrations.console);
    member('/approvals/{approvalId}/decision', [HttpMethod.POST], integrations.console);
    open('/approvals/{approvalId}', [HttpMethod.GET, HttpMethod.POST], integrations.approvals);
    if (props.approverSignIn) open('/approvals/sign-in/callback', [HttpMethod.GET], integrations.approvals);
    open('/uploads/{uploadId}', [HttpMethod.GET, HttpMethod.POST], integrations.uploads);
    open('/health', [HttpMethod.GET], integrations.health);
    // The console at /console/. A route key cannot end in a slash, and a greedy variable needs the segment before it:
    // `/console/{proxy+}` catches `/console/` (an empty remainder) and every path below it, `/console` the bare
    // path, `/` the API's root; all three go to the assets function, which answers by the raw path (`/` and
    // `/console` redirect to `/console/`). The local runtime selects routes the same way.
    open('/', [HttpMethod.GET], integrations.consoleAssets);
    open('/console', [HttpMethod.GET], integrations.consoleAssets);
    open('/console/{proxy+}', [HttpMethod.GET], integrations.consoleAssets);

    const consoleReason =
      'The web console: static assets with no data; the page signs the member in at the identity provider, and ' +
      "every data call it makes carries the member's JWT to the member routes.";
    const reasons: Record<string, string> = {
      '/health': 'The health check is public by contract and returns only {"status":"ok"}.',
      '/': `Redirects to the console. ${consoleReason}`,
      '/console': consoleReason,
      '/console/{proxy+}': consoleReason,
      '/approvals/{approvalId}':
        'Approvers open these links from email without signing in: each link is authenticated by an HMAC ' +
        'signature bound to the approval and the approver, and the decision POST by a single-use CSRF value.',
      '/approvals/sign-in/callback':
        "The identity provider redirects approvers' browsers here after sign-in (OpenID Connect authorization " +
        'code with PKCE): the MACed state, the code verifier bound to an HttpOnly cookie and the verified ID token ' +
        'authenticate it; it decides nothing.',
      '/uploads/{uploadId}':
        'Admins open these single-use upload links (manual issuance) from email without signing in: each link is ' +
        'authenticated by an expiring HMAC signature (its own key purpose) bound to the upload and the admin, and ' +
        'the token POST by a single-use CSRF value; the page only accepts the token with the expected label.',
    };
    for (const route of this.publicRoutes) {
      const reason = reasons[route.path ?? ''];
      if (!reason) throw new Error(`RequestApi: public route ${route.path} has no stated reason`);
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    }
  }
}
