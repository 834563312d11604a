package pingone

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestNest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		set     map[string]string
		clear   []string
		want    string
		wantErr string
	}{
		{name: "flat and nested", set: map[string]string{"username": "ada", "name.given": "Ada", "name.family": "L", "address.countryCode": "GB", "shirtSize": "M"},
			want: `{"address":{"countryCode":"GB"},"name":{"family":"L","given":"Ada"},"shirtSize":"M","username":"ada"}`},
		{name: "clear is null", set: map[string]string{"name.given": "A"}, clear: []string{"title", "name.middle"},
			want: `{"name":{"given":"A","middle":null},"title":null}`},
		{name: "collision", set: map[string]string{"name": "x", "name.given": "y"}, wantErr: "collide"},
		{name: "set and clear", set: map[string]string{"title": "x"}, clear: []string{"title"}, wantErr: "both set and cleared"},
		{name: "reserved", set: map[string]string{"enabled": "true"}, wantErr: "cannot be written"},
		{name: "reserved population", set: map[string]string{"population.id": "p"}, wantErr: "cannot be written"},
		{name: "bad path", set: map[string]string{"na me": "x"}, wantErr: "invalid attribute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nest(tt.set, tt.clear)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestDecodeUser(t *testing.T) {
	t.Parallel()
	u, err := decodeUser([]byte(`{"id":"u1","_links":{"self":{"href":"h"}},"environment":{"id":"e"},"population":{"id":"p1"},
		"enabled":false,"username":"ada","name":{"given":"Ada","family":"L"},"address":{"countryCode":"GB"},
		"shirtSize":"M","mfaEnabled":true,"memberOfGroupIDs":["g"],"createdAt":"2026-01-01T00:00:00Z","account":{"status":"OK","secondsUntilUnlock":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || u.PopulationID != "p1" || u.Enabled {
		t.Errorf("user %+v", u)
	}
	want := map[string]string{"username": "ada", "name.given": "Ada", "name.family": "L", "address.countryCode": "GB", "shirtSize": "M", "account.status": "OK"}
	if len(u.Attributes) != len(want) {
		t.Errorf("attributes %v, want %v", u.Attributes, want)
	}
	for k, v := range want {
		if u.Attributes[k] != v {
			t.Errorf("%s = %q, want %q", k, u.Attributes[k], v)
		}
	}
	if _, err := decodeUser([]byte(`{"username":"x"}`)); err == nil {
		t.Error("a user without id decoded")
	}
}

// TestLostCreate pins the lost-response rule: a create that may have been
// applied is never sent again before a lookup by externalId.
func TestLostCreate(t *testing.T) {
	t.Parallel()
	found := reply(200, `{"_links":{"self":{"href":"x"}},"_embedded":{"users":[`+userJSON(testUserID, "ext-1")+`]},"size":1}`)
	empty := reply(200, `{"_links":{"self":{"href":"x"}},"_embedded":{"users":[]},"size":0}`)
	created := reply(201, userJSON(testUserID, "ext-1"))
	uniq := reply(400, `{"id":"1","code":"INVALID_DATA","details":[{"code":"UNIQUENESS_VIOLATION","target":"username"}]}`)
	tests := []struct {
		name    string
		script  []http.HandlerFunc
		methods string // the requests the client must make, in order
		lost    int64
		wantErr bool
	}{
		{name: "dropped, found", script: []http.HandlerFunc{drop, found}, methods: "POST GET", lost: 1},
		{name: "503, not found, resent", script: []http.HandlerFunc{reply(503, ""), empty, created}, methods: "POST GET POST"},
		{name: "500, found", script: []http.HandlerFunc{reply(500, `{"code":"UNEXPECTED_ERROR"}`), found}, methods: "POST GET", lost: 1},
		{name: "429 is not ambiguous", script: []http.HandlerFunc{reply(429, "", "Retry-After", "1"), created}, methods: "POST POST"},
		{name: "dropped twice", script: []http.HandlerFunc{drop, empty, drop, found}, methods: "POST GET POST GET", lost: 1},
		{name: "late commit shows as uniqueness", script: []http.HandlerFunc{drop, empty, uniq, found}, methods: "POST GET POST GET", lost: 1},
		{name: "plain uniqueness is an error", script: []http.HandlerFunc{uniq}, methods: "POST", wantErr: true},
		{name: "lookup fails", script: []http.HandlerFunc{drop, reply(403, `{"code":"ACCESS_FAILED"}`)}, methods: "POST GET", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.script...)
			c, _ := newTestClient(t, f)
			u, err := c.CreateUser(context.Background(), "pop-1", map[string]string{"username": "u-ext-1", "email": "e@example.com", "externalId": "ext-1"})
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (u.ID != testUserID || u.Attributes["externalId"] != "ext-1") {
				t.Errorf("user %+v", u)
			}
			var methods []string
			for _, r := range f.requests() {
				methods = append(methods, r.Method)
				if r.Method == "GET" && r.Query != "filter=externalId%20eq%20%22ext-1%22&limit=200" {
					t.Errorf("lookup query %q", r.Query)
				}
				if r.Method == "POST" && r.Body != `{"email":"e@example.com","externalId":"ext-1","population":{"id":"pop-1"},"username":"u-ext-1"}` {
					t.Errorf("create body %s", r.Body)
				}
			}
			if got := strings.Join(methods, " "); got != tt.methods {
				t.Errorf("requests %q, want %q", got, tt.methods)
			}
			if got := c.Stats().LostCreates; got != tt.lost {
				t.Errorf("LostCreates = %d, want %d", got, tt.lost)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	var f *fake
	page := func(ids []string, next string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var users []string
			for _, id := range ids {
				users = append(users, userJSON(id, "x"+id))
			}
			links := `{"self":{"href":"x"}}`
			if next != "" {
				links = `{"self":{"href":"x"},"next":{"href":"` + strings.ReplaceAll(next, "BASE", f.srv.URL) + `"}}`
			}
			reply(200, `{"_links":`+links+`,"_embedded":{"users":[`+strings.Join(users, ",")+`]}}`)(w, r)
		}
	}
	t.Run("follows next verbatim, short pages", func(t *testing.T) {
		t.Parallel()
		f = newFake(t,
			page([]string{"1", "2"}, "BASE/v1/environments/"+testEnv+"/users?cursor=abc%2Fdef&limit=200"),
			page([]string{"3"}, "BASE/v1/environments/"+testEnv+"/users?cursor=ghi&limit=200"),
			page(nil, ""))
		c, _ := newTestClient(t, f)
		var ids []string
		if err := c.FindUsers(context.Background(), Sw("username", "a b"), func(u User) error { ids = append(ids, u.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids, ",") != "1,2,3" {
			t.Errorf("ids %v", ids)
		}
		reqs := f.requests()
		if len(reqs) != 3 || reqs[0].Query != "filter=username%20sw%20%22a%20b%22&limit=200" || reqs[1].Query != "cursor=abc%2Fdef&limit=200" || reqs[2].Query != "cursor=ghi&limit=200" {
			t.Errorf("requests %+v", reqs)
		}
	})
	t.Run("next link to another host refused", func(t *testing.T) {
		t.Parallel()
		f2 := newFake(t, reply(200, `{"_links":{"next":{"href":"https://evil.example.com/steal"}},"_embedded":{"users":[]}}`))
		c, _ := newTestClient(t, f2)
		err := c.FindUsers(context.Background(), Filter{}, func(User) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "not on the API host") || len(f2.requests()) != 1 {
			t.Errorf("err = %v after %d requests", err, len(f2.requests()))
		}
	})
	t.Run("invalid filter never sent", func(t *testing.T) {
		t.Parallel()
		f3 := newFake(t, okUser)
		c, _ := newTestClient(t, f3)
		if err := c.FindUsers(context.Background(), Eq("bad attr", "x"), func(User) error { return nil }); err == nil || f3.calls() != 0 {
			t.Errorf("err = %v, calls %d", err, f3.calls())
		}
	})
}

func TestLostDelete(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		script  []http.HandlerFunc
		wantErr bool
	}{
		{"lost then 404 is done", []http.HandlerFunc{drop, reply(404, `{"code":"NOT_FOUND"}`)}, false},
		{"503 then 204", []http.HandlerFunc{reply(503, ""), reply(204, "")}, false},
		{"plain 404 is an error", []http.HandlerFunc{reply(404, `{"code":"NOT_FOUND"}`)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.script...)
			c, _ := newTestClient(t, f)
			err := c.DeleteUser(context.Background(), testUserID)
			if (err != nil) != tt.wantErr || (err != nil && !IsNotFound(err)) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
