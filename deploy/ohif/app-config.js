// OHIF Viewer (v3) data source for medimg. Copy into OHIF's public/config/*.js (or merge the
// dataSources entry) and replace https://pacs.example.org with medimg's --public-url.
// The flags say what medimg supports, so OHIF sends the requests it answers best.
//
// medimg needs credentials on every DICOMweb request. Pick one way of signing in below:
//  - 'basic': OHIF sends HTTP Basic with one medimg account (a reader, or an editor to upload and
//    delete) on every request. Simple, for a viewer on a trusted network; everyone using this
//    OHIF acts as that account.
//  - 'oidc': people sign in at the identity provider (Keycloak here) and OHIF sends their access
//    token as a Bearer token; medimg checks it (--auth oidc or local,oidc; see the README,
//    "OpenID Connect"). Each person acts with their own role.
// When OHIF is served from another origin than medimg, start medimg with
// --cors-origins https://viewer.example.org (preflights carry Authorization and need no credentials).
const signIn = 'oidc'; // or 'basic'

const medimg = {
  namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
  sourceName: 'medimg',
  configuration: {
    friendlyName: 'medimg',
    name: 'medimg',
    wadoUriRoot: 'https://pacs.example.org/wado',
    qidoRoot: 'https://pacs.example.org/dicomweb',
    wadoRoot: 'https://pacs.example.org/dicomweb',
    qidoSupportsIncludeField: true,
    supportsFuzzyMatching: true, // word-prefix, accent- and order-insensitive name matching
    supportsWildcard: true,
    supportsReject: false,
    supportsStow: true,
    dicomUploadEnabled: true,
    imageRendering: 'wadors', // frames as stored (transfer-syntax=*), decoded in the browser
    thumbnailRendering: 'thumbnailDirect', // GET …/thumbnail; served with CORP cross-origin
    enableStudyLazyLoad: true, // series list, then /series/{uid}/metadata per series
    bulkDataURI: { enabled: true }, // medimg's BulkDataURIs are absolute (--public-url)
    omitQuotationForMultipartRequest: false, // both quoted and unquoted Accept forms work
    staticWado: false,
  },
};

if (signIn === 'basic') {
  // "username:password" of a medimg account (medimg user add viewer --role reader). It is sent
  // with every request: serve OHIF over HTTPS only.
  medimg.configuration.requestOptions = { auth: 'viewer:CHANGE-ME to its password' };
}

window.config = {
  routerBasename: '/',
  showStudyList: true,
  defaultDataSourceName: 'medimg',
  dataSources: [medimg],
  // OpenID Connect: OHIF signs people in (authorization code flow with PKCE) and sends the access
  // token to medimg. The client ohif-viewer needs an Audience mapper adding "medimg" to the access
  // token (medimg --oidc-audience medimg) and people need client roles of the client "medimg"
  // (--oidc-roles-claim resource_access.medimg.roles).
  oidc:
    signIn === 'oidc'
      ? [
          {
            authority: 'https://keycloak.example.org/realms/hospital',
            client_id: 'ohif-viewer',
            redirect_uri: '/callback',
            response_type: 'code',
            scope: 'openid profile',
            post_logout_redirect_uri: '/logout-redirect.html',
            automaticSilentRenew: true,
          },
        ]
      : undefined,
};
