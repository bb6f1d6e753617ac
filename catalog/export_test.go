package catalog

import "time"

// SetStampSettle sets how long a file must be left alone before its stamp is trusted, and
// returns a function that restores it: tests write files and check at once.
func SetStampSettle(d time.Duration) (restore func()) {
	old := stampSettle
	stampSettle = d
	return func() { stampSettle = old }
}
