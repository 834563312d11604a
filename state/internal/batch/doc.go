// Package batch holds the checks and normalisation both state backends apply
// to a checkpoint batch before writing it, so they behave the same.
package batch
