// The OpenID Connect provider of the social-login tests: panva's oidc-provider (OpenID
// certified) on a free loopback port, started by tests/api/oauth_support.rs.
//
// One client (CLIENT_ID / CLIENT_SECRET, redirect URIs from REDIRECT_URIS). The account is
// chosen by the test: the login submitted to the dev interaction is the base64url JSON of the
// claims the ID token must carry ({"sub", "email", "email_verified", "given_name"…}).
// Consent is granted without asking (loadExistingGrant). Prints "issuer <url>" once ready and
// exits when its standard input closes (the test binary ended).
import http from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.CLIENT_ID ?? 'auth-server';
const clientSecret = process.env.CLIENT_SECRET ?? 'auth-server-test-secret';
const redirectUris = (process.env.REDIRECT_URIS ?? '').split(',').filter(Boolean);
const scope = 'openid email profile';
const claimNames = ['sub', 'email', 'email_verified', 'given_name', 'family_name', 'name'];

function claimsOf(accountId) {
  return JSON.parse(Buffer.from(accountId, 'base64url').toString('utf8'));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'name'],
    },
    // The ID token carries the claims of the scopes (as Google's and Keycloak's do).
    conformIdTokenClaims: false,
    cookies: { keys: ['auth-server-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      let claims;
      try {
        claims = claimsOf(id);
      } catch {
        return undefined;
      }
      return { accountId: id, async claims() { return claims; } };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(scope);
      grant.addOIDCClaims(claimNames);
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
