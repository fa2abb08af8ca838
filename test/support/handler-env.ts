/** The environment the API handlers read on Lambda, pointed at a local DynamoDB, for handler tests. */
import type { LocalDynamo } from './dynamo';
import { bundledPolicyFile } from './policy-json';

/**
 * Sets what the deployed stack gives the API functions (tables, bus, state machines, link key, sender, base URL,
 * the shipped policy), with DynamoDB on `dynamo` and throwaway credentials; `extra` adds or overrides variables.
 * Set it before importing a handler: handlers read their configuration at import.
 */
export async function setHandlerEnvironment(dynamo: LocalDynamo, extra: Record<string, string> = {}): Promise<void> {
  const endpoint = await dynamo.client.config.endpoint?.();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: `http://${endpoint?.hostname}:${endpoint?.port}`,
    TABLE_NAME: dynamo.tableName,
    AUDIT_TABLE_NAME: dynamo.auditTableName,
    EVENT_BUS_NAME: 'token-warden',
    ISSUANCE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:Issuance',
    ROTATION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:Rotation',
    LINK_SIGNING_SECRET_ID: 'token-warden/link-signing-key',
    FROM_EMAIL: 'token-warden@example.com',
    APPROVAL_BASE_URL: 'https://api.example.com',
    POLICY_FILE: bundledPolicyFile(),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}
