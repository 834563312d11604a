package pingonetest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// Options configures an Emulator. The zero value is usable.
type Options struct {
	// EnvironmentID is the one environment the emulator serves. Default: a
	// random UUID.
	EnvironmentID string
	// ClientID and ClientSecret are the worker app's credentials. Defaults:
	// "syncd-test-client" and "syncd-test-secret".
	ClientID, ClientSecret string
	// AuthMethod is the app's tokenEndpointAuthMethod: "client_secret_basic",
	// "client_secret_post", or "" to accept both (API-NOTES §2).
	AuthMethod string
	// TokenTTL is the access-token lifetime, reported as expires_in. Default
	// 1h (§2). An expired token gets 401 ACCESS_FAILED / INVALID_TOKEN.
	TokenTTL time.Duration
	// Populations are created at start; the first is the default population.
	// Default: ["Default"].
	Populations []string
	// CustomAttributes are custom STRING attributes defined in the User
	// schema; users carry them as top-level members (§4).
	CustomAttributes []string
	// RateLimit is the API token bucket's rate in requests per second and
	// Burst its size (0 rate = unlimited; 0 burst = ceil(rate)). Excess
	// requests get 429 REQUEST_LIMITED with Retry-After (§7).
	RateLimit float64
	Burst     int
	// FaultRate is the fraction of API requests answered 503 or 500
	// UNEXPECTED_ERROR without doing any work.
	FaultRate float64
	// LostResponseRate is the fraction of successful writes that are
	// committed and then answered by dropping the connection.
	LostResponseRate float64
	// Latency is added to every API request (honouring the request context).
	Latency time.Duration
	// Seed seeds the fault and loss dice. Default 1.
	Seed int64
	// MaxPageSize caps list pages whatever limit asks. Default 200 (§3c).
	MaxPageSize int
	// SpecFile, when set, is an OpenAPI file every request and response is
	// validated against; violations are recorded (SpecViolations), not fatal.
	// Where validation departs from the file: relaxations.go.
	SpecFile string
	// SpecSample, above 1, validates only one API request (and its
	// response) in SpecSample, the first included: validation costs about
	// 2 ms of CPU per request, which would distort a benchmark's figures.
	// Tests validate everything (0 or 1); a benchmark that samples has a
	// test that runs it with full validation.
	SpecSample int
	// StrictSpec makes NewServer fail the test at cleanup for every recorded
	// spec violation (request or response). Needs SpecFile.
	StrictSpec bool
	// Logf, when set, receives one line per request.
	Logf func(format string, args ...any)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Emulator is an in-process PingOne double. It implements http.Handler,
// serving both the token endpoint (/{env}/as/token) and the API (/v1/...).
// It is safe for concurrent use.
type Emulator struct {
	opts   Options
	now    func() time.Time
	logf   func(format string, args ...any)
	cursor []byte // HMAC key binding cursors to this emulator
	spec   *specValidator

	mu          sync.Mutex // guards everything below
	baseURL     string     // used to render _links outside a request
	tokens      map[string]time.Time
	users       map[string]*user
	order       []*user           // users by seq (creation order)
	byName      map[string]string // usernameKey -> user id
	seq         uint64
	populations map[string]*population
	groups      map[string]*group
	groupOrder  []*group // by seq (creation order)
	popOrder    []string
	schemaID    string
	attrIDs     map[string]string
	custom      map[string]bool
	customOrder []string
	limiter     *rate.Limiter
	faultRate   float64
	lostRate    float64
	latency     time.Duration
	dice        *mrand.Rand
	stalled     chan struct{} // non-nil while Stall holds API requests
	answersHeld chan struct{} // non-nil while StallAnswers holds API answers
	stats       Stats
	log         []LoggedRequest

	inflight atomic.Int64
	specSeen atomic.Int64 // API requests seen by the spec sampler
}

// Stats are the emulator's counters since start or the last ResetStats.
type Stats struct {
	// Requests counts every answered request, token requests included (a
	// request abandoned by its client during the added latency is neither
	// answered nor counted).
	Requests int
	// TokenRequests counts requests to the token endpoint.
	TokenRequests int
	// Writes counts successful POST/PUT/PATCH/DELETE API calls (lost
	// responses included: the write happened).
	Writes int
	// ByStatus counts responses by HTTP status (lost responses under 0).
	ByStatus map[int]int
	// ByOperation counts requests by operation (the spec's operationId,
	// "token", or "unknown").
	ByOperation map[string]int
	// MaxConcurrent is the most API requests seen in flight at once.
	MaxConcurrent int
	// RateLimited counts 429 answers.
	RateLimited int
	// LostResponses counts writes committed and answered with a dropped
	// connection.
	LostResponses int
	// Faults counts injected 500/503 answers.
	Faults int
}

// LoggedRequest is one entry of the request log.
type LoggedRequest struct {
	Method    string
	Path      string
	Query     string
	Operation string
	// Status is the HTTP status sent; 0 for a lost response.
	Status int
	// Code is the P1Error code of an error answer ("" otherwise).
	Code string
	// Time is when the request arrived; Duration how long it took.
	Time     time.Time
	Duration time.Duration
	// RetryAfter is the Retry-After header sent, in seconds (0 = none).
	RetryAfter int
	// Fault marks an injected 500/503, Lost a dropped response.
	Fault, Lost bool
	// TransactionID is the X-Ping-External-Transaction-ID header received.
	TransactionID string
	// RemoteAddr is the client's address.
	RemoteAddr string
}

// New builds an Emulator from opts.
func New(opts Options) (*Emulator, error) {
	if opts.EnvironmentID == "" {
		opts.EnvironmentID = uuid.NewString()
	}
	if opts.ClientID == "" {
		opts.ClientID = "syncd-test-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "syncd-test-secret"
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if len(opts.Populations) == 0 {
		opts.Populations = []string{"Default"}
	}
	if opts.MaxPageSize == 0 {
		opts.MaxPageSize = 200
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("pingonetest: cursor key: %w", err)
	}
	e := &Emulator{
		opts:        opts,
		now:         now,
		logf:        opts.Logf,
		cursor:      key,
		baseURL:     "https://api.pingone.com/v1",
		tokens:      map[string]time.Time{},
		users:       map[string]*user{},
		byName:      map[string]string{},
		populations: map[string]*population{},
		groups:      map[string]*group{},
		schemaID:    uuid.NewString(),
		attrIDs:     map[string]string{},
		custom:      map[string]bool{},
		faultRate:   opts.FaultRate,
		lostRate:    opts.LostResponseRate,
		latency:     opts.Latency,
		dice:        mrand.New(mrand.NewSource(opts.Seed)),
	}
	e.stats = newStats()
	e.limiter = newLimiter(opts.RateLimit, opts.Burst)
	for _, name := range opts.Populations {
		if _, err := e.createPopulationLocked(name, "", len(e.popOrder) == 0); err != nil {
			return nil, fmt.Errorf("pingonetest: population %q: %w", name, err)
		}
	}
	for _, name := range opts.CustomAttributes {
		if err := e.defineAttributeLocked(name); err != nil {
			return nil, fmt.Errorf("pingonetest: custom attribute %q: %w", name, err)
		}
	}
	if opts.SpecFile != "" {
		sv, err := loadSpec(opts.SpecFile)
		if err != nil {
			return nil, fmt.Errorf("pingonetest: spec %s: %w", opts.SpecFile, err)
		}
		e.spec = sv
	}
	return e, nil
}

// Validate reports the first problem with opts (defaults are applied by
// New, so zero values are fine).
func (o Options) Validate() error {
	switch o.AuthMethod {
	case "", authBasic, authPost:
	default:
		return fmt.Errorf("pingonetest: auth method %q: want %q, %q or empty", o.AuthMethod, authBasic, authPost)
	}
	if o.RateLimit < 0 || o.Burst < 0 || math.IsNaN(o.RateLimit) {
		return errors.New("pingonetest: rate limit and burst must not be negative")
	}
	if o.Latency < 0 || o.TokenTTL < 0 || o.MaxPageSize < 0 {
		return errors.New("pingonetest: latency, token TTL and max page size must not be negative")
	}
	if o.SpecSample < 0 {
		return errors.New("pingonetest: spec sample must not be negative")
	}
	if o.SpecSample > 1 && o.SpecFile == "" {
		return errors.New("pingonetest: spec sample without a spec file")
	}
	if o.MaxPageSize > 1000 {
		return errors.New("pingonetest: max page size above the API's limit maximum (1000)")
	}
	if err := checkRate("fault rate", o.FaultRate); err != nil {
		return err
	}
	return checkRate("lost response rate", o.LostResponseRate)
}

func checkRate(what string, v float64) error {
	if v < 0 || v > 1 || math.IsNaN(v) {
		return fmt.Errorf("pingonetest: %s %v: want 0..1", what, v)
	}
	return nil
}

func newStats() Stats {
	return Stats{ByStatus: map[int]int{}, ByOperation: map[string]int{}}
}

func newLimiter(rps float64, burst int) *rate.Limiter {
	if rps <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(rps))
	}
	return rate.NewLimiter(rate.Limit(rps), burst)
}

