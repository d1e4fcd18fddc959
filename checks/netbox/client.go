package netbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The HTTP side: one request, its authentication and what its failure means. The decoding reads
// only the fields cutover uses and ignores the rest, so a NetBox release that adds fields (4.0 to
// 4.7 all did) or moves one cutover knows both places of (a prefix's site became its scope in 4.2)
// still decodes.

// maxBody bounds one response: a page of 500 objects is well under 4 MB.
const maxBody = 64 << 20

// authorization is the header for a token: NetBox 4.5+ v2 tokens ("nbt_<key>.<token>") go as
// Bearer, v1 tokens (40 hex) as Token. A token given with its scheme is used as given.
func authorization(token string) string {
	switch {
	case strings.HasPrefix(token, "Bearer ") || strings.HasPrefix(token, "Token "):
		return token
	case strings.HasPrefix(token, "nbt_"):
		return "Bearer " + token
	}
	return "Token " + token
}

// call sends one request to path (below /api/) and decodes the JSON answer into out.
func (c *Client) call(ctx context.Context, what, method, path string, q url.Values, body, out any) error {
	u := c.base + "/api/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("NetBox %s: %s: %w", c.base, what, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("NetBox %s: %s: %w", c.base, what, err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", "en-US")
	req.Header.Set("User-Agent", "cutover")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, as NetBox's base
		}
		if strings.Contains(err.Error(), "certificate") {
			return fmt.Errorf("NetBox %s: %s: %w (set NETBOX_CA_CERTS to the CA that signed it)", c.base, what, err)
		}
		return fmt.Errorf("NetBox %s: %s: %w", c.base, what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("NetBox %s: %s: reading the answer: %w", c.base, what, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("NetBox %s: %s: answer larger than %d MB", c.base, what, maxBody>>20)
	}
	if resp.StatusCode/100 != 2 {
		return c.statusError(what, resp, data)
	}
	if out == nil { // an answer not asked for (a DELETE's is empty)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("NetBox %s: %s: the answer is not the JSON NetBox sends (%v): %s", c.base, what, err, snippet(data))
	}
	return nil
}

// statusError says what an HTTP error means and what to fix.
func (c *Client) statusError(what string, resp *http.Response, body []byte) error {
	detail := snippet(body)
	var d struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &d) == nil && d.Detail != "" {
		detail = d.Detail
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("NetBox %s: %s: token rejected (%s %s); check NETBOX_TOKEN and its permissions (a NetBox 4.5+ v2 token is nbt_<key>.<token> and is sent as Bearer)", c.base, what, resp.Status, detail)
	case http.StatusNotFound:
		return fmt.Errorf("NetBox %s: %s: not found (%s); NETBOX_URL should be NetBox's root, as in https://netbox.example.com", c.base, what, resp.Request.URL.Path)
	}
	if detail != "" {
		return fmt.Errorf("NetBox %s: %s: %s: %s", c.base, what, resp.Status, detail)
	}
	return fmt.Errorf("NetBox %s: %s: %s", c.base, what, resp.Status)
}

// snippet is the start of a body for an error message, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// choice is a NetBox choice field: {"value": "active", "label": "Active"}; a bare string is read
// too.
type choice struct{ Value string }

func (c *choice) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.Value)
	}
	var v struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Value != nil {
		c.Value = fmt.Sprint(v.Value)
	}
	return nil
}

// ref is a nested object: what cutover reads of a VLAN, tenant, site, cluster, scope or interface.
type ref struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
	VID  int    `json:"vid"`
	VM   *ref   `json:"virtual_machine"`
}

// page is one page of a list.
type page[T any] struct {
	Count   int     `json:"count"`
	Next    *string `json:"next"`
	Results []T     `json:"results"`
}

// list fetches every page of path with q, asking by offset: the next link is not followed, so
// the token never goes to a host NETBOX_URL does not name.
func list[T any](ctx context.Context, c *Client, what, path string, q url.Values) ([]T, error) {
	var out []T
	for {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", fmt.Sprint(pageSize))
		qq.Set("offset", fmt.Sprint(len(out)))
		var p page[T]
		if err := c.call(ctx, what, http.MethodGet, path, qq, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Results...)
		if p.Next == nil || len(p.Results) == 0 || len(out) >= p.Count {
			return out, nil
		}
	}
}
