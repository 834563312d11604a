package pingone

import (
	"context"
	"net/http"
)

// Outcome is PingOne's answer to the last attempt of one call: its HTTP
// status (0 when no answer came) and the correlation id it gave the
// request, for the journal. A call whose ctx carries one (WithOutcome)
// fills it in; an error answer's id is also in the *APIError.
type Outcome struct {
	Status        int
	CorrelationID string
}

type outcomeKey struct{}

// WithOutcome returns ctx carrying o, which the client's calls under ctx
// fill in. Use one per call: concurrent calls would overwrite each other.
func WithOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

// correlationHeader is the response header PingOne names a request's
// correlation id in (its error bodies carry the same id as "id").
const correlationHeader = "Correlation-Id"

// recordOutcome fills in the Outcome ctx carries, if any.
func recordOutcome(ctx context.Context, status int, h http.Header) {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	if o == nil {
		return
	}
	o.Status = status
	if h != nil {
		o.CorrelationID = h.Get(correlationHeader)
	}
}
