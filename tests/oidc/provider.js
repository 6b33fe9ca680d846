// A real OpenID Connect provider for kms's SSO tests (oidc-provider 8), listening on 127.0.0.1 only.
//
// Everything comes from environment variables set by tests/sso/provider.py:
//   OIDC_PORT            port to listen on (the issuer is http://127.0.0.1:<port>)
//   OIDC_JWKS            JSON {"keys": [private JWKs]}: it signs with the first and publishes all; the tests made
//                        them, so they can also sign tokens with them
//   OIDC_ACCOUNTS_FILE   JSON file {"<login>": {"email", "email_verified", "name", "groups"}}, read on every
//                        login, so a test can change someone's groups between two logins
//   OIDC_REDIRECT_URIS   JSON list of kms callback URLs registered for the client "kms"
//   OIDC_LOGOUT_URIS     JSON list of post-logout redirect URLs
// The login page is oidc-provider's development interaction: any listed login, any password.
import fs from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;

function readAccounts() {
  return JSON.parse(fs.readFileSync(process.env.OIDC_ACCOUNTS_FILE, 'utf8'));
}

async function findAccount(ctx, id) {
  const account = readAccounts()[id];
  if (!account) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: account.email,
        email_verified: account.email_verified,
        name: account.name,
        groups: account.groups || [],
      };
    },
  };
}

// kms is a first-party client: its grant is created on the spot, so the only page is the login form.
async function loadExistingGrant(ctx) {
  const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (existing) return ctx.oidc.provider.Grant.find(existing);
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
  grant.addOIDCScope('openid email profile');
  grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
  await grant.save();
  return grant;
}

const configuration = {
  clients: [{
    client_id: 'kms',
    client_secret: 'kms-test-secret',
    redirect_uris: JSON.parse(process.env.OIDC_REDIRECT_URIS),
    post_logout_redirect_uris: JSON.parse(process.env.OIDC_LOGOUT_URIS || '[]'),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: JSON.parse(process.env.OIDC_JWKS),
  cookies: { keys: ['kms-test-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  // The claims of the requested scopes go into the ID token itself, as Entra ID, Okta and Keycloak can.
  conformIdTokenClaims: false,
  findAccount,
  loadExistingGrant,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
};

const provider = new Provider(issuer, configuration);
// One line per download of the published keys, so a test can see when kms fetched them again.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/jwks') console.log('jwks served');
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
