//go:build !unix

package sqlite

// generation is absent where shared mappings are not supported: the store
// then has no Generation, and a session cache over it reads the store on
// every check.
type generation struct{}

func openGeneration(string) (*generation, error) { return nil, nil }

func (*generation) load() uint64 { return 0 }

func (*generation) bump() {}

func (*generation) close() error { return nil }
