package ggufd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestBearerTokenMetadata(t *testing.T) {
	md, err := BearerToken("abc.DEF-123_~+/=").GetRequestMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"authorization": "Bearer abc.DEF-123_~+/="}; !reflect.DeepEqual(md, want) {
		t.Errorf("metadata %v, want %v", md, want)
	}
	// Loopback plaintext with a token is how ggufd runs by default.
	if BearerToken("x").RequireTransportSecurity() || TokenSource(nil).RequireTransportSecurity() {
		t.Error("the token credentials must not require TLS")
	}
	for _, bad := range []string{"", "two words", "line\nbreak", "tab\t", "caf\u00e9"} {
		_, err := BearerToken(bad).GetRequestMetadata(context.Background())
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("token %q: got %v, want an UNAUTHENTICATED status", bad, err)
		}
	}
}

func TestTokenSourceMetadata(t *testing.T) {
	type key struct{}
	src := TokenSource(func(ctx context.Context) (string, error) {
		return ctx.Value(key{}).(string), nil
	})
	md, err := src.GetRequestMetadata(context.WithValue(context.Background(), key{}, "from-ctx"))
	if err != nil || md["authorization"] != "Bearer from-ctx" {
		t.Errorf("got %v, %v; the source must see the call's context", md, err)
	}
	failing := TokenSource(func(context.Context) (string, error) { return "", errors.New("vault sealed") })
	_, err = failing.GetRequestMetadata(context.Background())
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "vault sealed") {
		t.Errorf("got %v, want UNAUTHENTICATED naming the cause", err)
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if got, err := ReadTokenFile(write("t", "  secret-1\r\nsecond line\n")); err != nil || got != "secret-1" {
		t.Errorf("ReadTokenFile = %q, %v; want the first line, trimmed", got, err)
	}
	if _, err := ReadTokenFile(write("empty", "\n")); err == nil {
		t.Error("an empty token file must be an error")
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNewTLSConfig(t *testing.T) {
	cfg, err := NewTLSConfig(TLSOptions{ServerName: "ggufd.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs != nil || cfg.ServerName != "ggufd.internal" || len(cfg.Certificates) != 0 {
		t.Errorf("zero options must mean the system roots, no client certificate: %+v", cfg)
	}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]TLSOptions{
		"missing CA file":      {CAFile: filepath.Join(dir, "missing.pem")},
		"CA file without PEM":  {CAFile: notPEM},
		"CA bytes without PEM": {CA: []byte("hello")},
		"certificate, no key":  {CertFile: notPEM},
		"key, no certificate":  {Key: []byte("k")},
		"file and bytes":       {CertFile: notPEM, Cert: []byte("c"), KeyFile: notPEM},
		"not a certificate":    {CertFile: notPEM, KeyFile: notPEM},
		"missing key file":     {CertFile: notPEM, KeyFile: filepath.Join(dir, "missing.key")},
	} {
		if _, err := NewTLSConfig(o); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := WithTLS(o); err == nil {
			t.Errorf("%s: WithTLS gave no error", name)
		}
	}
}
