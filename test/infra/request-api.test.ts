import { type CfnResource, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import {
  defaultPolicy,
  ENTRIES,
  environmentOf,
  functionId,
  logicalId,
  type Synthesized,
  synth,
  type TemplateJson,
  writePolicy,
} from './support/synth';

const MEMBER_ROUTES: Record<string, string> = {
  'POST /token-requests': ENTRIES.tokenRequests,
  'GET /token-requests': ENTRIES.tokenRequests,
  'GET /token-requests/{requestId}': ENTRIES.tokenRequests,
  'POST /token-requests/{requestId}/cancel': ENTRIES.tokenRequests,
  'GET /tokens': ENTRIES.tokens,
  'GET /tokens/{tokenId}': ENTRIES.tokens,
  'POST /tokens/{tokenId}/rotate': ENTRIES.tokens,
  'POST /tokens/{tokenId}/revoke': ENTRIES.tokens,
  'GET /audit': ENTRIES.admin,
  'GET /inventory/drift': ENTRIES.admin,
  'GET /inventory/personal-tokens': ENTRIES.personalTokens,
  'GET /inventory/personal-tokens/{atlassianTokenId}': ENTRIES.personalTokens,
  'POST /inventory/personal-tokens/{atlassianTokenId}/revoke': ENTRIES.personalTokens,
  'POST /inventory/scan': ENTRIES.personalTokens,
  'GET /inventory/scans/{scanId}': ENTRIES.personalTokens,
  'GET /me/personal-tokens': ENTRIES.personalTokens,
  'POST /access-exceptions': ENTRIES.accessExceptions,
  'GET /access-exceptions': ENTRIES.accessExceptions,
  'GET /access-exceptions/{exceptionId}': ENTRIES.accessExceptions,
  'POST /access-exceptions/{exceptionId}/cancel': ENTRIES.accessExceptions,
  'POST /access-exceptions/{exceptionId}/end': ENTRIES.accessExceptions,
  'GET /me': ENTRIES.console,
  'GET /catalog': ENTRIES.console,
  'GET /approvals': ENTRIES.console,
  'GET /approvals/{approvalId}/request': ENTRIES.console,
  'POST /approvals/{approvalId}/decision': ENTRIES.console,
};
const PUBLIC_ROUTES: Record<string, string> = {
  'GET /approvals/{approvalId}': ENTRIES.approvals,
  'POST /approvals/{approvalId}': ENTRIES.approvals,
  'GET /uploads/{uploadId}': ENTRIES.uploads,
  'POST /uploads/{uploadId}': ENTRIES.uploads,
  'GET /health': ENTRIES.health,
  'GET /': ENTRIES.consoleAssets,
  'GET /console': ENTRIES.consoleAssets,
  'GET /console/{proxy+}': ENTRIES.consoleAssets,
};

describe('RequestApi', () => {
  let s: Synthesized;
  let routes: Record<string, { AuthorizationType: string; AuthorizerId?: unknown; Target: unknown }>;
  let integrations: Record<string, TemplateJson>;

  beforeAll(() => {
    s = synth();
    routes = Object.fromEntries(
      Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).map((r) => [
        r.Properties.RouteKey,
        r.Properties,
      ]),
    );
    integrations = s.template.findResources('AWS::ApiGatewayV2::Integration');
  });

  /** Entry of the function behind a route's integration. */
  function targetEntry(routeKey: string): string {
    const target = JSON.stringify(routes[routeKey]?.Target);
    const integrationId = Object.keys(integrations).find((id) => target.includes(`"${id}"`));
    const uri = JSON.stringify(integrations[integrationId ?? '']?.Properties.IntegrationUri);
    const entry = Object.values(ENTRIES).find((e) => uri.includes(`"${functionId(s, e)}"`));
    if (!entry) throw new Error(`no function behind ${routeKey}`);
    return entry;
  }

  it('has exactly the routes of the contract', () => {
    expect(Object.keys(routes).sort()).toEqual([...Object.keys(MEMBER_ROUTES), ...Object.keys(PUBLIC_ROUTES)].sort());
  });

  it('routes each path to its function with payload format 2.0', () => {
    for (const [routeKey, entry] of Object.entries({ ...MEMBER_ROUTES, ...PUBLIC_ROUTES })) {
      expect({ routeKey, entry: targetEntry(routeKey) }).toEqual({ routeKey, entry });
    }
    for (const integration of Object.values(integrations)) {
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    }
  });

  it('protects member routes with the JWT authorizer and leaves approval, upload and health routes open', () => {
    const [authorizerId] = Object.keys(s.template.findResources('AWS::ApiGatewayV2::Authorizer'));
    for (const routeKey of Object.keys(MEMBER_ROUTES)) {
      expect({ routeKey, ...routes[routeKey] }).toMatchObject({
        routeKey,
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
      });
    }
    for (const routeKey of Object.keys(PUBLIC_ROUTES)) {
      expect({ routeKey, type: routes[routeKey]?.AuthorizationType, id: routes[routeKey]?.AuthorizerId }).toEqual({
        routeKey,
        type: 'NONE',
      });
    }
  });

  it('configures the authorizer with issuer and audience from context', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'http://127.0.0.1:3000/local/oidc', Audience: ['token-warden'] },
    });
    const other = synth({ jwtIssuer: 'https://idp.corp.example/oauth2/default', jwtAudience: 'api://warden' });
    other.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://idp.corp.example/oauth2/default', Audience: ['api://warden'] },
    });
  });

  it('throttles the auto-deployed $default stage and logs access to an encrypted log group', () => {
    const accessLogs = logicalId(s, s.stack.api.accessLogs.node.defaultChild as CfnResource);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [accessLogs, 'Arn'] }, Format: Match.anyValue() },
    });
    const keyId = logicalId(s, s.stack.store.key.node.defaultChild as CfnResource);
    expect(s.json.Resources[accessLogs]?.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('never logs the query string (approval signatures) or the Authorization header', () => {
    const [stage] = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage'));
    const format = stage?.Properties.AccessLogSettings.Format as string;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(format).not.toMatch(
      /querystring|\$request\.|\$input|header|authorization|\$context\.authorizer\.(claims|jwt)/i,
    );
  });

  it('acknowledges cdk-nag APIG4 on each open route with a reason of its own', () => {
    const reasons = new Map<string, string>();
    for (const route of s.stack.api.publicRoutes) {
      const acks = route.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>));
      const [id, reason] = acks.find(([rule]) => rule.endsWith('AwsSolutions-APIG4')) ?? [];
      expect({ path: route.path, id }).toEqual({ path: route.path, id: expect.stringContaining('AwsSolutions-APIG4') });
      reasons.set(route.path ?? '', reason ?? '');
    }
    expect(reasons.get('/uploads/{uploadId}')).toMatch(/upload links.*HMAC.*CSRF/s);
    expect(reasons.get('/console/{proxy+}')).toMatch(/static assets with no data.*JWT/s);
    expect(reasons.get('/console')).toBe(reasons.get('/console/{proxy+}'));
    expect(reasons.get('/')).toMatch(/^Redirects to the console/);
    expect(new Set(reasons.values()).size).toBe(5);
  });

  it('exposes the API URL as an output', () => {
    const apiId = logicalId(s, s.stack.api.api.node.defaultChild as CfnResource);
    s.template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] } });
  });
});

