package pingone_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

const envID = "0f3e6a9c-7d1b-4c2e-9a8f-1b2c3d4e5f60"

// newEmulator starts an emulator that checks every request and response
// against the OpenAPI spec (with pingonetest's documented relaxations
// only), and fails the test at the end if any did not validate. In a
// benchmark it validates one request in benchSpecSample: validation costs
// about 2 ms of CPU per request, which would distort the figures; the
// tests run the same traffic with full validation.
func newEmulator(t testing.TB, opts pingonetest.Options) *pingonetest.Server {
	t.Helper()
	opts.SpecFile = pingonetest.SpecPath(t)
	if _, bench := t.(*testing.B); bench {
		opts.SpecSample = benchSpecSample
	}
	if opts.EnvironmentID == "" {
		opts.EnvironmentID = envID
	}
	srv := pingonetest.NewServer(t, opts)
	t.Cleanup(func() {
		if v := srv.SpecViolations(); len(v) > 0 {
			t.Errorf("%d requests or responses violate the spec, e.g.:\n%s", len(v), strings.Join(v[:min(len(v), 10)], "\n"))
		}
	})
	return srv
}

// benchSpecSample is how sparsely a benchmark's emulator validates.
const benchSpecSample = 100

func clientConfig(srv *pingonetest.Server) pingone.Config {
	return pingone.Config{
		APIURL:        srv.APIURL(),
		AuthURL:       srv.AuthURL(),
		EnvironmentID: srv.EnvironmentID(),
		ClientID:      srv.ClientID(),
		ClientSecret:  secret.New(srv.ClientSecret()),
		RateLimit:     1000,
		Timeout:       10 * time.Second,
	}
}

