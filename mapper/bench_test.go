package mapper

import (
	"strconv"
	"testing"
	"time"

	"github.com/syncd/syncd/sources"
)

// benchRecords returns n distinct inetOrgPerson-like records.
func benchRecords(n int) []sources.Record {
	recs := make([]sources.Record, n)
	for i := range recs {
		id := strconv.Itoa(i)
		recs[i] = sources.Record{
			Anchor: "8f6c2a8e-5c1e-103e-8a1b-" + id,
			DN:     "uid=user" + id + ",ou=Engineering,ou=People,dc=example,dc=org",
			Pos:    "uid=user" + id,
			Attrs: map[string][]string{
				"objectclass":     {"top", "person", "organizationalPerson", "inetOrgPerson"},
				"uid":             {"user" + id},
				"mail":            {"User" + id + "@Example.org"},
				"givenname":       {"Given" + id},
				"sn":              {"Family" + id},
				"cn":              {"Given" + id + " Family" + id},
				"title":           {"Engineer"},
				"telephonenumber": {"+33 1 42 68 53 00"},
				"l":               {"Paris"},
				"c":               {"FR"},
				"employeenumber":  {id},
			},
		}
	}
	return recs
}

// plainMapping: ten attributes, each a plain source attribute (the common
// case, evaluated without the VM).
var plainMapping = map[string]string{
	"username":            "uid",
	"email":               "mail",
	"name.given":          "givenName",
	"name.family":         "sn",
	"name.formatted":      "cn",
	"title":               "title",
	"primaryPhone":        "telephoneNumber",
	"address.locality":    "l",
	"address.countryCode": "c",
	"accountId":           "employeeNumber",
}

// mixedMapping: ten attributes, four of them computed in the VM, plus a
// scope expression.
var mixedMapping = map[string]string{
	"username":            "lower(uid)",
	"email":               "normalizeEmail(mail)",
	"name.given":          "givenName",
	"name.family":         "sn",
	"name.formatted":      `coalesce(displayName, cn)`,
	"title":               "title",
	"primaryPhone":        "normalizePhone(telephoneNumber)",
	"address.locality":    "l",
	"address.countryCode": "c",
	"accountId":           "employeeNumber",
}

func benchMap(b *testing.B, mapping map[string]string, scope string) {
	m, err := Compile(Config{Mapping: mapping, Scope: scope, Population: Population{Name: "Employees"}})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchRecords(4096)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		res := m.Map(recs[i%len(recs)])
		if res.Outcome != Mapped {
			b.Fatalf("record %d: %+v", i, res.Reject)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	// On a shared machine wall time undercounts: records per second of
	// CPU this process used (GC included) is the figure to compare.
	if cpu := cpuTime() - cpuStart; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkMap reports records/s and allocations per record for a
// ten-attribute mapping. For the 1M-record figure:
//
//	go test ./mapper -run '^$' -bench BenchmarkMap -benchtime 1000000x -cpu 1
func BenchmarkMap(b *testing.B) {
	b.Run("plain10", func(b *testing.B) { benchMap(b, plainMapping, "") })
	b.Run("mixed10+scope", func(b *testing.B) { benchMap(b, mixedMapping, `"inetOrgPerson" in values("objectClass")`) })
}

// BenchmarkCheckConflicts measures the whole-set conflict check.
func BenchmarkCheckConflicts(b *testing.B) {
	m, err := Compile(Config{Mapping: plainMapping, Population: Population{Name: "Employees"}})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchRecords(100000)
	ds := make([]Desired, len(recs))
	for i, r := range recs {
		ds[i] = m.Map(r).Desired
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kept, rejects := CheckConflicts(ds)
		if len(kept) != len(ds) || len(rejects) != 0 {
			b.Fatal("unexpected conflicts")
		}
	}
	b.ReportMetric(float64(len(ds))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
