package main

import "time"

// notifyDrain bounds how long a finished command, or a daemon service that
// a reload replaced, waits for its webhook notifications (internal/notify)
// to be delivered.
const notifyDrain = 15 * time.Second
