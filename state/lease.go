package state

import (
	"context"
	"errors"
	"time"
)

// Leaser is implemented by stores that keep named, expiring leases: a
// replica that holds a lease does some work (watch a job's source) while
// the others stand by, and when it dies its lease expires and another
// takes over. Unlike Lock, a lease is not tied to a connection, so it
// survives a reconnect and a standby notices a dead holder within one ttl.
//
// pgstate shares leases between every process on the database and times
// them with the server's clock (now()), so the replicas' clocks may
// disagree; sqlitestate shares them between the processes on one host
// sharing the file and times them with that host's clock.
type Leaser interface {
	// AcquireLease takes the lease name for holder until now+ttl, or
	// renews it for ttl from now when holder already holds it (expired or
	// not). It returns false, with a nil error, while another holder's
	// lease is unexpired.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up at once if holder holds it, so
	// another can take it without waiting for it to expire; otherwise it
	// does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// CheckLeaseArgs refuses an empty lease name or holder and a ttl under
// a millisecond (both backends keep microseconds; a lease shorter than a
// round trip to the database is a mistake).
func CheckLeaseArgs(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return errors.New("lease: empty name")
	case holder == "":
		return errors.New("lease " + name + ": empty holder")
	case ttl < time.Millisecond:
		return errors.New("lease " + name + ": ttl " + ttl.String() + " under 1ms")
	}
	return nil
}
