package pingonetest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
)

// serveToken is the worker app's token endpoint, POST /{env}/as/token
// (API-NOTES §2).
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	start := e.now()
	e.send(w, r, nil, "token", start, e.token(r), nil)
}

func oauthError(status int, code, desc string) *response {
	// §2 [U]: the token error body is taken to be RFC 6749 §5.2's.
	return &response{status: status, code: code, body: map[string]any{"error": code, "error_description": desc}}
}

func (e *Emulator) token(r *http.Request) *response {
	env := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/as/token")
	if env != e.opts.EnvironmentID {
		return notFound()
	}
	if r.Method != http.MethodPost {
		return methodNotAllowed()
	}
	if mediaType(r) != "application/x-www-form-urlencoded" {
		return oauthError(http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "malformed form body")
	}
	form := r.PostForm

	basicID, basicSecret, hasBasic := r.BasicAuth()
	if hasBasic {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		if v, err := url.QueryUnescape(basicID); err == nil {
			basicID = v
		}
		if v, err := url.QueryUnescape(basicSecret); err == nil {
			basicSecret = v
		}
	}
	postID, postSecret := form.Get("client_id"), form.Get("client_secret")
	hasPost := postSecret != ""

	var id, secret, method string
	switch {
	case hasBasic && hasPost:
		return oauthError(http.StatusBadRequest, "invalid_request", "more than one client authentication method was used")
	case hasBasic:
		id, secret, method = basicID, basicSecret, authBasic
	case hasPost:
		id, secret, method = postID, postSecret, authPost
	default:
		return e.invalidClient("client authentication is required")
	}
	if e.opts.AuthMethod != "" && e.opts.AuthMethod != method {
		// §2 [U]: using the other style than the app's tokenEndpointAuthMethod
		// fails like a wrong secret.
		return e.invalidClient("the client authentication method is not allowed for this application")
	}
	if id != e.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(e.opts.ClientSecret)) != 1 {
		return e.invalidClient("the client credentials are invalid")
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			return oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required")
		}
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "the grant type is not supported by this application")
	}

	tok := e.newToken()
	ttl := e.opts.TokenTTL
	e.mu.Lock()
	e.tokens[tok] = e.now().Add(ttl)
	e.mu.Unlock()
	resp := &response{status: http.StatusOK, body: map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(ttl / time.Second),
	}}
	resp.setHeader("Cache-Control", "no-store")
	resp.setHeader("Pragma", "no-cache")
	return resp
}

func (e *Emulator) invalidClient(desc string) *response {
	resp := oauthError(http.StatusUnauthorized, "invalid_client", desc)
	resp.setHeader("WWW-Authenticate", `Basic realm="PingOne"`)
	return resp
}

// newToken makes an opaque, JWT-looking token (three base64url parts). Only
// the emulator's token table gives it meaning.
func (e *Emulator) newToken() string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "emulator"})
	claims, _ := json.Marshal(map[string]any{
		"client_id": e.opts.ClientID, "env": e.opts.EnvironmentID, "jti": uuid.NewString(),
		"iat": e.now().Unix(), "exp": e.now().Add(e.opts.TokenTTL).Unix(),
	})
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// ExpireTokens makes every token issued so far expired.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	past := e.now().Add(-time.Second)
	for t := range e.tokens {
		e.tokens[t] = past
	}
}

// IssueToken returns a valid bearer token without a token request, for tests
// that exercise the API directly.
func (e *Emulator) IssueToken() string {
	tok := e.newToken()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[tok] = e.now().Add(e.opts.TokenTTL)
	return tok
}

// authenticate checks the bearer token of an API request (§1, §6b 401).
func (e *Emulator) authenticate(r *http.Request) *response {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return accessFailed("The request could not be completed. An access token is required.")
	}
	tok = strings.TrimSpace(tok)
	e.mu.Lock()
	exp, known := e.tokens[tok]
	now := e.now()
	if known && !now.Before(exp) && now.Sub(exp) > time.Hour {
		delete(e.tokens, tok) // long dead; keep the table small
	}
	e.mu.Unlock()
	if !known {
		return accessFailed("The request could not be completed. The access token is invalid.")
	}
	if !now.Before(exp) {
		return accessFailed("The request could not be completed. The access token has expired.")
	}
	return nil
}

func accessFailed(msg string) *response {
	resp := p1Error(http.StatusUnauthorized, "ACCESS_FAILED", msg,
		detail{Code: "INVALID_TOKEN", Message: msg})
	resp.setHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
	return resp
}
