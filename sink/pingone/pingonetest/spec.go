package pingonetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// specDoc is a loaded OpenAPI document with a path matcher.
type specDoc struct {
	doc    *openapi3.T
	routes []specRoute
}

type specRoute struct {
	segs []string // template segments; "{x}" are parameters
	path string
	item *openapi3.PathItem
}

// specCache loads each spec file once per process: the PingOne spec is
// 1.4 MB and every test builds emulators. It is the one process-wide value
// in the package, immutable once loaded.
var specCache sync.Map // path -> *specLoad

type specLoad struct {
	once sync.Once
	doc  *specDoc
	err  error
}

func loadSpecDoc(path string) (*specDoc, error) {
	v, _ := specCache.LoadOrStore(path, &specLoad{})
	l := v.(*specLoad)
	l.once.Do(func() { l.doc, l.err = readSpecDoc(path) })
	return l.doc, l.err
}

func readSpecDoc(path string) (*specDoc, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	// The whole document does not pass doc.Validate (unrelated paths
	// conflict, some examples are invalid), so kin-openapi's routers cannot
	// be used; the servers are templated ({protocol}://{baseDomain}.{suffix}/v1)
	// anyway. Paths are matched here, below /v1.
	// Where the validator departs from SPEC, and why: relaxations.go.
	relaxDoc(doc)
	sd := &specDoc{doc: doc}
	for p, item := range doc.Paths.Map() {
		sd.routes = append(sd.routes, specRoute{segs: strings.Split(strings.Trim(p, "/"), "/"), path: p, item: item})
	}
	return sd, nil
}

// find matches a path below /v1 (most literal segments wins).
func (sd *specDoc) find(method, path string) (*routers.Route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *specRoute
	bestLit := -1
	var bestParams map[string]string
	for i := range sd.routes {
		r := &sd.routes[i]
		if len(r.segs) != len(segs) || r.item.GetOperation(method) == nil {
			continue
		}
		lit := 0
		params := map[string]string{}
		ok := true
		for j, s := range r.segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				params[s[1:len(s)-1]] = segs[j]
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit, bestParams = r, lit, params
		}
	}
	if best == nil {
		return nil, nil
	}
	return &routers.Route{Spec: sd.doc, Path: best.path, PathItem: best.item, Method: method, Operation: best.item.GetOperation(method)}, bestParams
}

// specValidator checks one emulator's traffic and keeps its violations.
type specValidator struct {
	doc  *specDoc
	opts *openapi3filter.Options

	mu   sync.Mutex
	list []string
}

func loadSpec(path string) (*specValidator, error) {
	doc, err := loadSpecDoc(path)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			h := in.RequestValidationInput.Request.Header.Get("Authorization")
			if scheme, tok, ok := strings.Cut(h, " "); !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
				return errors.New("no bearer token")
			}
			return nil
		},
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return "/" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
	})
	return &specValidator{doc: doc, opts: opts}, nil
}

func (v *specValidator) record(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 600 {
		msg = msg[:600] + "..."
	}
	v.mu.Lock()
	v.list = append(v.list, msg)
	v.mu.Unlock()
}

func (v *specValidator) violations() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.list...)
}

// specRequest is a validated request, kept to validate its response.
type specRequest struct {
	input *openapi3filter.RequestValidationInput
	what  string
}

func (v *specValidator) validateRequest(r *http.Request, body []byte) *specRequest {
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	what := r.Method + " " + r.URL.Path
	route, params := v.doc.find(r.Method, path)
	if route == nil {
		v.record("request %s: no such operation in the spec", what)
		return nil
	}
	rc := r.Clone(r.Context())
	rc.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		rc.Body = http.NoBody
	}
	in := &openapi3filter.RequestValidationInput{Request: rc, PathParams: params, Route: route, Options: v.opts}
	if checkedByHand(r, route.Operation.OperationID) { // relaxations.go
		for _, p := range v.doc.checkScimPatch(r, body) {
			v.record("request %s (%s, %s): %s", what, route.Operation.OperationID, ScimPatchMediaType, p)
		}
		return &specRequest{input: in, what: what}
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		v.record("request %s (%s): %v", what, route.Operation.OperationID, err)
	}
	return &specRequest{input: in, what: what}
}

func (v *specValidator) validateResponse(sr *specRequest, status int, header http.Header, body []byte) {
	if unvalidatedStatus(status) { // relaxations.go
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: sr.input, Status: status, Header: header, Options: v.opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		v.record("response %s -> %d: %v", sr.what, status, err)
	}
}
