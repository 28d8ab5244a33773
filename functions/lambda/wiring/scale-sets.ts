/**
 * The runner scale set port inside Lambda: the Actions-service client (scaleset-client.ts), whose admin token
 * is bought with a registration token that the stack's GitHub credentials (the token or the App's private key
 * in `GITHUB_TOKEN_SECRET_ARN`, as for the REST port) ask for. The secret is read when a registration token is
 * needed, about once an hour, through the same cache; a rotated secret is picked up then. The client itself
 * lives as long as the container: it holds the open message sessions.
 */
import { githubAuthFor } from '../../adapters/github-auth.ts';
import { createRegistrationTokenSource } from '../../adapters/github-registration-token.ts';
import { configuredCaBundle, fetchTrusting } from '../../adapters/github-tls.ts';
import { createScaleSetClient, type RegistrationToken } from '../../adapters/scaleset-client.ts';
import { organizationUrl } from '../../config/github-url.ts';
import { countGitHubAttempts } from '../../observability/metrics.ts';
import type { ScaleSetPort } from '../../ports/scale-sets.ts';
import type { WiringContext } from './context.ts';
import { readCredential, rebuiltOnChange } from './github.ts';

export async function lambdaScaleSets({
  env,
  config,
  logger,
  metrics,
}: WiringContext): Promise<ScaleSetPort> {
  const caBundle = await configuredCaBundle(config.github);
  const tokenSource = rebuiltOnChange(
    () => readCredential({ env, config }),
    (credential): (() => Promise<RegistrationToken>) =>
      createRegistrationTokenSource({
        apiUrl: config.github.apiUrl,
        org: config.github.org,
        auth: githubAuthFor(config.github.auth, credential),
        ...(caBundle ? { caBundle } : {}),
        logger,
        onAttempt: countGitHubAttempts(metrics),
      }),
  );
  const registrationToken = async () => (await tokenSource())();
  return createScaleSetClient({
    apiUrl: config.github.apiUrl,
    configUrl: organizationUrl(config.github.url, config.github.org),
    registrationToken,
    ...(caBundle ? { fetch: fetchTrusting(caBundle) } : {}),
    logger,
  });
}
