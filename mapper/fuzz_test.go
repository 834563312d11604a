package mapper

import (
	"testing"

	"github.com/syncd/syncd/sources"
)

// FuzzMap feeds arbitrary expression text and record values: Compile never
// panics, Map never panics, and whatever Map accepts satisfies the PingOne
// constraints and hashes like HashDesired.
//
//	go test ./mapper -run '^$' -fuzz FuzzMap -fuzztime 30s
func FuzzMap(f *testing.F) {
	seeds := []string{
		`uid`, `lower(uid)`, `attr("x-foo")`, `join(values("member"), ",")`,
		`coalesce(mail, uid, "x")`, `substring(uid, 1, 3)`, `regexReplace(uid, "[0-9]+", "")`,
		`regexReplace(uid, uid, uid)`, `e164(uid, "33")`, `normalizePhone(uid)`, `normalizeEmail(uid)`,
		`removeDiacritics(uid)`, `dnValue(dn, "ou")`, `rdnValue(dn)`, `parentDN(dn)`, `join(dnValues(dn, uid), "")`,
		`adEnabled(uid)`, `uid in values("member")`, `uid matches "^a"`, `let x = uid; x + x`,
		`map(values("member"), upper(#))[0]`, `values("member")[9]`, `attr(uid)`, `string(len(uid))`,
		`1..10`, `repeat(uid, 100)`, `fromJSON(uid)`, `$env`, `__attr($env, "uid")`, `upper(`, `"`,
		`uid | trim() | lower()`, `mail ?? uid`, `uid?.foo`, `{a: uid}.a`, `[uid][0]`, `uid[1:3]`,
		`sum(1..100000)`, `anchor + dn`, `default(uid, "z")`,
	}
	values := []string{"", "jdoe", "Zoë", "e\u0301", "a\xffb", "uid=x,ou=y,dc=z", "514", "+33 1 23", "😀👨\u200d👩", "((((", `"\`}
	for i, s := range seeds {
		f.Add(s, values[i%len(values)], i%3 == 0)
	}
	f.Fuzz(func(t *testing.T, src, val string, asScope bool) {
		cfg := Config{
			Mapping: map[string]string{
				"username":    src,
				"email":       "mail",
				"title":       src,
				"name.family": src,
			},
			Population: Population{Rules: []PopulationRule{{When: `uid != ""`, Population: "A"}, {Population: val + "B"}}},
		}
		if asScope {
			cfg.Mapping["username"] = "uid"
			cfg.Mapping["title"] = "uid"
			cfg.Mapping["name.family"] = "uid"
			cfg.Scope = src
			cfg.Enabled = src
		}
		m, err := Compile(cfg)
		if err != nil {
			return
		}
		rec := sources.Record{
			Anchor: val + "-anchor",
			DN:     val,
			Pos:    "fuzz",
			Attrs: map[string][]string{
				"uid":    {val},
				"mail":   {val + "@example.com"},
				"member": {val, "cn=" + val},
				"x-foo":  {val},
			},
		}
		res, _ := m.Explain(rec)
		res2 := m.Map(rec)
		if res.Outcome != res2.Outcome || res.Desired.Hash != res2.Desired.Hash {
			t.Fatalf("Explain and Map disagree: %+v vs %+v", res, res2)
		}
		if res.Outcome != Mapped {
			return
		}
		d := res.Desired
		for path, v := range d.Attributes {
			spec, ok := standardAttrs[path]
			if !ok {
				t.Fatalf("unexpected attribute %s", path)
			}
			if v == "" || nfc(v) != v {
				t.Fatalf("%s = %q is empty or not NFC", path, v)
			}
			if p := spec.check(v); p != "" {
				t.Fatalf("%s = %q accepted but %s", path, v, p)
			}
		}
		if d.Hash != HashDesired(d.Attributes, d.Population, d.Enabled) {
			t.Fatal("hash differs from HashDesired")
		}
		if _, rejects := CheckConflicts([]Desired{d, d}); len(rejects) != 2 {
			t.Fatal("a duplicated record is not a conflict")
		}
	})
}
