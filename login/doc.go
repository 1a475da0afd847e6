// Package login signs in to Microsoft Entra ID and gets access tokens.
//
// Each sign-in method yields an azcore.TokenCredential from azidentity:
//
//   - MethodCertificate: a service principal with a certificate. The client
//     assertion is signed through certstore.Identity.Signer, so a key that
//     may not leave the store (a non-exportable Windows key) still signs.
//   - MethodSecret: a service principal with a client secret.
//   - MethodManagedIdentity: the Azure resource's own identity.
//   - MethodWorkloadIdentity: a federated token file (Kubernetes, CI OIDC).
//   - MethodDeviceCode and MethodBrowser: a person, interactively.
//
// Environments name the cloud: its Entra ID authority and its Resource
// Manager endpoint. Context is what certctl remembers of a sign-in; it never
// holds a secret, token or key.
package login
