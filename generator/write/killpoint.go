package write

import (
	"context"
	"fmt"
	"os"
)

// KillpointEnv names the environment variable that makes a build stop at one of its stages
// ("render", "swap", "cleanup") and wait there until its context ends, after printing
// "killpoint STAGE" on standard error: the tests kill a real `marketplace build` process at each
// stage with it. Unset in normal use.
const KillpointEnv = "MARKETPLACE_TEST_KILLPOINT"

var killpointStage = os.Getenv(KillpointEnv)

// killpoint waits at stage when the test asked for it, and reports whether ctx ended there.
func killpoint(ctx context.Context, stage string) error {
	if killpointStage != stage {
		return nil
	}
	fmt.Fprintf(os.Stderr, "killpoint %s\n", stage)
	<-ctx.Done()
	return ctx.Err()
}
