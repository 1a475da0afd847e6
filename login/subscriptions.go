package login

import (
	"context"
	"encoding/base64"
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

// ListSubscriptions lists the subscriptions the token can see, in
// Resource Manager's order.
func ListSubscriptions(ctx context.Context, o Options, accessToken string) ([]Subscription, error) {
	u := strings.TrimSuffix(o.Environment.ResourceManager, "/") + "/subscriptions?api-version=" + subscriptionsAPIVersion
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	g := newGuard(o, false)
	resp, err := g.Do(req)
	if r := g.failed(); r != nil {
		return nil, fmt.Errorf("list subscriptions: %w", r)
	}
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", explainNetwork(err, req.URL.Host))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("list subscriptions at %s: %w", req.URL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list subscriptions at %s: %s", req.URL.Host, resp.Status)
	}
	var page struct {
		Value []struct {
			ID    string `json:"subscriptionId"`
			Name  string `json:"displayName"`
			State string `json:"state"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("list subscriptions at %s: malformed answer: %w", req.URL.Host, err)
	}
	subs := make([]Subscription, 0, len(page.Value))
	for _, v := range page.Value {
		subs = append(subs, Subscription{ID: v.ID, Name: v.Name, State: v.State})
	}
	return subs, nil
}

// tenantOf reads the tid claim of an access token, for sign-ins (managed
// identity) that do not say the tenant up front. It does not verify the
// token: certctl only reports the value.
func tenantOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.TID
}
