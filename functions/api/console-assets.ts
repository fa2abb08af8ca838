import { join } from 'node:path';
import { envVar, readConfig } from '../composition/config';
import { consoleAssetsHandler } from '../edge/console-assets';

const env = readConfig({
  CONSOLE_ISSUER: envVar.url,
  CONSOLE_CLIENT_ID: envVar.name,
  CONSOLE_CONNECT_ORIGINS: envVar.origins,
});

/**
 * `GET /`, `GET /console` and `GET /console/{proxy+}`: the web console, from the API's own origin. The console is
 * built into the bundle (`console/` beside this file, in the task root as `policy.json` is) and read once per
 * container; no authorizer, no data.
 */
export const handler = consoleAssetsHandler(join(process.env.LAMBDA_TASK_ROOT ?? __dirname, 'console'), {
  issuer: env.CONSOLE_ISSUER,
  clientId: env.CONSOLE_CLIENT_ID,
  identityOrigins: env.CONSOLE_CONNECT_ORIGINS.split(' ').filter(Boolean),
});
