package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/certctl/certctl/appcred"
	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/keyvault"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/platform"
)

// This file is the one place where what the libraries report (typed errors
// with codes and facts) becomes advice that names certctl's flags and
// commands. The libraries never name them.

func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "certctl: error: %s\n", escapeText(err.Error()))
	for _, h := range hints(err) {
		fmt.Fprintf(w, "certctl: hint: %s\n", escapeText(h))
	}
}

// hints suggests the fix for errors whose message alone does not.
func hints(err error) []string {
	var (
		ue  *usageError
		snf *storeNotFoundError
		se  *login.SignInError
		ce  *login.ContextError
		ge  *appcred.GraphError
		// Key Vault
		kve   *keyvault.ServiceError
		cloud *keyvault.CloudError
	)
	switch {
	case errors.As(err, new(*credentialNotFoundError)):
		return []string{"'certctl app credential list' shows the application's credentials"}
	case errors.Is(err, appcred.ErrSignInTimedOut):
		return []string{"Entra ID can take longer to replicate a new credential: run the same command again to finish the rotation; the old certificate still signs in"}
	case errors.Is(err, appcred.ErrNotRegistered), errors.Is(err, errProofNeeded):
		return []string{"sign the proof with a certificate the application has and the store holds with its key (--proof-thumbprint; 'certctl app credential list' shows them), or register the first one with 'certctl app credential add --bootstrap'"}
	case errors.As(err, &kve):
		switch {
		case kve.Status == http.StatusForbidden:
			role := "Key Vault Secrets User"
			if kve.Op == keyvault.OpCertificate {
				role = "Key Vault Certificate User"
			}
			return []string{fmt.Sprintf("az role assignment create --role %q --assignee APP_OR_IDENTITY_ID --scope VAULT_RESOURCE_ID; role assignments take a few minutes to apply", role)}
		case kve.Status == http.StatusUnauthorized:
			return []string{"the vault takes tokens of its own tenant only: sign in to that tenant with 'certctl login --tenant'"}
		case kve.Status == http.StatusNotFound && kve.Op == keyvault.OpCertificate:
			return []string{"'az keyvault certificate list --vault-name VAULT' shows the vault's certificates; a secret is read with a .../secrets/NAME URL"}
		case errors.Is(err, keyvault.ErrVaultNotFound):
			return []string{"check the vault's name in the URL, and that the saved sign-in is in the vault's cloud ('certctl context list' shows it)"}
		case kve.Status == http.StatusTooManyRequests || kve.Status == http.StatusServiceUnavailable:
			return []string{"the vault is throttling its callers: run again later, or spread a fleet's runs with --jitter"}
		}
	case errors.As(err, &cloud):
		if cloud.Belongs != "" {
			return []string{fmt.Sprintf("sign in to %s first: certctl login --environment %s ...", cloud.Belongs, cloud.Belongs)}
		}
		if cloud.Suffix == "" {
			return []string{"register the environment again with its vaults' DNS suffix: certctl environment add NAME ... --key-vault-suffix SUFFIX"}
		}
		return []string{"sign in to the vault's cloud with 'certctl login --environment NAME'; 'certctl environment list' shows each cloud's KEY VAULT suffix"}
	case errors.As(err, new(*keyvault.NotExportableError)):
		return []string{"Key Vault never lets a non-exportable key out; create a new version with an exportable key (az keyvault certificate create --policy with \"exportable\": true), or use the certificate from Azure services that read the vault themselves"}
	case errors.Is(err, login.ErrNoGraph):
		return []string{"register the environment again with its Microsoft Graph endpoint: certctl environment add NAME --authority-host URL --resource-manager-endpoint URL --graph-endpoint URL"}
	case errors.As(err, &ge):
		switch {
		case ge.ProofRefused():
			return []string{"Microsoft Graph checks the proof of possession: its certificate must be a valid credential of the application, and this machine's clock right"}
		case ge.Status == http.StatusNotFound && ge.Request == appcred.RequestRead:
			return []string{"check --application-id (the application (client) id, not its object id) and that the saved sign-in is in the application's tenant"}
		case ge.Status == http.StatusUnauthorized:
			return []string{"Microsoft Graph did not accept the saved sign-in's token: sign in again with 'certctl login', in the application's tenant and environment"}
		case ge.Status == http.StatusForbidden && ge.Request == appcred.RequestUpdate:
			return []string{"--bootstrap needs a sign-in allowed to update the application: an owner of the app registration, or an identity with Application.ReadWrite.All"}
		case ge.Status == http.StatusForbidden:
			return []string{"the saved sign-in may not read or change this application: sign in as the application itself, or as an identity with Application.Read.All (to list) or Application.ReadWrite.OwnedBy"}
		}
	case errors.As(err, &snf):
		var out []string
		if near := closest(snf.err.Name, snf.known); len(near) > 0 {
			out = append(out, "did you mean "+orList(near)+"?")
		}
		if snf.canCreate {
			out = append(out, "to make a new store, add --create")
		}
		return out
	case errors.Is(err, platform.ErrNoHome):
		return []string{"set CERTCTL_STORE_DIR or pass --store-dir to say where the store lives, and CERTCTL_CONFIG_DIR for the sign-in context"}
	case errors.Is(err, certstore.ErrNotFound):
		return []string{"'certctl list' shows the thumbprints in the store; use --store to look in another store"}
	case errors.Is(err, certstore.ErrNotExportable):
		return []string{"Windows releases a key only if it was imported with --exportable (Import-PfxCertificate -Exportable); --no-key exports the certificate alone"}
	case errors.Is(err, certstore.ErrNoStoreDir):
		return []string{"on Windows leave --store-dir and CERTCTL_STORE_DIR unset"}
	case errors.Is(err, login.ErrNoContext):
		return []string{"sign in first with 'certctl login'"}
	case errors.Is(err, login.ErrUnknownContext):
		return []string{"'certctl context list' shows the saved sign-ins"}
	case errors.Is(err, login.ErrNoSubscriptions):
		return []string{"--allow-no-subscriptions signs in at tenant level; or check the account's role assignments"}
	case errors.Is(err, login.ErrUnknownSubscription):
		return []string{"'certctl subscription list' shows the subscriptions of the current sign-in"}
	case errors.Is(err, login.ErrAccessTokenExpired):
		return []string{"get a new access token and sign in with it: certctl login --access-token-file FILE --account-id ID"}
	case errors.Is(err, login.ErrRefreshTokenFile):
		return []string{"'certctl consent ... --refresh-token-file FILE' signs in once interactively and writes a refresh token"}
	case errors.Is(err, login.ErrRedirectPort):
		return []string{"pick a free port with --redirect-port, or use --use-device-code"}
	case errors.Is(err, login.ErrUnknownEnvironment):
		return []string{"'certctl environment list' shows the environments; 'certctl environment add' registers another"}
	case errors.As(err, &se):
		if h := aadstsHints[se.Code]; h != "" {
			return []string{h}
		}
	case errors.As(err, new(*login.NetworkError)):
		return []string{"check the network, a proxy (HTTPS_PROXY) and --environment"}
	case errors.As(err, &ce) && !errors.Is(err, platform.ErrUnsafePermissions):
		return []string{"run 'certctl logout --all' and sign in again"}
	case errors.As(err, &ue):
		if ue.hint != "" {
			return []string{ue.hint}
		}
		return []string{"run 'certctl help' or 'certctl COMMAND --help' for usage"}
	}
	return nil
}

