package daemon_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/daemon"
)

// TestSystemdNotify runs the daemon with the real systemd notifier against
// a unixgram socket standing in for systemd's $NOTIFY_SOCKET.
func TestSystemdNotify(t *testing.T) {
	// Not parallel: it sets process environment.
	dir, err := os.MkdirTemp("", "sdn") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // 100ms: pings every 50ms
	t.Setenv("WATCHDOG_PID", "")

	msgs := make(chan string, 1000)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	defer func() { conn.Close(); <-readerDone }()

	d := daemon.New(daemon.Options{Notifier: daemon.SystemdNotifier{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, []daemon.Job{{Name: "a", Schedule: "@hourly"}}, func(context.Context, string) error { return nil })
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %s on the notify socket within 10s", want)
			}
		}
	}
	expect("READY=1")
	expect("WATCHDOG=1")
	expect("WATCHDOG=1")
	cancel()
	expect("STOPPING=1")
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestSystemdNotifierOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	var n daemon.SystemdNotifier
	if err := n.Notify("READY=1"); err != nil {
		t.Errorf("Notify without a socket: %v", err)
	}
	if d, err := n.WatchdogInterval(); d != 0 || err != nil {
		t.Errorf("WatchdogInterval = %v, %v; want 0, nil", d, err)
	}
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := n.WatchdogInterval(); err == nil {
		t.Error("WatchdogInterval accepted WATCHDOG_USEC=soon")
	}
}
