package reconcile

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/syncd/syncd/sink/pingone"
)

// envUsers is what a first run keeps of each user of the PingOne
// environment while it finds the users to adopt (planAdoptions): not the
// user, but a summary of 64 bytes — its id, a 64-bit hash of each value a
// match rule compares (externalId, lower-cased username and email), a
// digest of its values for the attributes the job manages, its population
// and its enabled flag. That is enough to decide every adoption whose user
// already holds what the record wants; any other is decided on the user
// read again by id (one GET each).
//
// The listing is taken before the source is read, so that its garbage (a
// million decoded users) is never collected beside the records and the
// plan: only the summaries are live during the read, and the records,
// the plan and the summaries only while the creates are matched, which
// allocates almost nothing.
type envUsers struct {
	seed    maphash.Seed
	managed []string       // the attribute paths the digests cover, sorted
	slot    map[string]int // position of each managed path in managed
	list    blocks[envUser]
	odd     []string // ids that are not canonical UUIDs (envUser.id holds the index)
	pops    []string
	popIdx  map[string]uint32
	ids     arena // ids formatted for the ops and messages that need them
	buf     []byte
	vals    []string
}

// envUser summarises one listed PingOne user.
type envUser struct {
	// id is the user's id as the 16 bytes of a UUID (PingOne's ids are
	// UUIDs); with euOddID, the little-endian index in envUsers.odd.
	id     [16]byte
	keys   [3]uint64 // maphash of each key (keyExternalID, keyUsername, keyEmail)
	values [16]byte  // valuesDigest of the managed attributes
	pop    uint32    // index in envUsers.pops
	flags  uint8
}

const (
	euEnabled = 1 << iota
	euOddID
	euHasKey // euHasKey << k: the user holds key k (non-empty)
)

func newEnvUsers(managed []string) *envUsers {
	l := &envUsers{seed: maphash.MakeSeed(), managed: managed, slot: map[string]int{}, popIdx: map[string]uint32{}}
	for i, m := range managed {
		l.slot[m] = i
	}
	l.vals = make([]string, len(managed))
	return l
}

// listEnvironment lists every user of the environment into summaries.
func (e *Engine) listEnvironment(ctx context.Context, job *Job) (*envUsers, error) {
	l := newEnvUsers(job.Mapper.ManagedAttributes())
	err := e.Target.FindUsers(ctx, pingone.Filter{}, func(u pingone.User) error {
		l.add(&u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list PingOne users to find pre-existing ones: %w", err)
	}
	return l, nil
}

func (l *envUsers) add(u *pingone.User) {
	var s envUser
	if id, ok := parseUUID(u.ID); ok {
		s.id = id
	} else {
		binary.LittleEndian.PutUint32(s.id[:], uint32(len(l.odd)))
		l.odd = append(l.odd, l.ids.string(u.ID))
		s.flags |= euOddID
	}
	keys := [3]string{u.Attributes["externalId"], strings.ToLower(u.Attributes["username"]), strings.ToLower(u.Attributes["email"])}
	for k, v := range keys {
		if v != "" {
			s.keys[k] = l.hashKey(v)
			s.flags |= euHasKey << k
		}
	}
	for i, m := range l.managed {
		l.vals[i] = u.Attributes[m]
	}
	s.values = l.valuesDigest()
	p, ok := l.popIdx[u.PopulationID]
	if !ok {
		p = uint32(len(l.pops))
		l.pops = append(l.pops, strings.Clone(u.PopulationID))
		l.popIdx[l.pops[p]] = p
	}
	s.pop = p
	if u.Enabled {
		s.flags |= euEnabled
	}
	l.list.add(s)
}

func (l *envUsers) len() int { return l.list.len() }

func (l *envUsers) at(j int) *envUser { return l.list.at(j) }

func (l *envUsers) hashKey(v string) uint64 { return maphash.String(l.seed, v) }

func (u *envUser) has(k int) bool { return u.flags&(euHasKey<<k) != 0 }

// id returns user j's id. A UUID is formatted into the arena: the ops of a
// million adoptions share its chunks rather than hold a string each.
func (l *envUsers) id(j int) string {
	u := l.at(j)
	if u.flags&euOddID != 0 {
		return l.odd[binary.LittleEndian.Uint32(u.id[:])]
	}
	l.buf = appendUUID(l.buf[:0], u.id)
	return l.ids.bytes(l.buf)
}

func (l *envUsers) population(j int) string { return l.pops[l.at(j).pop] }

// valuesDigest digests l.vals, the values of the managed attributes in
// order ("" for an absent one): equal digests mean (barring a SHA-256
// collision) equal values, attribute by attribute.
func (l *envUsers) valuesDigest() [16]byte {
	l.buf = l.buf[:0]
	for i, m := range l.managed {
		l.buf = appendField(appendField(l.buf, m), l.vals[i])
	}
	return digest(l.buf)
}

// recordValues digests what record r wants of the managed attributes, as
// valuesDigest digests a user's. false when r holds an attribute outside
// them (the mapping's keys are all managed: it does not happen): no digest
// can then say that the user holds what r wants.
func (l *envUsers) recordValues(r *record) ([16]byte, bool) {
	clear(l.vals)
	ok := true
	r.each(func(k int, v string) bool {
		i, managed := l.slot[r.set.keys[k]]
		if !managed {
			ok = false
			return false
		}
		l.vals[i] = v
		return true
	})
	if !ok {
		return [16]byte{}, false
	}
	return l.valuesDigest(), true
}

// parseUUID parses a UUID in its canonical lower-case form only, so that
// appendUUID gives back exactly the string parsed.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 {
		return u, false
	}
	var h [32]byte
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return u, false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return u, false
		}
		h[j] = c
		j++
	}
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, false
	}
	return u, true
}

func appendUUID(b []byte, u [16]byte) []byte {
	b = hex.AppendEncode(b, u[0:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[4:6])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[6:8])
	b = append(b, '-')
	b = hex.AppendEncode(b, u[8:10])
	b = append(b, '-')
	return hex.AppendEncode(b, u[10:16])
}