// EnvironmentID returns the environment the emulator serves.
func (e *Emulator) EnvironmentID() string { return e.opts.EnvironmentID }

// ClientID returns the worker app's client id.
func (e *Emulator) ClientID() string { return e.opts.ClientID }

// ClientSecret returns the worker app's client secret.
func (e *Emulator) ClientSecret() string { return e.opts.ClientSecret }

// SetBaseURL sets the API base (ending in /v1) used to render _links in
// objects returned outside a request (Users, User). NewServer sets it.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimSuffix(u, "/")
}

// SetFaults changes the fault rate, lost-response rate and added latency at
// run time. Rates outside 0..1 are clamped.
func (e *Emulator) SetFaults(faultRate, lostResponseRate float64, latency time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faultRate = clamp01(faultRate)
	e.lostRate = clamp01(lostResponseRate)
	e.latency = max(latency, 0)
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return min(v, 1)
}

// SetRateLimit replaces the API rate limiter (rps 0 = unlimited).
func (e *Emulator) SetRateLimit(rps float64, burst int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limiter = newLimiter(rps, burst)
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.ByStatus = make(map[int]int, len(e.stats.ByStatus))
	for k, v := range e.stats.ByStatus {
		s.ByStatus[k] = v
	}
	s.ByOperation = make(map[string]int, len(e.stats.ByOperation))
	for k, v := range e.stats.ByOperation {
		s.ByOperation[k] = v
	}
	return s
}

