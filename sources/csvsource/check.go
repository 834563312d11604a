package csvsource

import (
	"context"
	"fmt"
	"io"

	"github.com/syncd/syncd/internal/ctxio"
)

// Check opens the file and closes it again, reading nothing: what `syncd
// validate --online` reports (the file exists and syncd may read it). The
// header and the rows are checked by a read.
func (s *Source) Check(ctx context.Context) error {
	f, _, err := ctxio.Open(ctx, func() (io.ReadCloser, error) { return s.open(s.cfg.Path) })
	if err != nil {
		return fmt.Errorf("open csv file: %w", err)
	}
	return f.Close()
}
