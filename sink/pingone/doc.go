// Package pingone is syncd's client for the PingOne Management API (Users,
// Populations, Schemas).
//
// It owns the transport policy for one PingOne environment in one place
// (Client.do): a worker-app client_credentials token refreshed before expiry
// and re-acquired once on a mid-run 401; a token-bucket rate limiter plus a
// cap on in-flight requests; retries of 429 (honouring Retry-After), 408,
// 5xx and transport failures with capped exponential backoff and full
// jitter; and no retry of credential, TLS or client errors.
//
// Creates are safe against lost responses (DESIGN invariant 3): every user
// the client creates carries its anchor in externalId, and before a create
// is sent again after an ambiguous failure the client looks the user up by
// externalId and returns the existing user instead of making a second one.
//
// Errors are typed: *APIError for PingOne error bodies (IsNotFound,
// IsUniquenessViolation, Retryable) and *AuthError for token failures.
// Filters are built with Eq/Sw/And/Or, which escape every value; a
// user-supplied value is never pasted into a filter unescaped.
//
// The client never logs tokens or secrets, and the run ID set with
// WithTransactionID travels as X-Ping-External-Transaction-ID.
package pingone
