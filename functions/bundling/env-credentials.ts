/**
 * The SDK clients' default credential provider, as bundled into the Lambda functions: credentials from the
 * environment only. `WardenFunction` (lib/warden-function.ts) aliases `@aws-sdk/credential-provider-node` to this
 * module, so the default chain's SSO, INI-file, process, web-identity and instance-metadata providers (and the STS,
 * SSO and sign-in clients they carry) stay out of the bundles. Lambda gives every function its role's credentials in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and the local runtime gives each sandbox its
 * own key pair the same way (local/lambda-runner.ts), so the environment is the only source either needs. Tests and
 * the local tooling import the SDK unbundled and keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** Same signature as the chain's `defaultProvider`; the clients call it once each with their configuration. */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