// ResetStats zeroes the counters and clears the request log.
func (e *Emulator) ResetStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats = newStats()
	e.log = nil
}

// Requests returns a copy of the request log, in order of completion.
func (e *Emulator) Requests() []LoggedRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]LoggedRequest(nil), e.log...)
}

// SpecViolations returns the recorded spec violations ("METHOD /path: ...");
// empty when SpecFile is unset.
func (e *Emulator) SpecViolations() []string {
	if e.spec == nil {
		return nil
	}
	return e.spec.violations()
}

// ServeHTTP routes token requests and API requests.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/"):
		e.serveAPI(w, r)
	case strings.HasSuffix(r.URL.Path, "/as/token"):
		e.serveToken(w, r)
	default:
		start := e.now()
		resp := p1Error(http.StatusNotFound, "NOT_FOUND", "The requested resource was not found.")
		e.send(w, r, nil, "unknown", start, resp, nil)
	}
}

// response is what a handler produces; serveAPI turns it into bytes.
type response struct {
	status int
	body   any // JSON-encoded unless nil
	header http.Header
	code   string // P1Error code, for the log
	fault  bool
}

func (r *response) setHeader(k, v string) *response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}

// apiRequest is a parsed API request handed to handlers.
type apiRequest struct {
	r      *http.Request
	body   []byte
	base   string // absolute API base, ".../v1", from the request's Host
	params map[string]string
}

