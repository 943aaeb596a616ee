package engine_test

import (
	"os"
	"testing"

	"nucleus/state/engine/internal/enginetest"
)

func TestMain(m *testing.M) {
	if sock := os.Getenv(childEnv); sock != "" {
		os.Exit(unprivilegedChild(sock))
	}
	os.Exit(enginetest.Main(m))
}
