// Command medimg is the Medical Image Server: DICOMweb over a metadata store (SQLite or PostgreSQL)
// and a blob store. `medimg --help` lists its configuration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "medimg:", err)
		os.Exit(1)
	}
}