// specSampled reports whether this API request is one SpecSample validates.
func (e *Emulator) specSampled() bool {
	n := e.specSeen.Add(1) - 1
	return e.opts.SpecSample <= 1 || n%int64(e.opts.SpecSample) == 0
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := e.now()
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && r.Method == http.MethodPost {
		// §1: PingOne honours X-HTTP-Method-Override (on POST, as is usual).
		r = r.Clone(r.Context())
		r.Method = strings.ToUpper(strings.TrimSpace(o))
	}
	n := e.inflight.Add(1)
	defer e.inflight.Add(-1)
	e.mu.Lock()
	e.stats.MaxConcurrent = max(e.stats.MaxConcurrent, int(n))
	latency, stalled := e.latency, e.stalled
	e.mu.Unlock()

	if stalled != nil {
		select {
		case <-stalled:
		case <-r.Context().Done():
			return // the client went away; nothing to answer
		}
	}

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client went away; nothing to answer
		}
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	rt := e.route(r.Method, strings.TrimPrefix(r.URL.Path, "/v1"))
	if err != nil {
		e.send(w, r, body, rt.op, start, p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The request body could not be read."), nil)
		return
	}
	var specReq *specRequest
	if e.spec != nil && e.specSampled() {
		specReq = e.spec.validateRequest(r, body)
	}
	ar := &apiRequest{r: r, body: body, base: requestBase(r), params: rt.params}

	resp := e.gate(r, ar, rt)
	if resp == nil {
		resp = rt.handler(e, ar)
	}
	e.send(w, r, body, rt.op, start, resp, specReq)
}

// gate applies, in order, the rate limit (§7), bearer authentication (§6b
// 401), the environment check (§6b 403) and injected faults. A non-nil
// answer stops the request before the handler runs.
func (e *Emulator) gate(r *http.Request, ar *apiRequest, rt route) *response {
	e.mu.Lock()
	lim := e.limiter
	e.mu.Unlock()
	if lim != nil {
		now := e.now()
		if !lim.AllowN(now, 1) {
			// Retry-After: whole seconds until a token is back, at least 1.
			wait := (1 - lim.TokensAt(now)) / float64(lim.Limit())
			secs := max(1, int(math.Ceil(wait)))
			resp := p1Error(http.StatusTooManyRequests, "REQUEST_LIMITED",
				"The request could not be completed. Too many requests were made; retry after the time given in Retry-After.",
				detail{Code: "LIMIT_EXCEEDED", Message: "The rate limit was exceeded.",
					InnerError: map[string]any{"retryAfter": now.Add(time.Duration(secs) * time.Second).UTC().Format(timeFormat)}})
			resp.setHeader("Retry-After", strconv.Itoa(secs))
			return resp
		}
	}
	if resp := e.authenticate(r); resp != nil {
		return resp
	}
	if env, ok := ar.params["env"]; ok && env != e.opts.EnvironmentID {
		// §6b: PingOne answers 403 when the environment does not exist or the
		// worker has no role in it (P14C-63085).
		return p1Error(http.StatusForbidden, "ACCESS_FAILED",
			"The request could not be completed. You do not have access to this resource.",
			detail{Code: "INSUFFICIENT_PERMISSIONS", Message: "The actor attempting to perform the request is not authorized."})
	}
	if rt.op == "unknown" {
		return nil
	}
	e.mu.Lock()
	fault := e.faultRate > 0 && e.dice.Float64() < e.faultRate
	var use503, retry bool
	if fault {
		use503 = e.dice.Intn(2) == 0
		retry = e.dice.Intn(2) == 0
	}
	e.mu.Unlock()
	if !fault {
		return nil
	}
	if use503 {
		// §6b: 502/503 are generic gateway answers; 503 may carry Retry-After.
		resp := &response{status: http.StatusServiceUnavailable, body: map[string]any{
			"id": uuid.NewString(), "code": "SERVICE_UNAVAILABLE", "message": "The service is temporarily unavailable.",
		}, code: "SERVICE_UNAVAILABLE", fault: true}
		if retry {
			resp.setHeader("Retry-After", "1")
		}
		return resp
	}
	resp := p1Error(http.StatusInternalServerError, "UNEXPECTED_ERROR", "An unexpected error occurred.")
	resp.fault = true
	return resp
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1"
}

