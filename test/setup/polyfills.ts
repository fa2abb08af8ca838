// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
import '../../local/polyfills';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The functions' shared Metrics stays quiet in tests; a test that reads metrics builds its own Metrics.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
