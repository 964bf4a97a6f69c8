package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tnt/gateway/crypto"
)

// fixture is what the scenarios need of a seeded gateway.
type fixture struct {
	admin, bearer string
	adminJWT      string
	gymID, merch  string
	query20Body   []byte
	logins        [][]byte
}

type scenario struct {
	name string
	next reqFunc
}

func adminAuth() string {
	return "tnt-admin-auth-scheme " + base64.StdEncoding.EncodeToString([]byte(rootUser+":"+rootPass))
}

func call(method, url, auth string, body []byte) (int, map[string]any, []byte, error) {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env.Data, raw, nil
}

func mustCall(method, url, auth string, body []byte, want int) (map[string]any, []byte, error) {
	status, data, raw, err := call(method, url, auth, body)
	if err != nil {
		return nil, nil, err
	}
	if status != want {
		return nil, nil, fmt.Errorf("%s %s: %d %s", method, url, status, raw)
	}
	return data, raw, nil
}

func payload(info crypto.PublicKeyInfo, fields map[string]any) ([]byte, error) {
	plain, err := crypto.StampPayload(fields, time.Now())
	if err != nil {
		return nil, err
	}
	jwe, err := crypto.SealPayload(info, plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"payload": jwe})
}

// seed creates docs gyms, a user with a bearer token and a wallet, and
// merchandise with stock for the purchase scenario.
func seed(base string, docs int) (*fixture, error) {
	f := &fixture{admin: adminAuth()}
	for i := range docs {
		body := fmt.Sprintf(`{"operation":"create","data":{"name":"gym %06d","type":{"name":"kind %d"},"address":"%d Main Street","description":"a gym for load tests"}}`, i, i%10, i)
		data, _, err := mustCall("POST", base+"/api/gym", f.admin, []byte(body), 201)
		if err != nil {
			return nil, err
		}
		if i == docs/2 {
			f.gymID, _ = data["_id"].(string)
		}
	}
	info, err := crypto.FetchPublicKey(context.Background(), http.DefaultClient, base)
	if err != nil {
		return nil, err
	}
	reg, err := payload(info, map[string]any{"username": "load_user", "password": "load user passphrase"})
	if err != nil {
		return nil, err
	}
	tk, _, err := mustCall("POST", base+"/api/register", "", reg, 201)
	if err != nil {
		return nil, err
	}
	f.bearer = "Bearer " + tk["access_token"].(string)
	me, _, err := mustCall("GET", base+"/api/account/me", f.bearer, nil, 200)
	if err != nil {
		return nil, err
	}
	if _, _, err := mustCall("POST", base+"/api/admin/users/"+me["_id"].(string)+"/balance", f.admin, []byte(`{"delta":1000000000000,"reason":"load"}`), 200); err != nil {
		return nil, err
	}
	m, _, err := mustCall("POST", base+"/api/merchandise", f.admin, []byte(`{"operation":"create","data":{"name":"load item","price":1,"stock":1000000000}}`), 201)
	if err != nil {
		return nil, err
	}
	f.merch = m["_id"].(string)
	at, _, err := mustCall("GET", base+"/api/admin/auth", f.admin, nil, 200)
	if err != nil {
		return nil, err
	}
	f.adminJWT = "Bearer " + at["access_token"].(string)
	_, f.query20Body, err = mustCall("POST", base+"/api/gym", f.bearer, []byte(`{"operation":"query","data":{},"find":20}`), 200)
	if err != nil {
		return nil, err
	}
	// Logins go to an account of their own: each makes a session, and
	// beyond the cap on sessions per account they end the oldest, which
	// must not be the bearer session the other scenarios use.
	reg, err = payload(info, map[string]any{"username": "login_user", "password": "login user passphrase"})
	if err != nil {
		return nil, err
	}
	if _, _, err := mustCall("POST", base+"/api/register", "", reg, 201); err != nil {
		return nil, err
	}
	for range 3000 {
		p, err := payload(info, map[string]any{"username": "login_user", "password": "login user passphrase"})
		if err != nil {
			return nil, err
		}
		f.logins = append(f.logins, p)
	}
	return f, nil
}

// loginsFromTheEnd makes requests that each take the next unused login
// payload from the end of the sealed ones, which the throughput run (from
// the start) has not spent: a payload is accepted once.
func (f *fixture) loginsFromTheEnd(base string) reqFunc {
	used := 0
	return postReq(base+"/api/auth", "", func(int64) []byte {
		used++
		return f.logins[len(f.logins)-used]
	})
}

// queryBody is the envelope of the authenticated 20-document query.
func (f *fixture) queryBody(int64) []byte { return []byte(`{"operation":"query","data":{},"find":20}`) }

func (f *fixture) scenarios(base string) []scenario {
	return []scenario{
		{"query 20 documents (envelope, bearer JWT)", postReq(base+"/api/gym", f.bearer, f.queryBody)},
		{"get by id (bearer JWT)", getReq(base+"/api/gym/"+f.gymID, f.bearer)},
		{"query 20 documents, no credentials (discovery)", getReq(base+"/api/discovery/gym?find=20", "")},
		{"create (bearer admin JWT)", postReq(base+"/api/gym", f.adminJWT, func(i int64) []byte {
			return []byte(`{"operation":"create","data":{"name":"load created ` + strconv.FormatInt(i, 10) + `-` + strconv.FormatInt(time.Now().UnixNano(), 36) + `"}}`)
		})},
		{"login (encrypted payload + argon2id)", postReq(base+"/api/auth", "", func(i int64) []byte { return f.logins[int(i)%len(f.logins)] })},
		{"purchase (bearer JWT, one store transaction)", postReq(base+"/api/perform_transaction", f.bearer, func(int64) []byte {
			return []byte(`{"items":[{"merchandise_id":"` + f.merch + `","quantity":1}]}`)
		})},
	}
}
