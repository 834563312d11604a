package pingone

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// refreshMargin is how long before its expiry a token is replaced, so no
// request leaves with a token about to die in flight.
const refreshMargin = time.Minute

// tokenSource caches the worker app's access token. Unlike
// oauth2.ReuseTokenSource it can drop a token the API refused (a 401
// mid-run), and it reads expiry with the client's clock.
type tokenSource struct {
	cc       clientcredentials.Config
	http     *http.Client
	timeout  time.Duration
	now      func() time.Time
	st       *stats
	clientID string
	tokenURL string

	// mu is held during a fetch, so concurrent callers wait for one token
	// instead of each asking for their own.
	mu      sync.Mutex
	access  string
	refresh time.Time // replace the token after this instant (zero: never)
}

func newTokenSource(cfg *Config, h *http.Client, now func() time.Time, st *stats) *tokenSource {
	style := oauth2.AuthStyleInHeader
	if cfg.AuthMethod == AuthClientSecretPost {
		style = oauth2.AuthStyleInParams
	}
	return &tokenSource{
		cc: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret.Reveal(),
			TokenURL:     cfg.tokenURL(),
			AuthStyle:    style,
		},
		http:     h,
		timeout:  cfg.Timeout,
		now:      now,
		st:       st,
		clientID: cfg.ClientID,
		tokenURL: cfg.tokenURL(),
	}
}

// token returns a valid access token, fetching one when there is none or
// the cached one is within refreshMargin of its expiry.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.access != "" && (ts.refresh.IsZero() || ts.now().Before(ts.refresh)) {
		return ts.access, nil
	}
	ts.access = ""
	fctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, ts.http), ts.timeout)
	defer cancel()
	ts.st.update(func(s *Stats) { s.TokenFetches++ })
	tok, err := ts.cc.Token(fctx)
	if err != nil {
		return "", ts.authError(err)
	}
	ts.access = tok.AccessToken
	ts.refresh = time.Time{}
	if !tok.Expiry.IsZero() {
		// oauth2 computed Expiry from expires_in with the wall clock;
		// re-anchor it on ours.
		ttl := time.Until(tok.Expiry)
		margin := min(refreshMargin, ttl/2)
		ts.refresh = ts.now().Add(ttl - margin)
	}
	return ts.access, nil
}

// invalidate drops access if it is still the cached token (another
// goroutine may already have replaced it).
func (ts *tokenSource) invalidate(access string) {
	ts.mu.Lock()
	if ts.access == access {
		ts.access = ""
	}
	ts.mu.Unlock()
}

func (ts *tokenSource) authError(err error) *AuthError {
	ae := &AuthError{ClientID: ts.clientID, TokenURL: ts.tokenURL, Err: err}
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		ae.Err = redirect // not net/http's url.Error quoting the Location
		return ae
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil {
			ae.Status = re.Response.StatusCode
		}
		ae.Code, ae.Description = re.ErrorCode, re.ErrorDescription
		// RetrieveError's own text quotes the response body; keep the
		// chain but not that text.
		ae.Err = errors.New("token endpoint refused the request")
	}
	return ae
}
