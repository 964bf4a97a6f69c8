package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/resources/mail/mailtest"
)

func knownSettings() map[string]bool {
	out := map[string]bool{}
	for _, s := range config.Settings() {
		out[s.Name] = true
	}
	return out
}

// envExample reads .env.example as the compose file's environment.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

// TestComposeFile parses docker-compose.yml with the Compose specification's
// own loader (no Docker engine runs on the build machines) and checks what an
// operator relies on.
func TestComposeFile(t *testing.T) {
	dir, _ := filepath.Abs("../..")
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml")}},
		Environment: envExample(t),
	}, func(o *loader.Options) { o.SetProjectName("gateway", true) })
	if err != nil {
		t.Fatalf("compose file: %v", err)
	}
	for _, name := range []string{"gateway", "mongo", "redis", "mailpit", "minio"} {
		if _, ok := project.Services[name]; !ok {
			t.Fatalf("no %s service", name)
		}
	}
	gw := project.Services["gateway"]
	if smtp := gw.Environment["GATEWAY_SMTP_URL"]; smtp == nil || *smtp != "smtp://mailpit:1025" {
		t.Errorf("the gateway's mail does not go to the compose file's Mailpit: %v", smtp)
	}
	if s3 := gw.Environment["GATEWAY_S3_ENDPOINT"]; s3 == nil || *s3 != "http://minio:9000" {
		t.Errorf("the gateway's files do not go to the compose file's MinIO: %v", s3)
	}
	if len(project.Services["minio"].Ports) != 0 {
		t.Error("MinIO is published beyond the compose network")
	}
	for _, p := range project.Services["mailpit"].Ports {
		if p.HostIP != "127.0.0.1" {
			t.Errorf("Mailpit's inbox is published beyond this machine: %+v", p)
		}
	}
	for _, dep := range []string{"mongo", "redis"} {
		if gw.DependsOn[dep].Condition != types.ServiceConditionHealthy {
			t.Errorf("gateway depends on %s without waiting for it to be healthy: %+v", dep, gw.DependsOn[dep])
		}
		if project.Services[dep].HealthCheck == nil || len(project.Services[dep].HealthCheck.Test) == 0 {
			t.Errorf("%s has no health check", dep)
		}
		if len(project.Services[dep].Volumes) == 0 {
			t.Errorf("%s keeps no volume", dep)
		}
	}
	known := knownSettings()
	for k, v := range gw.Environment {
		if strings.HasPrefix(k, "GATEWAY_") && !known[k] {
			t.Errorf("compose sets %s, which the gateway does not know", k)
		}
		if v == nil || *v == "" {
			t.Errorf("compose sets %s to nothing", k)
		}
	}
	for _, k := range []string{"GATEWAY_MONGO_URI", "GATEWAY_REDIS_URL", "GATEWAY_BOOTSTRAP_USER", "GATEWAY_BOOTSTRAP_PASSWORD"} {
		if gw.Environment[k] == nil {
			t.Errorf("compose does not set %s", k)
		}
	}
	if uri := *gw.Environment["GATEWAY_MONGO_URI"]; !strings.Contains(uri, "replicaSet=") {
		t.Errorf("MongoDB is not used as a replica set: %s", uri)
	}
	redisCmd := strings.Join(project.Services["redis"].Command, " ")
	for _, want := range []string{"--requirepass", "--appendonly yes", "noeviction"} {
		if !strings.Contains(redisCmd, want) {
			t.Errorf("redis command lacks %s: %s", want, redisCmd)
		}
	}
	if !strings.Contains(strings.Join(project.Services["mongo"].Command, " "), "--replSet") {
		t.Error("mongo is not started as a replica set")
	}
	// The image: multi-stage, static, non-root, with a health check.
	df, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AS build", "CGO_ENABLED=0", "USER nonroot", "HEALTHCHECK", "-healthcheck"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// manifests reads every YAML document under deploy/k8s.
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob("../../deploy/k8s/*.yaml")
	out := map[string]map[string]any{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(fh)
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			out[kind] = doc
		}
		fh.Close()
	}
	return out
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestKubernetesManifests(t *testing.T) {
	m := manifests(t)
	for _, kind := range []string{"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret"} {
		if m[kind] == nil {
			t.Fatalf("no %s manifest", kind)
		}
	}
	d := m["Deployment"]
	if dig(d, "spec", "replicas") != 3 {
		t.Errorf("replicas: %v", dig(d, "spec", "replicas"))
	}
	c := dig(d, "spec", "template", "spec", "containers", 0)
	if dig(c, "readinessProbe", "httpGet", "path") != "/readyz" || dig(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Error("probes are not /readyz and /healthz")
	}
	for _, r := range []string{"requests", "limits"} {
		if dig(c, "resources", r, "cpu") == nil || dig(c, "resources", r, "memory") == nil {
			t.Errorf("no resource %s", r)
		}
	}
	if dig(c, "securityContext", "readOnlyRootFilesystem") != true || dig(d, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("the container may write its root filesystem or run as root")
	}
	if dig(m["PodDisruptionBudget"], "spec", "minAvailable") == nil {
		t.Error("the disruption budget keeps nothing available")
	}
	if dig(m["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name") != "gateway" {
		t.Error("the autoscaler does not scale the gateway")
	}
	known := knownSettings()
	names := []string{}
	for k := range dig(m["ConfigMap"], "data").(map[string]any) {
		names = append(names, k)
	}
	env, _ := dig(c, "env").([]any)
	for _, e := range env {
		names = append(names, dig(e, "name").(string))
	}
	for k := range dig(m["Secret"], "stringData").(map[string]any) {
		if strings.HasPrefix(k, "GATEWAY_") {
			names = append(names, k)
		}
	}
	for _, k := range names {
		if !known[k] {
			t.Errorf("the manifests set %s, which the gateway does not know", k)
		}
	}
	keyring := dig(m["ConfigMap"], "data", "GATEWAY_KEYRING_FILE")
	if keyring != "/keys/keyring.json" {
		t.Errorf("keyring file: %v", keyring)
	}
}

// TestGrafanaDashboard: the dashboard parses and graphs only series the
// gateway exports.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	// With a mail server, so the outbox's series exist.
	cfg.SMTPURL, cfg.MailFrom, cfg.PublicURL = mailtest.Start(t, mailtest.Options{}).URL(), "noreply@example.com", "http://localhost"
	g := MustRun(t, cfg)
	do(t, "GET", g.url+"/api/gym", "")
	// A policy denial, so its series exists.
	_, tk := payloadCall(t, g.url, "/api/register", map[string]any{"username": "dash_user", "password": "a fine long password"})
	withBearerBody(t, "POST", g.url+"/api/gym", tk["access_token"].(string), `{"operation":"create","data":{"name":"x"}}`)
	_, metrics := do(t, "GET", g.url+"/metrics", "")
	series := regexp.MustCompile(`\b(gateway_[a-z_]+|go_[a-z_]+)\b`)
	seen := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range series.FindAllString(tg.Expr, -1) {
				seen++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
				if !strings.Contains(metrics, "# TYPE "+base+" ") {
					t.Errorf("panel %q graphs %s, which /metrics does not export", p.Title, name)
				}
			}
		}
	}
	if len(dash.Panels) < 6 || seen < 8 {
		t.Errorf("the dashboard graphs too little: %d panels, %d series", len(dash.Panels), seen)
	}
}
