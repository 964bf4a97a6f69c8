package mongo

import (
	"testing"

	"github.com/tnt/gateway/resources"
)

func BenchmarkFilter(b *testing.B) {
	q := resources.Query{Conditions: []resources.Condition{
		{Path: "type.name", Op: resources.Equals, Value: "boxing"},
		{Path: "name", Op: resources.Contains, Value: "iron"},
	}, SortPath: "price", SortDesc: true, After: &resources.Cursor{Value: int64(10), ID: "0123456789abcdef01234567"}, Limit: 21}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Filter(q); err != nil {
			b.Fatal(err)
		}
		if _, err := Sort(q); err != nil {
			b.Fatal(err)
		}
	}
}
