package resources_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tnt/gateway"

// listed is what `go list -json` says of a package.
type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) map[string]listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = filepath.Join("..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// TestImportDirection keeps the layers as the README draws them:
// cmd → gateway → resources/{account,wallet,admin} → resources → crypto,
// policy. The domain (the kernel and the three areas) knows nothing of
// HTTP, the areas never import each other, and nothing below gateway
// imports it.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	areas := []string{"resources/account", "resources/wallet", "resources/admin"}
	domain := append([]string{"resources"}, areas...)
	for _, name := range domain {
		p, ok := pkgs[name]
		if !ok {
			t.Fatalf("package %s is missing", name)
		}
		for _, forbidden := range []string{"net/http", "net/url", "github.com/gin-gonic/gin"} {
			if slices.Contains(p.Imports, forbidden) {
				t.Errorf("%s imports %s: the domain knows nothing of HTTP", name, forbidden)
			}
		}
		for _, other := range areas {
			if other != name && slices.Contains(p.Deps, module+"/"+other) {
				t.Errorf("%s depends on %s: areas reach each other only through interfaces", name, other)
			}
		}
	}
	for name, p := range pkgs {
		ours := func(dep string) bool { return strings.HasPrefix(dep, module+"/") }
		for _, dep := range p.Imports {
			if !ours(dep) {
				continue
			}
			dep = strings.TrimPrefix(dep, module+"/")
			switch {
			case strings.HasPrefix(name, "resources") && (dep == "gateway" || strings.HasPrefix(dep, "cmd/")):
				t.Errorf("%s imports %s: dependencies point inward", name, dep)
			case name == "gateway" && strings.HasPrefix(dep, "cmd/"):
				t.Errorf("gateway imports %s", dep)
			case (name == "policy" || name == "crypto") && ours(module+"/"+dep):
				t.Errorf("%s imports %s: it imports nothing of ours", name, dep)
			}
		}
	}
	if gw := pkgs["gateway"]; !slices.Contains(gw.Deps, module+"/resources/wallet") || !slices.Contains(pkgs["cmd/gateway"].Deps, module+"/gateway") {
		t.Error("the layers are not wired as drawn: cmd/gateway → gateway → resources/wallet")
	}
}

// TestREADMENamesEveryPackage: the README's layout table has a line for
// every package of the module.
func TestREADMENamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range listPackages(t) {
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("the README's layout table does not name %s", name)
		}
	}
}
