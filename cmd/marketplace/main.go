// Command marketplace validates, verifies and publishes an HSP Marketplace catalog repository.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hspc/marketplace/cmd/marketplace/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
