// The OpenID Connect provider of the social-login tests: panva's oidc-provider (OpenID
// certified) on a free loopback port, started by tests/api/oauth_support.rs.
//
// One client (CLIENT_ID / CLIENT_SECRET, redirect URIs from REDIRECT_URIS). The accounts are
// the test's: it POSTs the claims an account's ID token must carry ({"sub", "email",
// "email_verified", "given_name"…}) to /test/accounts, then submits that `sub` as the login
// of the dev interaction (findAccount reads them back; the sub is the account id).
// Consent is granted without asking (loadExistingGrant). Prints "issuer <url>" once ready and
// exits when its standard input closes (the test binary ended).
import http from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.CLIENT_ID ?? 'auth-server';
const clientSecret = process.env.CLIENT_SECRET ?? 'auth-server-test-secret';
const redirectUris = (process.env.REDIRECT_URIS ?? '').split(',').filter(Boolean);
const scope = 'openid email profile';
const claimNames = ['sub', 'email', 'email_verified', 'given_name', 'family_name', 'name'];

const accounts = new Map();

function register(req, res) {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    try {
      const claims = JSON.parse(body);
      accounts.set(String(claims.sub), claims);
      res.writeHead(204).end();
    } catch {
      res.writeHead(400).end();
    }
  });
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
    ttl: { Interaction: 600, Session: 600, Grant: 600 },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const claims = accounts.get(id);
      if (!claims) return undefined;
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
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url === '/test/accounts') return register(req, res);
    return handle(req, res);
  });
  console.log(`issuer ${issuer}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
