package ldapsource

import "context"

// Check dials the server, does TLS (ldaps:// or StartTLS, verifying the
// certificate as a read would) and binds as the configured account, then
// closes the connection without reading anything: what `syncd validate
// --online` reports. A dead server, an untrusted certificate or a refused
// bind is an error (*TLSError, *BindError for the latter two).
func (s *Source) Check(ctx context.Context) error {
	conn, _, err := s.connect(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}
