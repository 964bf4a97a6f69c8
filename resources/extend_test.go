package resources_test

import (
	"strings"
	"testing"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// TestExtendBuiltinResource: a resources file adds fields to a built-in
// resource and tightens its rules; it never loosens one, changes a type or
// touches anything but fields.
func TestExtendBuiltinResource(t *testing.T) {
	reg, err := resources.NewRegistry([]byte(`{"resources":[{"name":"profile","fields":{
		"first_name":{"type":"string","required":true,"pattern":"^[А-Я][а-я ]{1,255}$"},
		"last_name":{"required":true,"pattern":"^[А-Я][а-я ]{1,255}$"},
		"nickname":{"maxLength":20},
		"city":{"type":"string","maxLength":80}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	profile, _ := reg.Schema("profile")
	for name, c := range map[string]struct {
		data resources.Document
		code string
	}{
		"Cyrillic names":          {resources.Document{"first_name": "Данила", "last_name": "Гинда"}, ""},
		"a name in Latin letters": {resources.Document{"first_name": "Danila", "last_name": "Гинда"}, resources.EVALUE},
		"a digit (built-in rule)": {resources.Document{"first_name": "Данила", "last_name": "Гинда2"}, resources.EVALUE},
		"no last name":            {resources.Document{"first_name": "Данила"}, resources.ECREATION},
		"a long nickname":         {resources.Document{"first_name": "Данила", "last_name": "Гинда", "nickname": strings.Repeat("n", 21)}, resources.EVALUE},
		"the added field":         {resources.Document{"first_name": "Данила", "last_name": "Гинда", "city": "Москва"}, ""},
		"an email in capitals":    {resources.Document{"first_name": "Данила", "last_name": "Гинда", "email": "D@Example.ORG"}, ""},
	} {
		doc, err := profile.ValidateCreateGiven(c.data, resources.FieldUsername)
		if got := resources.ErrorCode(err); got != c.code {
			t.Errorf("%s: %v, want %q", name, err, c.code)
		}
		if name == "an email in capitals" && doc["email"] != "d@example.org" {
			t.Errorf("the email is stored as %v", doc["email"])
		}
		if name == "Cyrillic names" && doc["first_name"] != "Данила" {
			t.Errorf("the name is stored as %v", doc["first_name"])
		}
	}
	for name, file := range map[string]string{
		"loosen maxLength":   `{"name":"profile","fields":{"nickname":{"maxLength":65}}}`,
		"past the default":   `{"name":"profile","fields":{"avatar":{"maxLength":5000}}}`,
		"change a type":      `{"name":"profile","fields":{"nickname":{"type":"int"}}}`,
		"widen an enum":      `{"name":"transaction_record","fields":{"status":{"enum":["pending","lost"]}}}`,
		"lower a minimum":    `{"name":"merchandise","fields":{"price":{"min":-1}}}`,
		"raise a maximum":    `{"name":"merchandise","fields":{"stock":{"max":2000000000}}}`,
		"change the group":   `{"name":"gym","group":"everything","fields":{"name":{"required":true}}}`,
		"make it writable":   `{"name":"profile","fields":{"level":{"readOnly":false,"default":3}}}`,
		"a server field":     `{"name":"gym","fields":{"owner":{"type":"string"}}}`,
		"a nested loosening": `{"name":"gym","fields":{"type":{"fields":{"name":{"maxLength":101}}}}}`,
	} {
		if _, err := resources.NewRegistry([]byte(`{"resources":[` + file + `]}`)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestUniqueAndLowercaseFields: a field declared unique becomes a unique key
// of the collection; lowercase text is stored and compared in lower case.
func TestUniqueAndLowercaseFields(t *testing.T) {
	reg, err := resources.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	profile, _ := reg.Schema("profile")
	if got := resources.SpecFor(profile).Unique; strings.Join(got, ",") != "username,email" {
		t.Errorf("profile's unique keys: %v", got)
	}
	q, err := profile.ParseQuery(map[string]any{"email": map[string]any{"equals": "A@B.CD"}}, 10)
	if err != nil || q.Conditions[0].Value != "a@b.cd" {
		t.Errorf("an email in a query: %+v %v", q, err)
	}
	for name, file := range map[string]string{
		"unique int":       `{"name":"thing","fields":{"n":{"type":"int","unique":true}}}`,
		"nested unique":    `{"name":"thing","fields":{"a":{"type":"object","fields":{"b":{"type":"string","unique":true}}}}}`,
		"lowercase number": `{"name":"thing","fields":{"n":{"type":"number","lowercase":true}}}`,
	} {
		if _, err := resources.NewRegistry([]byte(`{"resources":[` + file + `]}`)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

}

// TestImageURLsAsOneString: a list of strings takes one string, as the
// original clients send it.
func TestImageURLsAsOneString(t *testing.T) {
	reg, _ := resources.NewRegistry(nil)
	gym, _ := reg.Schema("gym")
	for in, want := range map[string]int{"": 0, "https://example.org/a.png": 1} {
		doc, err := gym.ValidateCreate(resources.Document{"name": "G " + in, "imageURLs": in})
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := doc["imageURLs"].([]any); len(list) != want {
			t.Errorf("imageURLs %q became %v", in, doc["imageURLs"])
		}
	}
	if _, err := gym.ValidateCreate(resources.Document{"name": "G", "location": "here"}); resources.ErrorCode(err) != resources.EVALUE {
		t.Errorf("text for an object: %v", err)
	}
}

// TestSharedOwnedDocuments: an order resource users create, left in the
// data group every user may query, is found out; in a group of its own with
// query_own it is not.
func TestSharedOwnedDocuments(t *testing.T) {
	for name, c := range map[string]struct {
		file, extra string
		shared      bool
	}{
		"in the data group":     {`{"resources":[{"name":"order","fields":{"note":{"type":"string"}}}]}`, "p, user, order, create", true},
		"in a group of its own": {`{"resources":[{"name":"order","group":"orders","fields":{"note":{"type":"string"}}}]}`, "p, user, orders, create\np, user, orders, query_own", false},
		"a catalogue":           {`{"resources":[{"name":"coach","fields":{"note":{"type":"string"}}}]}`, "", false},
	} {
		reg, err := resources.NewRegistry([]byte(c.file))
		if err != nil {
			t.Fatal(err)
		}
		rules, _ := policy.ParseRules(policy.DefaultPolicy() + "\n" + c.extra)
		h, err := policy.NewHolder(policy.Config{Rules: rules, Groups: reg.Groups(), Actions: resources.EngineActions()})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(reg.SharedOwnedDocuments(h)) > 0; got != c.shared {
			t.Errorf("%s: shared %v, want %v", name, got, c.shared)
		}
	}
}