func newClient(t testing.TB, cfg pingone.Config, logger *zap.Logger) *pingone.Client {
	t.Helper()
	c, err := pingone.New(cfg, logger, pingone.WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestContract exercises every client operation against the emulator; the
// emulator validates each request against the spec.
func TestContract(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t, pingonetest.Options{
		Populations:      []string{"Default", "Staff", "Staff Contractors"},
		CustomAttributes: []string{"shirtSize"},
		MaxPageSize:      50,
	})
	c := newClient(t, clientConfig(srv), zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	ctx := pingone.WithTransactionID(context.Background(), "run-contract-1")
	staff := srv.PopulationID("Staff")
	contractors := srv.PopulationID("Staff Contractors")

	t.Run("populations", func(t *testing.T) {
		pops, err := c.Populations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pops) != 3 {
			t.Fatalf("populations = %+v", pops)
		}
		for _, tt := range []struct{ ref, want string }{
			{"Staff", staff}, {"Staff Contractors", contractors}, {staff, staff}, {"Default", srv.DefaultPopulationID()},
		} {
			got, err := c.ResolvePopulation(ctx, tt.ref)
			if err != nil || got != tt.want {
				t.Errorf("ResolvePopulation(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		}
		if _, err := c.ResolvePopulation(ctx, "Staf"); err == nil || !strings.Contains(err.Error(), `not found`) || !strings.Contains(err.Error(), `"Staff"`) {
			t.Errorf("ResolvePopulation(Staf) error = %v, want not found listing Staff", err)
		}
		if _, err := c.ResolvePopulation(ctx, `Sta"ff`); err == nil {
			t.Error("ResolvePopulation with a quote found something")
		}
		_, err = c.ResolvePopulation(ctx, "99999999-9999-4999-8999-999999999999")
		if !pingone.IsNotFound(err) {
			t.Errorf("unknown population id: err = %v, want not found", err)
		}
	})

	t.Run("schema", func(t *testing.T) {
		attrs, err := c.SchemaAttributes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]pingone.SchemaAttribute{}
		for _, a := range attrs {
			names[a.Name] = a
		}
		if _, ok := names["username"]; !ok {
			t.Errorf("no username in %v", attrs)
		}
		if a, ok := names["shirtSize"]; !ok || a.SchemaType != "CUSTOM" {
			t.Errorf("shirtSize = %+v, %t", a, ok)
		}
	})

	var ada pingone.User
	t.Run("create", func(t *testing.T) {
		var err error
		ada, err = c.CreateUser(ctx, staff, map[string]string{
			"username": "ada", "email": "ada@example.com", "externalId": "anchor-ada",
			"name.given": "Ada", "name.family": "Lovelace", "title": "Countess",
			"address.countryCode": "GB", "shirtSize": "M",
		})
		if err != nil {
			t.Fatal(err)
		}
		if ada.ID == "" || !ada.Enabled || ada.PopulationID != staff {
			t.Errorf("created %+v", ada)
		}
		for k, v := range map[string]string{"username": "ada", "name.given": "Ada", "address.countryCode": "GB", "shirtSize": "M", "externalId": "anchor-ada"} {
			if ada.Attributes[k] != v {
				t.Errorf("attribute %s = %q, want %q", k, ada.Attributes[k], v)
			}
		}
		_, err = c.CreateUser(ctx, staff, map[string]string{"username": "ADA", "email": "x@example.com", "externalId": "anchor-other"})
		if !pingone.IsUniquenessViolation(err) {
			t.Errorf("duplicate username: err = %v, want uniqueness violation", err)
		}
		_, err = c.CreateUser(ctx, staff, map[string]string{"username": "bad", "email": "not-an-email", "externalId": "anchor-bad"})
		var ae *pingone.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || pingone.Retryable(err) {
			t.Errorf("invalid email: err = %v", err)
		}
		if _, err := c.CreateUser(ctx, staff, map[string]string{"username": "noanchor", "email": "n@example.com"}); err == nil {
			t.Error("create without externalId accepted")
		}
	})

	t.Run("get", func(t *testing.T) {
		u, err := c.GetUser(ctx, ada.ID)
		if err != nil || u.Attributes["name.family"] != "Lovelace" {
			t.Fatalf("GetUser = %+v, %v", u, err)
		}
		if _, err := c.GetUser(ctx, "99999999-9999-4999-8999-999999999999"); !pingone.IsNotFound(err) {
			t.Errorf("unknown user: err = %v", err)
		}
	})

	t.Run("update", func(t *testing.T) {
		u, err := c.UpdateUser(ctx, ada.ID, map[string]string{"name.given": "Augusta Ada", "shirtSize": "L"}, []string{"title"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Attributes["name.given"] != "Augusta Ada" || u.Attributes["name.family"] != "Lovelace" || u.Attributes["shirtSize"] != "L" {
			t.Errorf("after PATCH: %v", u.Attributes)
		}
		if _, ok := u.Attributes["title"]; ok {
			t.Errorf("title not cleared: %v", u.Attributes)
		}
	})

	t.Run("enable and move", func(t *testing.T) {
		if err := c.SetEnabled(ctx, ada.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := c.SetPopulation(ctx, ada.ID, contractors); err != nil {
			t.Fatal(err)
		}
		u, err := c.GetUser(ctx, ada.ID)
		if err != nil || u.Enabled || u.PopulationID != contractors {
			t.Errorf("after disable+move: %+v, %v", u, err)
		}
		if err := c.SetEnabled(ctx, ada.ID, true); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("find and page", func(t *testing.T) {
		for i := range 120 {
			if _, err := srv.AddUser(map[string]any{
				"username": fmt.Sprintf("bulk-%03d", i), "email": fmt.Sprintf("b%d@example.com", i),
				"externalId": fmt.Sprintf("bulk-anchor-%03d", i),
			}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		if err := c.FindUsers(ctx, pingone.Filter{}, func(pingone.User) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 121 {
			t.Errorf("all users: %d, want 121", n)
		}
		seen := map[string]bool{}
		err := c.FindUsers(ctx, pingone.Sw("username", "bulk-"), func(u pingone.User) error {
			if seen[u.ID] {
				t.Errorf("user %s listed twice", u.ID)
			}
			seen[u.ID] = true
			return nil
		})
		if err != nil || len(seen) != 120 {
			t.Errorf("bulk users: %d, %v", len(seen), err)
		}
		stop := errors.New("stop")
		n = 0
		if err := c.FindUsers(ctx, pingone.Filter{}, func(pingone.User) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("callback error: %v after %d", err, n)
		}
		u, ok, err := c.UserByExternalID(ctx, "bulk-anchor-077")
		if err != nil || !ok || u.Attributes["username"] != "bulk-077" {
			t.Errorf("UserByExternalID = %+v, %t, %v", u, ok, err)
		}
		_, ok, err = c.UserByExternalID(ctx, `bulk-anchor-077" or username sw "`)
		if err != nil || ok {
			t.Errorf("injection attempt: found %t, %v", ok, err)
		}
		u, ok, err = c.UserByExternalID(ctx, "anchor-ada")
		if err != nil || !ok || u.ID != ada.ID {
			t.Errorf("UserByExternalID(ada) = %+v, %t, %v", u, ok, err)
		}
		f := pingone.And(pingone.Eq("population.id", contractors), pingone.Or(pingone.Eq("name.family", "Lovelace"), pingone.Eq("username", "nobody")))
		n = 0
		if err := c.FindUsers(ctx, f, func(pingone.User) error { n++; return nil }); err != nil || n != 1 {
			t.Errorf("compound filter: %d, %v", n, err)
		}
	})

	t.Run("token expiry mid-run", func(t *testing.T) {
		before := c.Stats().Reauths
		srv.ExpireTokens()
		if _, err := c.GetUser(ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		if got := c.Stats().Reauths - before; got != 1 {
			t.Errorf("reauths = %d, want 1", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.DeleteUser(ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetUser(ctx, ada.ID); !pingone.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
		if err := c.DeleteUser(ctx, ada.ID); !pingone.IsNotFound(err) {
			t.Errorf("second delete: %v", err)
		}
	})

	for _, r := range srv.Requests() {
		if r.Operation != "token" && r.TransactionID != "run-contract-1" {
			t.Errorf("%s %s carried transaction id %q", r.Method, r.Path, r.TransactionID)
			break
		}
	}
}

func TestEmulatorAuth(t *testing.T) {
	t.Parallel()
	for _, method := range []string{pingone.AuthClientSecretBasic, pingone.AuthClientSecretPost} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			srv := newEmulator(t, pingonetest.Options{AuthMethod: method})
			cfg := clientConfig(srv)
			cfg.AuthMethod = method
			if _, err := newClient(t, cfg, nil).Populations(context.Background()); err != nil {
				t.Errorf("right method: %v", err)
			}
			cfg.ClientSecret = secret.New("wrong-secret")
			_, err := newClient(t, cfg, nil).Populations(context.Background())
			if !pingone.IsCredentialError(err) || pingone.Retryable(err) {
				t.Errorf("wrong secret: err = %v, want credential error", err)
			}
			if err != nil && strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("error leaks the secret: %v", err)
			}
			if n := srv.Stats().TokenRequests; n != 2 {
				t.Errorf("token requests = %d, want 2 (no retry of a refused credential)", n)
			}
		})
	}
}

// TestCreateUnderFaults is the acceptance test: 8 workers create 1,000
// users against an emulator limited to 50 req/s that fails 10 % of
// requests with 5xx and drops 5 % of write responses after committing
// them. Every user must exist exactly once, with its externalId.
func TestCreateUnderFaults(t *testing.T) {
	t.Parallel()
	const (
		users   = 1000
		workers = 8
	)
	srv := newEmulator(t, pingonetest.Options{
		RateLimit: 50, FaultRate: 0.1, LostResponseRate: 0.05, Seed: 42,
	})
	cfg := clientConfig(srv)
	cfg.RateLimit = 48 // a little under the server's budget
	cfg.Concurrency = workers
	c := newClient(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	// ~1,300 requests at 48/s take ~27 s; the bound only stops a hang (a
	// loaded CI machine under -race can be much slower than the budget).
	ctx, cancel := context.WithTimeout(pingone.WithTransactionID(context.Background(), "run-accept"), 4*time.Minute)
	defer cancel()

	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]string{} // externalId -> user id
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				ext := fmt.Sprintf("anchor-%04d", i)
				u, err := c.CreateUser(ctx, "", map[string]string{
					"username": fmt.Sprintf("user%04d", i), "email": fmt.Sprintf("user%04d@example.com", i),
					"externalId": ext, "name.given": "User", "name.family": fmt.Sprintf("N%d", i),
				})
				if err != nil {
					t.Errorf("create %s: %v", ext, err)
					continue
				}
				if u.Attributes["externalId"] != ext {
					t.Errorf("create %s returned %+v", ext, u)
				}
				mu.Lock()
				created[ext] = u.ID
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := range users {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	all := srv.Users()
	if len(all) != users {
		t.Errorf("emulator holds %d users, want %d", len(all), users)
	}
	byExt := map[string]int{}
	for _, u := range all {
		ext, _ := u["externalId"].(string)
		byExt[ext]++
		if id, _ := u["id"].(string); created[ext] != id {
			t.Errorf("user %s (externalId %q) is not the one CreateUser returned (%s)", id, ext, created[ext])
		}
	}
	for i := range users {
		if ext := fmt.Sprintf("anchor-%04d", i); byExt[ext] != 1 {
			t.Errorf("externalId %s held by %d users", ext, byExt[ext])
		}
	}
	es, cs := srv.Stats(), c.Stats()
	if es.LostResponses == 0 || es.Faults == 0 {
		t.Errorf("the run saw %d lost responses and %d faults: the test exercised nothing", es.LostResponses, es.Faults)
	}
	// Every response the emulator dropped is recovered by externalId. On a
	// loaded machine a request can also time out on the client after the
	// emulator committed it: that create is recovered too, so the count may
	// exceed the emulator's, but never the creates that ended without a
	// response (status 0).
	ambiguous := cs.Requests["create_user"][0]
	if cs.LostCreates < int64(es.LostResponses) || cs.LostCreates > ambiguous {
		t.Errorf("client recovered %d creates by externalId; emulator lost %d responses and %d creates ended without a response",
			cs.LostCreates, es.LostResponses, ambiguous)
	}
	t.Logf("%d users in %v: %d requests, %d retries, %d faults, %d lost responses recovered, %d 429s, limiter wait %v",
		users, elapsed.Round(time.Millisecond), cs.Total(), cs.Retries, es.Faults, cs.LostCreates, cs.RateLimited, cs.LimiterWait.Round(time.Millisecond))
}

// BenchmarkSustainedRate measures how much of the environment's budget the
// client uses: emulator limited to B req/s with 20 ms latency, client
// rate_limit B. ratio = achieved/B (goal ≥ 0.95), 429s should be 0.
func BenchmarkSustainedRate(b *testing.B) {
	const budget = 100.0
	srv := newEmulator(b, pingonetest.Options{RateLimit: budget, Latency: 20 * time.Millisecond})
	cfg := clientConfig(srv)
	cfg.RateLimit = budget
	cfg.Concurrency = 8
	c := newClient(b, cfg, nil)
	ctx := context.Background()
	// Warm the token so the measurement is API calls only.
	if _, err := c.Populations(ctx); err != nil {
		b.Fatal(err)
	}
	perIter := 3 * int(budget) // ~3 s of traffic per iteration
	b.ResetTimer()
	start := time.Now()
	before := c.Stats().Total()
	var failed429 int
	for it := range b.N {
		jobs := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range cfg.Concurrency {
			wg.Go(func() {
				for i := range jobs {
					ext := fmt.Sprintf("bench-%d-%d", it, i)
					_, err := c.CreateUser(ctx, "", map[string]string{"username": ext, "email": ext + "@example.com", "externalId": ext})
					var ae *pingone.APIError
					if errors.As(err, &ae) && ae.Status == 429 {
						mu.Lock()
						failed429++
						mu.Unlock()
					} else if err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range perIter {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	elapsed := time.Since(start)
	st := c.Stats()
	achieved := float64(st.Total()-before) / elapsed.Seconds()
	b.ReportMetric(achieved/budget, "ratio")
	b.ReportMetric(achieved, "req/s")
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.ReportMetric(float64(failed429), "failed-429")
}