describe('RequestApi with approver sign-in', () => {
  const routeKeys = (s: Synthesized) =>
    Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey as string);

  it('has no sign-in callback and no identity provider settings by default', () => {
    const s = synth();
    expect(routeKeys(s)).not.toContain('GET /approvals/sign-in/callback');
    expect(environmentOf(s, ENTRIES.approvals)).not.toHaveProperty('SIGN_IN_ISSUER');
  });

  it('adds the public callback to the approvals function and gives it the issuer and client id', () => {
    const policy = writePolicy({ ...defaultPolicy(), approverSignIn: true });
    const s = synth({ policy, signInClientId: 'token-warden-approvals' });
    const route = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).find(
      (r) => r.Properties.RouteKey === 'GET /approvals/sign-in/callback',
    );
    expect(route?.Properties.AuthorizationType).toBe('NONE');
    const target = JSON.stringify(route?.Properties.Target);
    const integration = Object.entries(s.template.findResources('AWS::ApiGatewayV2::Integration')).find(([id]) =>
      target.includes(id),
    )?.[1];
    expect(JSON.stringify(integration?.Properties.IntegrationUri)).toContain(functionId(s, ENTRIES.approvals));
    expect(environmentOf(s, ENTRIES.approvals)).toMatchObject({
      SIGN_IN_ISSUER: 'http://127.0.0.1:3000/local/oidc',
      SIGN_IN_CLIENT_ID: 'token-warden-approvals',
    });
    const callback = s.stack.api.publicRoutes.find((r) => r.path === '/approvals/sign-in/callback');
    const acks = callback?.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) ?? [];
    expect(JSON.stringify(acks.map((m) => m.data))).toMatch(/PKCE/);
    // Room for three identity-provider calls of up to 5 s each, within API Gateway's 30 s.
    expect(s.json.Resources[functionId(s, ENTRIES.approvals)]?.Properties.Timeout).toBe(25);
  });
});
