package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// subscriptionsAPIVersion is the Resource Manager API version for listing
// subscriptions.
const subscriptionsAPIVersion = "2022-12-01"

// maxSubscriptionPages bounds how many pages of subscriptions certctl
// reads; Resource Manager pages hold hundreds each.
const maxSubscriptionPages = 1000

// ListSubscriptions lists the subscriptions the token can see, every page
// of them (nextLink), in Resource Manager's order.
func ListSubscriptions(ctx context.Context, o Options, accessToken string) ([]Subscription, error) {
	next := strings.TrimSuffix(o.Environment.ResourceManager, "/") + "/subscriptions?api-version=" + subscriptionsAPIVersion
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	g := newGuard(o, false)
	subs := []Subscription{}
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if page == maxSubscriptionPages || seen[next] {
			return nil, fmt.Errorf("list subscriptions: Resource Manager's answer goes on for over %d pages or repeats a page", page)
		}
		seen[next] = true
		var err error
		var more []Subscription
		if more, next, err = subscriptionPage(ctx, g, next, accessToken); err != nil {
			return nil, err
		}
		subs = append(subs, more...)
	}
	return subs, nil
}

// subscriptionPage reads one page of the subscriptions list and returns
// the next page's address, or "".
func subscriptionPage(ctx context.Context, g *guard, u, accessToken string) ([]Subscription, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("list subscriptions: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	g.reset()
	resp, err := g.Do(req)
	if r := g.failed(); r != nil {
		return nil, "", fmt.Errorf("list subscriptions: %w", r)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list subscriptions: %w", explainNetwork(err, req.URL.Host))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", fmt.Errorf("list subscriptions at %s: %w", req.URL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", &ARMError{Host: req.URL.Host, Status: resp.Status, Code: armErrorCode(body)}
	}
	var page struct {
		Value []struct {
			ID    string `json:"subscriptionId"`
			Name  string `json:"displayName"`
			State string `json:"state"`
		} `json:"value"`
		NextLink string `json:"nextLink"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("list subscriptions at %s: malformed answer: %w", req.URL.Host, err)
	}
	subs := make([]Subscription, 0, len(page.Value))
	for _, v := range page.Value {
		subs = append(subs, Subscription{ID: v.ID, Name: v.Name, State: v.State})
	}
	return subs, page.NextLink, nil
}

// ARMError is Resource Manager's refusal of a request, with its error
// code, such as ExpiredAuthenticationToken.
type ARMError struct {
	Host, Status, Code string
}

func (e *ARMError) Error() string {
	msg := fmt.Sprintf("Resource Manager at %s answered %s", e.Host, e.Status)
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	return msg
}

// armErrorCode reads the code of Resource Manager's error answer; only
// the code, which is a short identifier, never the message.
func armErrorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error.Code) > 100 || strings.IndexFunc(e.Error.Code, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.')
	}) >= 0 {
		return ""
	}
	return e.Error.Code
}

// tenantOf reads the tid claim of an access token, for sign-ins (managed
// identity) that do not say the tenant up front. It does not verify the
// token: certctl only reports the value.
func tenantOf(token string) string {
	var claims struct {
		TID string `json:"tid"`
	}
	jwtClaims(token, &claims)
	return claims.TID
}
