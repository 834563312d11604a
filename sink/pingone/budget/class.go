package budget

import (
	"context"
	"fmt"
)

// Class is a request's priority: a lower class goes first. Within a class
// requests go in arrival order. A request of a lower class never waits for
// one of a higher class, so a leaver's disable is sent before bulk updates,
// memberships or verification reads queued ahead of it.
type Class uint8

// The classes, highest priority first.
const (
	// ClassDisable removes access: disabling users (and, later, removing
	// the memberships that grant access, if a job chooses so).
	ClassDisable Class = iota
	// ClassCreate gives access to new joiners: creates, adoptions and
	// enables, with the lookups that resolve a create's conflict.
	ClassCreate
	// ClassUpdate is attribute updates and population moves, and the
	// default for a request that names no class (population look-ups,
	// the first run's listing of pre-existing users).
	ClassUpdate
	// ClassMembership is group and membership writes: bulk backfills that
	// must not delay the classes above.
	ClassMembership
	// ClassVerify is verification reads (drift detection): they wait for
	// every write.
	ClassVerify

	// NumClasses is the number of classes.
	NumClasses = int(ClassVerify) + 1
)

var classNames = [NumClasses]string{"disable", "create", "update", "membership", "verify"}

// String returns the class's name as used in logs and docs.
func (c Class) String() string {
	if int(c) < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

type classKey struct{}

// WithClass returns ctx whose PingOne requests wait in class c.
func WithClass(ctx context.Context, c Class) context.Context {
	return context.WithValue(ctx, classKey{}, c)
}

// ClassOf returns the class set with WithClass, or ClassUpdate.
func ClassOf(ctx context.Context) Class {
	if c, ok := ctx.Value(classKey{}).(Class); ok && int(c) < NumClasses {
		return c
	}
	return ClassUpdate
}
