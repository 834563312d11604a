package pingone

import (
	"context"
	"net/http"
	"testing"
)

func TestOutcomeRecordsTheLastAttemptsStatusAndCorrelationID(t *testing.T) {
	t.Parallel()
	f := newFake(t,
		reply(http.StatusServiceUnavailable, `{"id":"c-1","code":"SERVICE_UNAVAILABLE","message":"busy"}`, "Correlation-Id", "c-1"),
		reply(http.StatusOK, `{}`, "Correlation-Id", "c-2"),
	)
	c, _ := newTestClient(t, f)
	var o Outcome
	if err := c.SetEnabled(WithOutcome(context.Background(), &o), "u1", false); err != nil {
		t.Fatal(err)
	}
	if o.Status != http.StatusOK || o.CorrelationID != "c-2" {
		t.Errorf("outcome = %+v, want the retried attempt's 200 and c-2", o)
	}
	// Without an Outcome in the context nothing is recorded, nothing breaks.
	f2 := newFake(t, reply(http.StatusOK, `{}`))
	c2, _ := newTestClient(t, f2)
	if err := c2.SetEnabled(context.Background(), "u1", true); err != nil {
		t.Fatal(err)
	}
}
