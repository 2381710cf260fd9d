// A real OpenID provider (oidc-provider, certified) for the single sign-on tests.
// Started by tests/people/test_sso.py on 127.0.0.1 with a small configuration:
//   OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, OIDC_POST_LOGOUT_URI
// Signing in needs no form when the authorization request carries a login_hint
// (an email), so tests drive the flow over HTTP; without one the provider asks
// for credentials on a page of its own (any email, the password PROVIDER_PASSWORD),
// as a council's sign-in page does in a browser. GET /test-mode?mode=
// makes the next ID tokens wrong on purpose: wrong-audience and expired are
// re-signed with the provider's own key; forged is signed with a key it never published.
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
// A key the provider does not publish, for a token forged under the provider's key id.
const { privateKey: forgerKey } = await jose.generateKeyPair('RS256');
let mode = 'normal';
const PROVIDER_PASSWORD = 'provider-password';
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
async function formBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}
const groups = JSON.parse(process.env.OIDC_GROUPS || '{}');
// GET /test-account?sub=…&claims={json}: what the provider says about one account from now on
// (a changed email, other groups, an overage marker), as a directory change would.
const overrides = {};

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    post_logout_redirect_uris: [process.env.OIDC_POST_LOGOUT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['tracker-test-cookie-key'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // The default page imports a web font from the internet; this one is self-contained.
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `<h1>Do you want to sign out of the council?</h1>${form}
          <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
          <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({
      sub, email: sub, email_verified: true, name: sub.split('@')[0], groups: groups[sub] || [], ...(overrides[sub] || {}),
    }),
  }),
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/test-mode') {
    mode = ctx.query.mode || 'normal';
    ctx.body = { mode };
    return;
  }
  if (ctx.path === '/test-account') {
    overrides[ctx.query.sub] = JSON.parse(ctx.query.claims || '{}');
    ctx.body = overrides[ctx.query.sub];
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      let account = details.params.login_hint;
      if (!account && ctx.method === 'POST') {
        const form = await formBody(ctx.req);
        if (form.get('password') === PROVIDER_PASSWORD) account = form.get('email');
      }
      if (!account) {
        // Who are you? The page a person at a shared computer must see after the last one signed out.
        ctx.type = 'html';
        ctx.body = page('Council sign-in', `<h1>Sign in to the council</h1>
          <form method="post" action="/interaction/${escape(details.uid)}">
          <label>Email <input name="email" type="email"></label>
          <label>Password <input name="password" type="password"></label>
          <button type="submit">Sign in to the council</button></form>`);
        return;
      }
      result = { login: { accountId: account } };
    } else {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { consent: { grantId: await grant.save() } };
    }
    ctx.respond = false;
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    return;
  }
  await next();
  if (ctx.path === '/token' && mode !== 'normal' && ctx.body && ctx.body.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    // Issued to another application, yet naming this one as the authorized party.
    if (mode === 'wrong-audience') { claims.aud = 'another-application'; claims.azp = process.env.OIDC_CLIENT_ID; }
    if (mode === 'expired') { claims.iat -= 7200; claims.exp = claims.iat + 600; }
    const key = mode === 'forged' ? forgerKey : privateKey;
    ctx.body.id_token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key);
  }
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ready at ${issuer}`));
