package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
)

// TestLogsHoldNoSecrets runs logins, refreshes, admin calls and money calls
// through a gateway and greps its whole log for every secret that passed
// through it; and checks that every request line carries a request id.
func TestLogsHoldNoSecrets(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	g := MustRun(t, cfg)
	secrets := []string{rootPass, base64.StdEncoding.EncodeToString([]byte(rootUser + ":" + rootPass)), "argon2id", "PRIVATE KEY"}

	info, err := crypto.FetchPublicKey(context.Background(), http.DefaultClient, g.url)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(fields map[string]any) string {
		plain, _ := crypto.StampPayload(fields, time.Now())
		jwe, _ := crypto.SealPayload(info, plain)
		secrets = append(secrets, jwe)
		return jwe
	}
	post := func(path, auth, body string) map[string]any {
		req, _ := http.NewRequest("POST", g.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Idempotency-Key", "log-test-key-"+path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Data map[string]any `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&env)
		return env.Data
	}
	const pass, newPass = "logged nowhere at all", "second secret phrase"
	secrets = append(secrets, pass, newPass)
	tk := post("/api/register", "", `{"payload":"`+seal(map[string]any{"username": "log_user", "password": pass})+`"}`)
	access, refresh := tk["access_token"].(string), tk["refresh_token"].(string)
	secrets = append(secrets, access, refresh, refresh[strings.Index(refresh, ".")+1:])
	post("/api/auth", "", `{"payload":"`+seal(map[string]any{"username": "log_user", "password": "a wrong guess here"})+`"}`)
	secrets = append(secrets, "a wrong guess here")
	next := post("/api/token/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	access2, refresh2 := next["access_token"].(string), next["refresh_token"].(string)
	secrets = append(secrets, access2, refresh2)
	withBearer(t, "GET", g.url+"/api/account/me", access2)
	req, _ := http.NewRequest("GET", g.url+"/api/admin/auth", nil)
	req.Header.Set("Authorization", rootAuth())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var adm struct {
		Data map[string]any `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&adm)
	resp.Body.Close()
	secrets = append(secrets, adm.Data["access_token"].(string))
	post("/api/account/password", "Bearer "+access2, `{"payload":"`+seal(map[string]any{"old_password": pass, "new_password": newPass})+`"}`)
	post("/api/transfer", "Bearer "+access2, `{"recipient":"`+rootUser+`","amount":1}`)
	withBearer(t, "DELETE", g.url+"/api/session", access2)
	g.shutdown(t)

	logs := g.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log holds a secret: %.24s…", s)
		}
	}
	requests := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("not a JSON log line: %s", sc.Text())
			continue
		}
		if line["msg"] == "request" {
			requests++
			if id, _ := line["request_id"].(string); len(id) < 8 {
				t.Errorf("request line without a request id: %s", sc.Text())
			}
		}
	}
	if requests < 8 {
		t.Errorf("only %d request lines logged", requests)
	}
}
