// Package login signs in to Microsoft Entra ID and gets access tokens.
//
// Each sign-in method yields an azcore.TokenCredential (NewCredential) and
// access tokens (Token):
//
//   - MethodCertificate: a service principal with a certificate. The client
//     assertion is signed through certstore.Identity.Signer, so a key that
//     may not leave the store (a non-exportable Windows key) still signs.
//   - MethodSecret: a service principal with a client secret.
//   - MethodManagedIdentity: the Azure resource's own identity.
//   - MethodWorkloadIdentity: a federated token file (Kubernetes, CI OIDC).
//   - MethodDeviceCode and MethodBrowser: a person, interactively.
//   - MethodRefreshToken and MethodAccessToken: tokens from elsewhere, the
//     Secure Application Model's refresh token or a bearer token.
//
// Managed identity and the device code of a public client go through
// azidentity. certctl sends the other grants itself (oauth.go): the client
// credentials grant with MSAL's form, refresh tokens it rotates in their
// file, a confidential client's authorization code and device code. The
// tenant's discovery metadata is kept between processes (metadata.go), so a
// token is one request. Every request passes the guard of transport.go.
//
// Environments name the cloud: its Entra ID authority and its Resource
// Manager endpoint. Context is what certctl remembers of a sign-in; it never
// holds a secret, token or key.
package login