// aadstsHints say what to do about the Entra ID refusals people meet most,
// by AADSTS code.
var aadstsHints = map[int]string{
	700027:  "the certificate is not registered on the application: upload its public part (certctl export THUMBPRINT --out app.crt --no-key) under Certificates & secrets of the app registration",
	7000215: "the client secret is wrong: check that you passed the secret's value, not its id, or create a new secret",
	7000222: "the client secret has expired: create a new one under Certificates & secrets of the app registration",
	700016:  "no application with that id in the tenant: check --application-id and --tenant, and that the app is registered in this tenant",
	90002:   "the tenant does not exist: check --tenant (a tenant id or a domain such as contoso.onmicrosoft.com) and --environment",
	900023:  "the tenant is not a valid tenant id or domain: check --tenant",
	700024:  "the client assertion is not within its valid time range: check the machine's clock",
	50011:   "the redirect URI is not registered for the application",
	50012:   "the assertion was refused: its signature, audience or certificate does not match what the application has registered",
	7000112: "the application is disabled in the tenant",
	70000:   "the refresh token is not valid (revoked, already used, or not a refresh token): run 'certctl consent' again to get a new one",
	70008:   "the refresh token expired or was revoked: run 'certctl consent' again to get a new one",
	700082:  "the refresh token expired after a long time unused: run 'certctl consent' again to get a new one",
	50173:   "the refresh token was revoked (a password change or reset, or sessions revoked by an administrator): run 'certctl consent' again to get a new one",
	700007:  "the refresh token was issued to another application: run 'certctl consent' with this --application-id",
	50076:   "multi-factor authentication is required: sign in interactively",
	53003:   "blocked by Conditional Access policy",
	50196:   "Entra ID is throttling or temporarily unavailable: wait a minute and try again",
	70021:   "no federated identity credential on the application matches the token's issuer, subject and audience",
	700211:  "the federated token's issuer is not registered on the application",
	700212:  "the federated token's audience is not the one registered on the application (usually api://AzureADTokenExchange)",
	700213:  "the federated token's subject is not the one registered on the application",
	7000272: "the federated token has expired: get a fresh one from the identity provider",
	50034:   "the user account does not exist in this tenant",
	50126:   "the user name or password is wrong",
}
