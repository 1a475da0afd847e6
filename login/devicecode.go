package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// deviceCode signs a person in with the device code flow, as the client
// (confidential when o has a credential): it shows the code through
// o.DeviceCodePrompt and polls the token endpoint until the person has
// signed in, the code expires or ctx ends.
func (c *oauth) deviceCode(ctx context.Context, scopes []string) (*userTokens, error) {
	form := url.Values{"client_id": {c.o.ClientID}, "scope": {scopeList(scopes)}}
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
		ExpiresIn  int    `json:"expires_in"`
		Interval   int    `json:"interval"`
		Message    string `json:"message"`
	}
	if err := c.post(ctx, c.o.Environment.DeviceCodeEndpoint(tenantOrOrganizations(c.o.Tenant)), staticForm(form), &dc); err != nil {
		return nil, err
	}
	if dc.DeviceCode == "" || dc.UserCode == "" {
		return nil, &ServiceError{Host: hostOf(c.o.Environment.AuthorityHost), Problem: "answered the device code request without a code"}
	}
	msg := dc.Message
	if msg == "" {
		msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", dc.URI, dc.UserCode)
	}
	if c.o.DeviceCodePrompt != nil {
		c.o.DeviceCodePrompt(msg)
	}
	interval := time.Duration(dc.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	deadline := c.o.now().Add(time.Duration(dc.ExpiresIn) * time.Second)
	for {
		tok, err := c.redeem(ctx, url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {dc.DeviceCode},
		})
		var se *SignInError
		if !errors.As(err, &se) {
			return tok, err
		}
		switch se.OAuthError {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second
		default:
			return nil, err
		}
		if dc.ExpiresIn > 0 && c.o.now().After(deadline) {
			return nil, fmt.Errorf("the device code expired before the sign-in was finished: %w", err)
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the sign-in with the device code: %w", ctx.Err())
		}
	}
}
