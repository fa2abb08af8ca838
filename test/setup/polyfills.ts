// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
import '../../local/polyfills';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
