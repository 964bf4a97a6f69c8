package resources

import (
	"strings"
	"testing"
)

func TestValidateCreate(t *testing.T) {
	r := mustRegistry(t, "")
	merch := mustSchema(t, r, "merchandise")
	doc, err := merch.ValidateCreate(decodeData(t, `{"name":"Rope","type":{"name":"gear"},"price":1200,"imageURLs":["a","b"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if doc["price"] != int64(1200) || doc["stock"] != int64(0) {
		t.Errorf("price and default stock: %#v", doc)
	}
	profile := mustSchema(t, r, "profile")
	bad := []struct {
		name string
		sc   *Schema
		data string
		code string
		msg  string
	}{
		{"missing required", merch, `{"price":1}`, ECREATION, "name is required for creating merchandise"},
		{"unknown field", merch, `{"name":"a","colour":"red"}`, EPARAMETER, "colour cannot be found in merchandise"},
		{"unknown nested field", merch, `{"name":"a","type":{"name":"x","secret":1}}`, EPARAMETER, "type.secret cannot be found in merchandise"},
		{"server-managed _id", merch, `{"name":"a","_id":"0123456789abcdef01234567"}`, EPARAMETER, "_id cannot be set in merchandise"},
		{"server-managed owner", merch, `{"name":"a","owner":"x"}`, EPARAMETER, "owner cannot be set in merchandise"},
		{"server-managed created_at", merch, `{"name":"a","created_at":"2020-01-01T00:00:00Z"}`, EPARAMETER, "created_at cannot be set in merchandise"},
		{"negative price", merch, `{"name":"a","price":-1}`, EVALUE, "price must be at least 0"},
		{"fractional price", merch, `{"name":"a","price":0.1}`, EVALUE, "price must be an integer"},
		{"price as text", merch, `{"name":"a","price":"10"}`, EVALUE, "price must be an integer"},
		{"huge price", merch, `{"name":"a","price":1e400}`, EVALUE, "price must be an integer"},
		{"beyond int64", merch, `{"name":"a","price":9223372036854775808}`, EVALUE, "price must be an integer"},
		{"extended JSON", merch, `{"name":{"$oid":"0123456789abcdef01234567"}}`, EVALUE, "name must be a string"},
		{"null required", merch, `{"name":null}`, EVALUE, "name cannot be null"},
		{"list of objects", merch, `{"name":"a","imageURLs":[{"$x":1}]}`, EVALUE, "imageURLs[] must be a string"},
		{"too long", merch, `{"name":"` + strings.Repeat("x", 201) + `"}`, EVALUE, "name is longer than 200 characters"},
		{"NUL in text", merch, `{"name":"a\u0000b"}`, EVALUE, "name cannot contain NUL characters"},
		{"bad gym id", merch, `{"name":"a","gym_id":"nope"}`, EVALUE, "gym_id does not match the pattern ^[0-9a-f]{24}$"},
		{"read-only on profile", profile, `{"level":0}`, EPARAMETER, "level cannot be set in profile"},
	}
	for _, c := range bad {
		_, err := c.sc.ValidateCreate(decodeData(t, c.data))
		if ErrorCode(err) != c.code || ErrorMessage(err) != c.msg {
			t.Errorf("%s: got %s %q, want %s %q", c.name, ErrorCode(err), ErrorMessage(err), c.code, c.msg)
		}
	}
}

func TestValidateUpdate(t *testing.T) {
	r := mustRegistry(t, "")
	profile := mustSchema(t, r, "profile")
	u, err := profile.ValidateUpdate(decodeData(t, `{"_id":"0123456789abcdef01234567","nickname":"Kim","phone":null,"background_color":"#a0b1c2","birthday":"1990-02-28"}`))
	if err != nil {
		t.Fatal(err)
	}
	if u.Set["nickname"] != "Kim" || len(u.Unset) != 1 || u.Unset[0] != "phone" {
		t.Errorf("update: %+v", u)
	}
	bad := []struct{ data, code, msg string }{
		{`{"nickname":"x"}`, EINVALIDREQUEST, "_id is required for the request"},
		{`{"_id":"0123456789abcdef01234567"}`, EINVALIDREQUEST, "a field to change is required for the request"},
		{`{"_id":"nope","nickname":"x"}`, EVALUE, "_id must be a string of 24 hexadecimal characters"},
		{`{"_id":"0123456789abcdef01234567","balance":100}`, EPARAMETER, "balance cannot be set in profile"},
		{`{"_id":"0123456789abcdef01234567","level":0}`, EPARAMETER, "level cannot be set in profile"},
		{`{"_id":"0123456789abcdef01234567","username":"root"}`, EPARAMETER, "username cannot be set in profile"},
		{`{"_id":"0123456789abcdef01234567","password_hash":"x"}`, EPARAMETER, "password_hash cannot be found in profile"},
		{`{"_id":"0123456789abcdef01234567","background_color":"red"}`, EVALUE, "background_color does not match the pattern ^#[0-9a-fA-F]{6}$"},
		{`{"_id":"0123456789abcdef01234567","birthday":"1990-02-30"}`, EVALUE, "birthday must be a date as YYYY-MM-DD"},
	}
	for _, c := range bad {
		_, err := profile.ValidateUpdate(decodeData(t, c.data))
		if ErrorCode(err) != c.code || ErrorMessage(err) != c.msg {
			t.Errorf("%s: got %s %q, want %s %q", c.data, ErrorCode(err), ErrorMessage(err), c.code, c.msg)
		}
	}
}

func TestRegistryFromFile(t *testing.T) {
	r := mustRegistry(t, `{"resources":[{"name":"coach","discoverable":true,"unique":"name","public":["name","specialty"],
		"fields":{"name":{"type":"string","required":true},"specialty":{"type":"string","indexed":true},
		"rating":{"type":"int","min":0,"max":5},"certs":{"type":"array","items":{"type":"object","fields":{"title":{"type":"string"}}}}}}]}`)
	coach := mustSchema(t, r, "coach")
	if !coach.Discoverable || !coach.IsPublic("specialty") || coach.IsPublic("rating") || coach.IsPublic("owner") {
		t.Errorf("coach schema: %+v", coach)
	}
	if _, err := coach.ValidateCreate(decodeData(t, `{"name":"Lee","rating":6}`)); ErrorMessage(err) != "rating must be at most 5" {
		t.Errorf("rating bound: %v", err)
	}
	if _, err := coach.ValidateCreate(decodeData(t, `{"name":"Lee","certs":[{"title":"a","x":1}]}`)); ErrorMessage(err) != "certs[].x cannot be found in coach" {
		t.Errorf("nested list object: %v", err)
	}
	bad := map[string]string{
		"reserved name":    `{"resources":[{"name":"admin","fields":{"a":{"type":"string"}}}]}`,
		"built-in clash":   `{"resources":[{"name":"gym","unique":"a","fields":{"a":{"type":"string","required":true}}}]}`,
		"bad field name":   `{"resources":[{"name":"x","fields":{"$where":{"type":"string"}}}]}`,
		"dotted name":      `{"resources":[{"name":"x","fields":{"a.b":{"type":"string"}}}]}`,
		"unknown type":     `{"resources":[{"name":"x","fields":{"a":{"type":"date"}}}]}`,
		"unknown key":      `{"resources":[{"name":"x","fieldz":{}}]}`,
		"bad pattern":      `{"resources":[{"name":"x","fields":{"a":{"type":"string","pattern":"("}}}]}`,
		"optional unique":  `{"resources":[{"name":"x","unique":"a","fields":{"a":{"type":"string"}}}]}`,
		"upper-case name":  `{"resources":[{"name":"Coach","fields":{"a":{"type":"string"}}}]}`,
		"bad default":      `{"resources":[{"name":"x","fields":{"a":{"type":"int","default":"1"}}}]}`,
		"unknown public":   `{"resources":[{"name":"x","public":["b"],"fields":{"a":{"type":"string"}}}]}`,
		"users collection": `{"resources":[{"name":"x","collection":"users","fields":{"a":{"type":"string"}}}]}`,
	}
	for name, file := range bad {
		if _, err := NewRegistry([]byte(file)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
