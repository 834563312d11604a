package daemon

import (
	"fmt"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// Notifier speaks the service manager's notify protocol.
type Notifier interface {
	// Notify sends one state line ("READY=1", "STOPPING=1", "WATCHDOG=1").
	// With no service manager listening it does nothing and returns nil.
	Notify(state string) error
	// WatchdogInterval returns the watchdog timeout the service manager
	// expects pings within; 0 when the watchdog is off.
	WatchdogInterval() (time.Duration, error)
}

// SystemdNotifier is the Notifier for systemd: it writes to the unixgram
// socket named by $NOTIFY_SOCKET and reads the watchdog timeout from
// $WATCHDOG_USEC (and $WATCHDOG_PID). Outside systemd both are unset and it
// does nothing.
type SystemdNotifier struct{}

var _ Notifier = SystemdNotifier{}

// Notify sends state to $NOTIFY_SOCKET, if set.
func (SystemdNotifier) Notify(state string) error {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %s: %w", state, err)
	}
	return nil
}

// WatchdogInterval returns $WATCHDOG_USEC as a duration, or 0.
func (SystemdNotifier) WatchdogInterval() (time.Duration, error) {
	d, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("systemd watchdog: %w", err)
	}
	return d, nil
}
