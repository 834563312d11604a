package daemon

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"go.uber.org/zap"
)

// Signals turns process signals into what Run and Reload need. The returned
// context is cancelled by the first SIGTERM or SIGINT (a graceful stop); a
// second one calls exit(1) at once, for an operator who will not wait.
// Each SIGHUP sends on reload (coalesced: a SIGHUP arriving while one is
// pending is merged with it). stop releases the signals and must be called
// when the daemon has returned. exit nil means os.Exit.
func Signals(ctx context.Context, logger *zap.Logger, exit func(code int)) (_ context.Context, reload <-chan struct{}, stop func()) {
	if exit == nil {
		exit = os.Exit
	}
	ctx, cancel := context.WithCancel(ctx)
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	reloadc := make(chan struct{}, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		stopping := false
		for {
			select {
			case <-done:
				return
			case sig := <-sigc:
				switch {
				case sig == syscall.SIGHUP:
					logger.Info("reload requested", zap.String("signal", sig.String()))
					select {
					case reloadc <- struct{}{}:
					default:
					}
				case !stopping:
					stopping = true
					logger.Info("shutting down; send the signal again to exit at once", zap.String("signal", sig.String()))
					cancel()
				default:
					logger.Warn("second stop signal: exiting at once", zap.String("signal", sig.String()))
					exit(1)
				}
			}
		}
	}()
	var once sync.Once
	return ctx, reloadc, func() {
		once.Do(func() {
			signal.Stop(sigc)
			close(done)
			wg.Wait()
			cancel()
		})
	}
}
