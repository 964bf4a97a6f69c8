package resources

import (
	"testing"
)

func BenchmarkParseEnvelopeAndQuery(b *testing.B) {
	r, _ := NewRegistry(nil)
	sc, _ := r.Schema("merchandise")
	body := []byte(`{"operation":"query","data":{"type.name":{"equals":"gear"},"name":{"contains":"rope"},"price":{"equals":1200},"sort":"-price"},"find":20}`)
	lim := DefaultJSONLimits()
	b.ReportAllocs()
	for b.Loop() {
		env, err := ParseEnvelope(body, lim)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sc.ParseQuery(env.Data, 1000); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateCreate(b *testing.B) {
	r, _ := NewRegistry(nil)
	sc, _ := r.Schema("gym")
	body := []byte(`{"operation":"create","data":{"name":"Iron","type":{"name":"boxing"},"address":"1 Main St","location":{"lat":1.5,"lng":2.5},"imageURLs":["a","b"]}}`)
	b.ReportAllocs()
	for b.Loop() {
		env, _ := ParseEnvelope(body, DefaultJSONLimits())
		if _, err := sc.ValidateCreate(env.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilterObject(b *testing.B) {
	raw := []byte(`{"_id":"6b03f719be7f9d73cad38d38","created_at":"2026-11-23T08:19:37.675761Z","location":{"lat":1.5,"lng":2},"name":"Iron","owner":"6b03f711fb9389a9895568a3","type":{"name":"boxing"},"updated_at":"2026-11-23T08:19:37.675761Z"}`)
	keep := func(k []byte) bool { return string(k) != "owner" }
	dst := make([]byte, 0, len(raw))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = filterObject(dst[:0], raw, keep); err != nil {
			b.Fatal(err)
		}
	}
}
