//go:build !linux

package main

// noCoreDump does nothing off Linux.
func noCoreDump() {}