// isWrite reports whether a method changes state.
func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// send encodes resp, validates it against the spec, logs it and writes it
// (or, for a lost response, drops the connection after the write committed).
func (e *Emulator) send(w http.ResponseWriter, r *http.Request, reqBody []byte, op string, start time.Time, resp *response, specReq *specRequest) {
	var out []byte
	if resp.body != nil {
		var err error
		out, err = json.Marshal(resp.body)
		if err != nil {
			resp = p1Error(http.StatusInternalServerError, "UNEXPECTED_ERROR", "encoding response: "+err.Error())
			out, _ = json.Marshal(resp.body)
		}
	}
	header := http.Header{}
	for k, v := range resp.header {
		header[k] = v
	}
	if out != nil {
		header.Set("Content-Type", "application/json")
	}
	if specReq != nil {
		e.spec.validateResponse(specReq, resp.status, header, out)
	}
	isToken := op == "token"
	success := resp.status >= 200 && resp.status < 300
	write := !isToken && success && isWrite(r.Method) && strings.HasPrefix(r.URL.Path, "/v1/")
	if !isToken && e.holdAnswer(r) {
		// StallAnswers: the work is done, but the client gave up waiting
		// for its answer.
		e.mu.Lock()
		if write {
			e.stats.Writes++
		}
		e.stats.LostResponses++
		e.mu.Unlock()
		return
	}

	lost := false
	e.mu.Lock()
	if write && e.lostRate > 0 && e.dice.Float64() < e.lostRate {
		lost = true
	}
	entry := LoggedRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Operation: op,
		Status: resp.status, Code: resp.code, Time: start, Duration: e.now().Sub(start),
		Fault: resp.fault, Lost: lost, RemoteAddr: r.RemoteAddr,
		TransactionID: r.Header.Get("X-Ping-External-Transaction-ID"),
	}
	if ra := header.Get("Retry-After"); ra != "" {
		entry.RetryAfter, _ = strconv.Atoi(ra)
	}
	if lost {
		entry.Status = 0
		e.stats.LostResponses++
	}
	e.log = append(e.log, entry)
	e.stats.Requests++
	if isToken {
		e.stats.TokenRequests++
	}
	if write {
		e.stats.Writes++
	}
	e.stats.ByStatus[entry.Status]++
	e.stats.ByOperation[op]++
	if resp.status == http.StatusTooManyRequests {
		e.stats.RateLimited++
	}
	if resp.fault {
		e.stats.Faults++
	}
	e.mu.Unlock()
	if e.logf != nil {
		e.logf("pingone-emulator: %s %s -> %d %s lost=%v (%s)", r.Method, r.URL.RequestURI(), resp.status, resp.code, lost, entry.Duration)
	}

	if lost {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// No hijacking (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	if out != nil {
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	}
	w.WriteHeader(resp.status)
	if out != nil {
		_, _ = w.Write(out)
	}
}

// timeFormat renders timestamps the way PingOne does (UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z"

func (e *Emulator) stamp() string { return e.now().UTC().Format(timeFormat) }

// detail is one entry of P1Error.details (§6a).
type detail struct {
	Code       string         `json:"code"`
	Target     string         `json:"target,omitempty"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innerError,omitempty"`
}

// p1Error builds an error response in the P1Error shape with a fresh id
// (§6a).
func p1Error(status int, code, message string, details ...detail) *response {
	body := map[string]any{"id": uuid.NewString(), "code": code, "message": message}
	if len(details) > 0 {
		body["details"] = details
	}
	return &response{status: status, body: body, code: code}
}

// invalidData is §6a's 400 INVALID_DATA with details.
func invalidData(details ...detail) *response {
	return p1Error(http.StatusBadRequest, "INVALID_DATA",
		"The request could not be completed. One or more validation errors were in the request.", details...)
}

func notFound() *response {
	return p1Error(http.StatusNotFound, "NOT_FOUND", "The request could not be completed. The requested resource was not found.")
}

func methodNotAllowed() *response {
	// §6b: 405's code is [U]; METHOD_NOT_ALLOWED is a guess.
	return p1Error(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "The request could not be completed. The HTTP method is not supported on this resource.")
}

// decodeObject parses a JSON object body. Numbers stay json.Number.
func decodeObject(body []byte) (map[string]any, *response) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The request body is not valid JSON: "+err.Error())
	}
	if dec.More() {
		return nil, p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The request body holds more than one JSON value.")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The request body must be a JSON object.")
	}
	return m, nil
}

// mediaType returns the request's media type, lower-cased, without
// parameters.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// requireJSON answers 415 INVALID_REQUEST unless the body is application/json
// (§6b 415).
func requireJSON(r *http.Request, also ...string) *response {
	mt := mediaType(r)
	if mt == "application/json" {
		return nil
	}
	for _, a := range also {
		if mt == a {
			return nil
		}
	}
	return p1Error(http.StatusUnsupportedMediaType, "INVALID_REQUEST",
		fmt.Sprintf("The request could not be completed. Content-Type %q is not supported here.", r.Header.Get("Content-Type")))
}
