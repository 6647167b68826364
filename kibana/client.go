package kibana

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client talks to Kibana's saved objects and alerting APIs.
type Client struct {
	// URL is Kibana's base URL (https://kibana:5601).
	URL string
	// Space is the Kibana space; empty is the default space.
	Space    string
	APIKey   string
	Username string
	Password string
	HTTP     *http.Client
}

var spaceRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// NewClient checks the URL and space and builds the HTTP client: TLS
// verification on, with caPEM as the only roots when given.
func NewClient(baseURL, space string, caPEM []byte, insecure bool) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("kibana: --url must be an http(s) URL with a host")
	}
	if space != "" && !spaceRE.MatchString(space) {
		return nil, fmt.Errorf("kibana: space %q: a space id is lowercase letters, digits, '_' and '-'", space)
	}
	c := &Client{URL: strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), Space: space}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // explicit flag only
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("kibana: CA certificate: no PEM certificate found")
		}
		tlsCfg.RootCAs = pool
	}
	c.HTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsCfg}}
	return c, nil
}

func (c *Client) endpoint(path string) string {
	if c.Space != "" && c.Space != "default" {
		return c.URL + "/s/" + c.Space + path
	}
	return c.URL + path
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	// Kibana refuses state-changing API calls without this header (CSRF).
	req.Header.Set("kbn-xsrf", "true")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case c.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+c.APIKey)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		// url.Error names the URL, which holds no credentials here.
		return 0, nil, fmt.Errorf("kibana: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	return res.StatusCode, b, err
}

// ImportResult is the answer of the import API.
type ImportResult struct {
	Success      bool `json:"success"`
	SuccessCount int  `json:"successCount"`
	Errors       []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	} `json:"errors"`
}

// Import posts the NDJSON to POST /api/saved_objects/_import?overwrite=true
// as a multipart file (the import API's only form), replacing objects with
// the same ids.
func (c *Client) Import(ctx context.Context, ndjson []byte) (ImportResult, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "tweetflow.ndjson")
	if err != nil {
		return ImportResult{}, err
	}
	if _, err := fw.Write(ndjson); err != nil {
		return ImportResult{}, err
	}
	if err := mw.Close(); err != nil {
		return ImportResult{}, err
	}
	status, b, err := c.do(ctx, http.MethodPost, "/api/saved_objects/_import?overwrite=true", mw.FormDataContentType(), body.Bytes())
	if err != nil {
		return ImportResult{}, err
	}
	if status != http.StatusOK {
		return ImportResult{}, fmt.Errorf("kibana: import: status %d: %s", status, snippet(b))
	}
	var r ImportResult
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("kibana: import: bad answer: %w", err)
	}
	if !r.Success {
		var parts []string
		for _, e := range r.Errors {
			parts = append(parts, fmt.Sprintf("%s %s: %s", e.Type, e.ID, e.Error.Type))
		}
		return r, fmt.Errorf("kibana: import failed for %d object(s): %s", len(r.Errors), strings.Join(parts, "; "))
	}
	return r, nil
}

// PutRules makes the space's tweetflow rules exactly rules: each is created
// with the id RuleID(space, key) (POST /api/alerting/rule/{id}) or, when it
// exists (409), updated in place (PUT /api/alerting/rule/{id}, which takes
// no rule type, consumer or enabled); then the rules tagged RuleTag in the
// space that were not put are deleted, so a renamed or dropped threshold
// leaves no rule firing.
func (c *Client) PutRules(ctx context.Context, rules []Rule) error {
	keep := map[string]bool{}
	for _, r := range rules {
		if r.Key != "" {
			r.ID = RuleID(c.Space, r.Key)
		}
		keep[r.ID] = true
		b, _ := json.Marshal(r)
		status, resp, err := c.do(ctx, http.MethodPost, "/api/alerting/rule/"+r.ID, "application/json", b)
		if err != nil {
			return err
		}
		if status == http.StatusConflict {
			upd, _ := json.Marshal(map[string]any{"name": r.Name, "tags": r.Tags, "schedule": r.Schedule, "params": r.Params, "actions": r.Actions})
			status, resp, err = c.do(ctx, http.MethodPut, "/api/alerting/rule/"+r.ID, "application/json", upd)
			if err != nil {
				return err
			}
		}
		if status != http.StatusOK {
			return fmt.Errorf("kibana: rule %q (%s): status %d: %s", r.Name, r.ID, status, snippet(resp))
		}
	}
	stale, err := c.taggedRules(ctx)
	if err != nil {
		return err
	}
	for _, id := range stale {
		if keep[id] {
			continue
		}
		status, resp, err := c.do(ctx, http.MethodDelete, "/api/alerting/rule/"+id, "", nil)
		if err != nil {
			return err
		}
		if status != http.StatusOK && status != http.StatusNoContent && status != http.StatusNotFound {
			return fmt.Errorf("kibana: delete stale rule %s: status %d: %s", id, status, snippet(resp))
		}
	}
	return nil
}

// taggedRules lists the ids of the space's rules tagged RuleTag
// (GET /api/alerting/rules/_find), page by page.
func (c *Client) taggedRules(ctx context.Context) ([]string, error) {
	var ids []string
	for page := 1; ; page++ {
		q := url.Values{"per_page": {"100"}, "page": {strconv.Itoa(page)}, "filter": {"alert.attributes.tags:" + RuleTag}}
		status, b, err := c.do(ctx, http.MethodGet, "/api/alerting/rules/_find?"+q.Encode(), "", nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("kibana: find tweetflow rules: status %d: %s", status, snippet(b))
		}
		var r struct {
			Total int `json:"total"`
			Data  []struct {
				ID   string   `json:"id"`
				Tags []string `json:"tags"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("kibana: find tweetflow rules: bad answer: %w", err)
		}
		for _, d := range r.Data {
			if slices.Contains(d.Tags, RuleTag) {
				ids = append(ids, d.ID)
			}
		}
		if len(r.Data) == 0 || page*100 >= r.Total {
			return ids, nil
		}
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
