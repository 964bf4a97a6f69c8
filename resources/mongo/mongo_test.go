package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/mongo"
	"github.com/tnt/gateway/resources/storetest"
)

// MustOpen connects to GATEWAY_TEST_MONGO_URI with a throw-away database,
// dropped when the test ends. Without the variable the test is skipped: no
// MongoDB server can run on the build machines; CI for real deployments sets it.
func MustOpen(tb testing.TB) resources.Store {
	tb.Helper()
	uri := os.Getenv("GATEWAY_TEST_MONGO_URI")
	if uri == "" {
		tb.Skip("GATEWAY_TEST_MONGO_URI is not set; MongoDB conformance skipped")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s, err := mongo.Open(uri, "gateway_test_"+hex.EncodeToString(b[:]))
	if err != nil {
		tb.Fatalf("open mongo: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.DropDatabase(ctx)
		_ = s.Close(ctx)
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, MustOpen)
}
