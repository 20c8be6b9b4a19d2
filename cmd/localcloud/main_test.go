package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
)

func TestTokenCommand(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, ".local")
	var out bytes.Buffer

	// No cloud: a clear error and nothing on stdout.
	err := token([]string{"-root", root}, &out)
	if err == nil || !strings.Contains(err.Error(), "not running") || out.Len() != 0 {
		t.Fatalf("err %v, out %q", err, out.String())
	}

	iss, _ := jwtissuer.New("http://127.0.0.1:3000/local-issuer", "partner-cloud-local")
	if err := iss.WriteKeyFile(filepath.Join(state, cloud.KeyFile)); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	eps, _ := json.Marshal(map[string]string{"api": "http://" + ln.Addr().String()})
	os.WriteFile(filepath.Join(state, cloud.EndpointsFile), eps, 0o644)

	// Key present but the API is down (a stale file): still not running.
	addr := ln.Addr().String()
	ln.Close()
	if err := token([]string{"-root", root}, &out); err == nil {
		t.Fatal("stale key accepted")
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skip("port reused:", err)
	}
	defer ln.Close()

	if err := token([]string{"-root", root, "-account", "acct-demo", "-roles", "admin, member"}, &out); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("stdout must be the token alone: %q", out.String())
	}
	claims, err := iss.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := claims["roles"].([]any)
	if claims["account_id"] != "acct-demo" || len(roles) != 2 || roles[1] != "member" || claims["sub"] != "local-user@acct-demo" {
		t.Errorf("claims %v", claims)
	}
}
