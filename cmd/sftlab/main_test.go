package main

import (
	"context"
	"os"
	"testing"
)

// mainEnv makes the test binary act as sftlab itself, so that tests can start real sftlab
// processes (os.Args[0] with this variable set) without building the binary.
const mainEnv = "SFTLAB_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
