package mapper

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"golang.org/x/text/unicode/norm"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources"
)

// Mapper is a compiled mapping schema. It is safe for concurrent use: the
// per-evaluation state (VM, environment, hash buffer) comes from a pool.
type Mapper struct {
	attrs         []compiledAttr // sorted by path
	externalIDSet bool           // externalId is mapped (else: the anchor)
	keys          []string       // every attribute path Desired may hold, sorted
	keyIdx        []int          // for each key: its index in attrs, or -1 for the anchor as externalId
	scope         *program       // nil: every record
	population    string         // constant population, when no rules
	rules         []compiledRule
	enabled       *program // nil: true
	sourceAttrs   []string // nil: cannot tell
	pool          sync.Pool
	now           func() time.Time // the clock of today() and friends (dates.go)
	usesClock     bool
}

type compiledAttr struct {
	path     string
	prog     *program
	check    checkFunc
	required string // non-empty: why an empty value is refused
}

type compiledRule struct {
	when       *program // nil: matches every record
	population string
}

// runner is one evaluation's reusable state.
type runner struct {
	vm   vm.VM
	env  evalEnv
	buf  []byte
	vals []string // the values of Mapper.attrs for the current record
}

// Compile checks cfg and compiles every expression in it. It reports every
// problem at once as internal/fielderr errors with paths relative to the
// job: "mapping.name.giv: unknown PingOne attribute ...", "scope: ...",
// "population[2].when: ...".
func Compile(cfg Config, opts ...Option) (*Mapper, error) {
	var errs fielderr.List
	rc := &regexCache{}
	c := newCompiler(rc)
	m := &Mapper{}
	m.pool.New = func() any { return &runner{} }

	custom := map[string]bool{}
	for i, name := range cfg.CustomAttributes {
		path := fmt.Sprintf("custom_attributes[%d]", i)
		switch {
		case !validCustomName(name):
			errs.Add(path, "%q is not a valid PingOne attribute name (a letter, then letters, digits or hyphens; at most 256)", name)
		case caseInsensitiveMatch(name) != "" || notMappable[name] != "" || caseInsensitiveNotMappable(name):
			errs.Add(path, "%q is a PingOne standard attribute, not a custom one", name)
		case custom[name]:
			errs.Add(path, "%q is listed twice", name)
		}
		for other := range custom {
			if other != name && strings.EqualFold(other, name) {
				errs.Add(path, "%q and %q differ only in case; PingOne cannot hold both", name, other)
			}
		}
		custom[name] = true
	}

	paths := make([]string, 0, len(cfg.Mapping))
	for p := range cfg.Mapping {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	sourceAttrs := map[string]bool{}
	dynamic := false
	track := func(p *program) {
		for _, a := range p.attrs {
			sourceAttrs[a] = true
		}
		dynamic = dynamic || p.dynamic
	}
	for _, path := range paths {
		src := cfg.Mapping[path]
		key := "mapping." + path
		spec, ok := standardAttrs[path]
		if !ok && custom[path] {
			spec, ok = customSpec, true
		}
		if !ok {
			errs.Add(key, "%s", unknownAttrMessage(path))
			continue
		}
		p, err := c.compile(src, reflect.String)
		if err != nil {
			errs.Add(key, "%s", exprErrorMessage(src, err))
			continue
		}
		track(p)
		ca := compiledAttr{path: path, prog: p, check: spec.check}
		switch path {
		case "username":
			ca.required = "required: every PingOne user has a username"
		case "email":
			ca.required = "required: PingOne requires an email address to create a user"
		case "externalId":
			ca.required = "required: externalId is mapped, and it is how syncd finds the user again"
			m.externalIDSet = true
		}
		m.attrs = append(m.attrs, ca)
	}
	if _, ok := cfg.Mapping["username"]; !ok {
		errs.Add("mapping.username", "required: map the PingOne username (e.g. username: uid)")
	}
	if _, ok := cfg.Mapping["email"]; !ok {
		errs.Add("mapping.email", "required: PingOne requires an email address to create a user (e.g. email: mail)")
	}

	if strings.TrimSpace(cfg.Scope) != "" {
		p, err := c.compile(cfg.Scope, reflect.Bool)
		if err != nil {
			errs.Add("scope", "%s", exprErrorMessage(cfg.Scope, err))
		} else {
			track(p)
			m.scope = p
		}
	}
	if strings.TrimSpace(cfg.Enabled) != "" {
		p, err := c.compile(cfg.Enabled, reflect.Bool)
		if err != nil {
			errs.Add("enabled", "%s", exprErrorMessage(cfg.Enabled, err))
		} else {
			track(p)
			m.enabled = p
		}
	}

	switch pop := cfg.Population; {
	case pop.isZero():
		errs.Add("population", "required: a population name or id, or a list of {when, population} rules")
	case pop.Rules == nil:
		if strings.TrimSpace(pop.Name) == "" {
			errs.Add("population", "required: a population name or id, or a list of {when, population} rules")
		}
		m.population = pop.Name
	case len(pop.Rules) == 0:
		errs.Add("population", "%v", errEmptyList)
	default:
		for i, r := range pop.Rules {
			path := fmt.Sprintf("population[%d]", i)
			if strings.TrimSpace(r.Population) == "" {
				errs.Add(path+".population", "required: the population name or id for this rule")
			}
			cr := compiledRule{population: r.Population}
			if strings.TrimSpace(r.When) == "" {
				if i != len(pop.Rules)-1 {
					errs.Add(path+".when", "required: only the last rule may omit when (rules after it could never match)")
				}
			} else if p, err := c.compile(r.When, reflect.Bool); err != nil {
				errs.Add(path+".when", "%s", exprErrorMessage(r.When, err))
			} else {
				track(p)
				cr.when = p
			}
			m.rules = append(m.rules, cr)
		}
	}

	if err := errs.Err(); err != nil {
		return nil, err
	}

	keys := map[string]bool{"externalId": true}
	for _, a := range m.attrs {
		keys[a.path] = true
	}
	for k := range keys {
		m.keys = append(m.keys, k)
	}
	sort.Strings(m.keys)
	for _, k := range m.keys {
		idx := -1
		for i, a := range m.attrs {
			if a.path == k {
				idx = i
			}
		}
		m.keyIdx = append(m.keyIdx, idx)
	}
	if !dynamic {
		m.sourceAttrs = make([]string, 0, len(sourceAttrs))
		for a := range sourceAttrs {
			m.sourceAttrs = append(m.sourceAttrs, a)
		}
		sort.Strings(m.sourceAttrs)
	}
	m.usesClock = c.usesClock
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

func caseInsensitiveNotMappable(name string) bool {
	for k := range notMappable {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func unknownAttrMessage(path string) string {
	if why, ok := notMappable[path]; ok {
		return "cannot be mapped: " + why
	}
	if m := caseInsensitiveMatch(path); m != "" {
		return fmt.Sprintf("unknown PingOne attribute; attribute names are case-sensitive: did you mean %s?", m)
	}
	known := strings.Join(standardNames(), ", ")
	if validCustomName(path) {
		return fmt.Sprintf("unknown PingOne attribute (known: %s); to map a custom attribute, list it under custom_attributes", known)
	}
	return fmt.Sprintf("unknown PingOne attribute (known: %s)", known)
}

// exprErrorMessage keeps the first line of an expr error and names the
// expression.
func exprErrorMessage(src string, err error) string {
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	first := lines[0]
	if len(lines) > 1 && strings.HasPrefix(strings.TrimSpace(lines[1]), "|") {
		// expr's "message (line:col)\n | source\n | ^" form
		return fmt.Sprintf("in %s: %s", quoteValue(src), first)
	}
	return fmt.Sprintf("in %s: %s", quoteValue(src), strings.Join(lines, "; "))
}

// SourceAttributes returns the lower-case source attribute names the
// compiled expressions read, sorted, so a source can request only these
// (plus its anchor). It returns nil when an expression computes attribute
// names at run time (attr(x + "y")): the source must then read everything.
func (m *Mapper) SourceAttributes() []string {
	if m.sourceAttrs == nil {
		return nil
	}
	return append([]string{}, m.sourceAttrs...)
}

// ManagedAttributes returns the PingOne attribute paths syncd manages for
// this job (the mapping keys and externalId), sorted. An attribute in this
// list that a Desired lacks should be null in PingOne; attributes outside
// it are never touched (DESIGN invariant 4).
func (m *Mapper) ManagedAttributes() []string {
	return append([]string{}, m.keys...)
}

// problem is one thing wrong with a record.
type problem struct{ attr, reason string }

// Map turns a record into the Desired PingOne user, or into a Reject, or
// reports it out of scope. It never fails as a whole: per-record problems,
// including expressions failing at run time, are Rejects.
//
// Records with Deleted set are not mapped (the engine handles deletions
// from the anchor alone); Map rejects them so that a caller passing one by
// mistake can never create a user from it.
func (m *Mapper) Map(rec sources.Record) Result {
	return m.mapRecord(rec, nil)
}

// mapRecord maps rec on the clock's day when the mapping reads it.
func (m *Mapper) mapRecord(rec sources.Record, ex *[]Explanation) Result {
	var day time.Time
	if m.usesClock {
		day = m.Today()
	}
	return m.mapRecordOn(rec, ex, day)
}

// Explain maps rec like Map and also says, for every expression it
// evaluated (each attribute, scope, population rules, enabled), which
// source values it read and what it produced.
func (m *Mapper) Explain(rec sources.Record) (Result, []Explanation) {
	ex := []Explanation{}
	res := m.mapRecord(rec, &ex)
	return res, ex
}

func reject(rec sources.Record, attr, reason string) Result {
	return Result{Outcome: Rejected, Reject: Reject{Anchor: rec.Anchor, Pos: rec.Pos, Attribute: attr, Reason: reason}}
}

func (m *Mapper) mapRecordOn(rec sources.Record, ex *[]Explanation, day time.Time) Result {
	rec = normalizeRecord(rec)
	if rec.Deleted {
		return reject(rec, "", "record is a deletion: deletions are handled by the engine, not mapped")
	}
	r := m.pool.Get().(*runner)
	r.env.rec = recordView{anchor: rec.Anchor, dn: rec.DN, attrs: rec.Attrs}
	r.env.today = day
	defer func() {
		r.env.rec = recordView{}
		m.pool.Put(r)
	}()

	// Scope first: a record the job does not manage (a group or an OU in
	// a full export) is out of scope, not a reject, whatever else is
	// wrong with it. A record the source could not read (no attributes)
	// cannot be judged: it stays a reject, and keeps the read from
	// disabling anyone it might be.
	ok := rec.Reject == "" && rec.Anchor != ""
	if m.scope != nil && (ok || len(rec.Attrs) > 0) {
		in, err := m.evalBool(r, m.scope, rec, "scope", ex)
		switch {
		case err == nil && !in:
			return Result{Outcome: OutOfScope, Desired: Desired{Anchor: rec.Anchor, Pos: rec.Pos}}
		case err != nil && ok:
			return reject(rec, "", "scope: "+err.Error())
		}
	}
	switch {
	case rec.Reject != "":
		return reject(rec, "", "source: "+rec.Reject)
	case rec.Anchor == "":
		return reject(rec, "", "the record has no anchor: syncd cannot tell which PingOne user it is")
	}

	var problems []problem
	attrs := make(map[string]string, len(m.attrs)+1)
	if cap(r.vals) < len(m.attrs) {
		r.vals = make([]string, len(m.attrs))
	}
	r.vals = r.vals[:len(m.attrs)]
	for i := range m.attrs {
		a := &m.attrs[i]
		r.vals[i] = ""
		v, err := m.evalString(r, a.prog, rec, a.path, ex)
		if err != nil {
			problems = append(problems, problem{a.path, err.Error()})
			continue
		}
		if v == "" {
			if a.required != "" {
				problems = append(problems, problem{a.path, a.required + "; " + emptyBecause(a.prog, rec)})
			}
			continue
		}
		if p := checkValue(a, &v); p != "" {
			problems = append(problems, problem{a.path, p})
			if ex != nil && len(*ex) > 0 {
				(*ex)[len(*ex)-1].Error = p
			}
			continue
		}
		attrs[a.path] = v
		r.vals[i] = v
	}
	if !m.externalIDSet {
		if p := standardAttrs["externalId"].check(rec.Anchor); p != "" || !utf8.ValidString(rec.Anchor) {
			problems = append(problems, problem{"externalId", "the anchor " + quoteValue(rec.Anchor) + " cannot be the externalId: " + p})
		} else {
			attrs["externalId"] = nfc(rec.Anchor)
		}
	}

	pop, popProblem := m.populationFor(r, rec, ex)
	if popProblem != "" {
		problems = append(problems, problem{"population", popProblem})
	}
	enabled := true
	if m.enabled != nil {
		e, err := m.evalBool(r, m.enabled, rec, "enabled", ex)
		if err != nil {
			problems = append(problems, problem{"enabled", err.Error()})
		}
		enabled = e
	}

	if len(problems) > 0 {
		reason := problems[0].reason
		for _, p := range problems[1:] {
			reason += "; " + p.attr + ": " + p.reason
		}
		return reject(rec, problems[0].attr, reason)
	}
	d := Desired{Anchor: rec.Anchor, Pos: rec.Pos, Attributes: attrs, Population: pop, Enabled: enabled}
	d.Hash = m.hash(r, attrs["externalId"], pop, enabled)
	return Result{Outcome: Mapped, Desired: d}
}

func (m *Mapper) populationFor(r *runner, rec sources.Record, ex *[]Explanation) (string, string) {
	if m.rules == nil {
		return m.population, ""
	}
	for i, rule := range m.rules {
		if rule.when == nil {
			if ex != nil {
				*ex = append(*ex, Explanation{Path: fmt.Sprintf("population[%d]", i), Value: rule.population})
			}
			return rule.population, ""
		}
		ok, err := m.evalBool(r, rule.when, rec, fmt.Sprintf("population[%d].when", i), ex)
		if err != nil {
			return "", fmt.Sprintf("rule %d: %v", i, err)
		}
		if ok {
			if ex != nil {
				*ex = append(*ex, Explanation{Path: fmt.Sprintf("population[%d]", i), Value: rule.population})
			}
			return rule.population, ""
		}
	}
	return "", "no population rule matched; add a last rule without when to catch the rest"
}

// checkValue normalises *v to NFC and checks it against a's PingOne
// constraints, returning the problem or "".
func checkValue(a *compiledAttr, v *string) string {
	if !isASCII(*v) {
		if !utf8.ValidString(*v) {
			return quoteValue(*v) + " is not valid UTF-8"
		}
		*v = norm.NFC.String(*v)
	}
	if p := a.check(*v); p != "" {
		return quoteValue(*v) + " " + p
	}
	return ""
}

// emptyBecause explains an empty required value by the source values the
// expression read.
func emptyBecause(p *program, rec sources.Record) string {
	if len(p.attrs) == 0 {
		return "the expression " + quoteValue(p.src) + " produced an empty value"
	}
	var missing []string
	for _, a := range p.attrs {
		if rec.Get(a) == "" {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return "the expression " + quoteValue(p.src) + " produced an empty value"
	}
	if len(missing) == 1 {
		return "the expression " + quoteValue(p.src) + " produced an empty value (source attribute " + missing[0] + " is absent or empty)"
	}
	return "the expression " + quoteValue(p.src) + " produced an empty value (source attributes " + strings.Join(missing, ", ") + " are absent or empty)"
}

// eval runs one program for the record in r.
func (m *Mapper) eval(r *runner, p *program) (any, error) {
	switch p.fast {
	case fastAttr:
		if v := r.env.rec.attrs[p.name]; len(v) > 0 {
			return v[0], nil
		}
		return "", nil
	case fastAnchor:
		return r.env.rec.anchor, nil
	case fastDN:
		return r.env.rec.dn, nil
	case fastString:
		return p.name, nil
	case fastBool:
		return p.boolean, nil
	case fastContains:
		return containsValue(r.env.rec.attrs[p.name], p.ops[0].value), nil
	}
	return r.vm.Run(p.prog, &r.env)
}

// evalString evaluates a mapping expression. The fast paths return the
// string without boxing it.
func (m *Mapper) evalString(r *runner, p *program, rec sources.Record, path string, ex *[]Explanation) (string, error) {
	var s string
	var err error
	switch p.fast {
	case fastAttr:
		if v := r.env.rec.attrs[p.name]; len(v) > 0 {
			s = v[0]
		}
	case fastAnchor:
		s = r.env.rec.anchor
	case fastDN:
		s = r.env.rec.dn
	case fastString:
		s = p.name
	case fastFunc1:
		if v := r.env.rec.attrs[p.name]; len(v) > 0 {
			s = p.fn(v[0])
		}
	case fastCoalesce:
		for _, op := range p.ops {
			if !op.isAttr {
				s = op.value
			} else if v := r.env.rec.attrs[op.attr]; len(v) > 0 {
				s = v[0]
			}
			if s != "" {
				break
			}
		}
	default:
		var v any
		v, err = r.vm.Run(p.prog, &r.env)
		if err != nil {
			err = fmt.Errorf("expression %s failed: %s", quoteValue(p.src), runtimeMessage(err))
			break
		}
		switch v := v.(type) {
		case string:
			s = v
		case nil:
		default:
			err = fmt.Errorf("expression %s produced %T %s, want a string; convert it with string(...)", quoteValue(p.src), v, quoteValue(fmt.Sprint(v)))
		}
	}
	if ex != nil {
		e := explanation(p, rec, path)
		if err != nil {
			e.Error = err.Error()
		} else {
			e.Value = s
		}
		*ex = append(*ex, e)
	}
	return s, err
}

// evalBool evaluates a boolean expression (scope, when, enabled).
func (m *Mapper) evalBool(r *runner, p *program, rec sources.Record, path string, ex *[]Explanation) (bool, error) {
	v, err := m.eval(r, p)
	var b bool
	if err != nil {
		err = fmt.Errorf("expression %s failed: %s", quoteValue(p.src), runtimeMessage(err))
	} else if bv, ok := v.(bool); ok {
		b = bv
	} else {
		err = fmt.Errorf("expression %s produced %T %s, want true or false", quoteValue(p.src), v, quoteValue(fmt.Sprint(v)))
	}
	if ex != nil {
		e := explanation(p, rec, path)
		if err != nil {
			e.Error = err.Error()
		} else {
			e.Value = b
		}
		*ex = append(*ex, e)
	}
	return b, err
}

func explanation(p *program, rec sources.Record, path string) Explanation {
	e := Explanation{Path: path, Expression: p.src}
	if len(p.attrs) > 0 || p.usesAnchor || p.usesDN {
		e.Inputs = map[string][]string{}
		for _, a := range p.attrs {
			v := rec.Attrs[a]
			if v == nil {
				v = []string{}
			}
			e.Inputs[a] = v
		}
		if p.usesAnchor {
			e.Inputs["anchor"] = []string{rec.Anchor}
		}
		if p.usesDN {
			e.Inputs["dn"] = []string{rec.DN}
		}
	}
	return e
}

// runtimeMessage returns an evaluation error's message without expr's
// position and source snippet (the reason already quotes the expression).
func runtimeMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) && fe.Message != "" {
		return fe.Message
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// NormalizeAnchor returns the anchor as syncd keys it: in Unicode
// normalisation form C, so that one key exported composed one day and
// decomposed the next (a macOS export) is one anchor, one checkpoint, one
// PingOne user. Map normalises every record's anchor with it; whoever keys
// by an anchor that did not come through Map (a deletion a delta read
// reports) must too.
func NormalizeAnchor(a string) string { return nfc(a) }

// normalizeRecord returns rec with its anchor, DN and every attribute value
// in NFC, so that expressions (scope, enabled, population rules, the
// mapping) compare source values with the config's literals — NFC, as YAML
// files are written — whatever form the source used. A record that is
// already NFC (the common case: ASCII) is returned as it is, without a copy.
func normalizeRecord(rec sources.Record) sources.Record {
	rec.Anchor, rec.DN = nfc(rec.Anchor), nfc(rec.DN)
	var attrs map[string][]string
	for k, vs := range rec.Attrs {
		for i, v := range vs {
			if isASCII(v) || norm.NFC.IsNormalString(v) {
				continue
			}
			if attrs == nil {
				attrs = make(map[string][]string, len(rec.Attrs))
				for k2, vs2 := range rec.Attrs {
					attrs[k2] = vs2
				}
			}
			if &attrs[k][0] == &vs[0] {
				attrs[k] = append([]string(nil), vs...) // copy before writing: the source owns vs
			}
			attrs[k][i] = norm.NFC.String(v)
		}
	}
	if attrs != nil {
		rec.Attrs = attrs
	}
	return rec
}

// nfc returns v in Unicode normalisation form C; it does not allocate when
// v already is (the common case).
func nfc(v string) string {
	if isASCII(v) {
		return v
	}
	return norm.NFC.String(v)
}

func isASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// quoteValue quotes v for a message, truncated to 64 characters.
func quoteValue(v string) string {
	const limit = 64
	if utf8.RuneCountInString(v) > limit {
		return strconv.Quote(substringRunes(v, 0, limit)) + "…"
	}
	return strconv.Quote(v)
}

// hash computes Desired.Hash from the values in r.vals, with m's sorted
// key list: no sort and no map lookup per record. It encodes exactly what
// HashDesired does.
func (m *Mapper) hash(r *runner, externalID, pop string, enabled bool) string {
	buf := r.buf[:0]
	for i, k := range m.keys {
		v := externalID
		if idx := m.keyIdx[i]; idx >= 0 {
			v = r.vals[idx]
		}
		buf = appendPair(buf, k, v)
	}
	r.buf = appendTrailer(buf, pop, enabled)
	sum := sha256.Sum256(r.buf)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HashDesired computes the Desired.Hash of a set of attributes, a
// population and an enabled flag: SHA-256 over the attributes in sorted
// key order (NFC values, empty ones skipped), the population and the flag,
// as unpadded base64url (43 characters). Map order does not matter.
func HashDesired(attrs map[string]string, population string, enabled bool) string {
	keys := make([]string, 0, len(attrs))
	norm := make(map[string]string, len(attrs))
	for k, v := range attrs {
		keys = append(keys, k)
		norm[k] = nfc(v)
	}
	sort.Strings(keys)
	buf := appendHashInput(nil, keys, norm, population, enabled)
	sum := sha256.Sum256(buf)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// appendHashInput writes an unambiguous encoding: each present key and
// value length-prefixed ("8:username3:bob"), then population and enabled.
func appendHashInput(buf []byte, keys []string, attrs map[string]string, pop string, enabled bool) []byte {
	for _, k := range keys {
		buf = appendPair(buf, k, attrs[k])
	}
	return appendTrailer(buf, pop, enabled)
}

// appendPair appends a key and its value, length-prefixed; nothing for an
// empty (absent) value.
func appendPair(buf []byte, k, v string) []byte {
	if v == "" {
		return buf
	}
	buf = strconv.AppendInt(buf, int64(len(k)), 10)
	buf = append(buf, ':')
	buf = append(buf, k...)
	buf = strconv.AppendInt(buf, int64(len(v)), 10)
	buf = append(buf, ':')
	return append(buf, v...)
}

func appendTrailer(buf []byte, pop string, enabled bool) []byte {
	buf = append(buf, "\x00population:"...)
	buf = strconv.AppendInt(buf, int64(len(pop)), 10)
	buf = append(buf, ':')
	buf = append(buf, pop...)
	if enabled {
		buf = append(buf, "\x00enabled:true"...)
	} else {
		buf = append(buf, "\x00enabled:false"...)
	}
	return buf
}
