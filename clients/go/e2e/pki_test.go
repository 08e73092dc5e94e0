package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pki is a throw-away certificate authority made with the openssl CLI in a
// test's temporary directory, issuing certificates the way the server's own
// tests do (tests/service/security_testing.cc): P-256 keys, a server
// certificate for localhost and 127.0.0.1, client certificates whose
// identity is a URI SAN (a SPIFFE id).
type pki struct {
	t    *testing.T
	dir  string
	name string
}

// newPKI makes a CA named name ("<name>-ca") under a new temporary dir.
func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	p := &pki{t: t, dir: t.TempDir(), name: name}
	p.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "2", "-subj", "/CN="+name+"-ca",
		"-keyout", p.path("ca.key"), "-out", p.CA())
	return p
}

func (p *pki) path(file string) string { return filepath.Join(p.dir, file) }

// CA is the CA certificate's PEM file.
func (p *pki) CA() string { return p.path("ca.pem") }

// Cert and Key are the PEM files of a certificate this CA issued.
func (p *pki) Cert(name string) string { return p.path(name + ".pem") }
func (p *pki) Key(name string) string  { return p.path(name + ".key") }

// IssueServer issues the server certificate "server" for localhost and
// 127.0.0.1.
func (p *pki) IssueServer() {
	p.issue("server", "/CN="+p.name+"-server",
		"subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
}

// IssueClient issues the client certificate name whose URI SAN is uri, the
// identity an auth file's "cert:<uri>" line matches.
func (p *pki) IssueClient(name, uri string) {
	p.issue(name, "/CN="+name, "subjectAltName=URI:"+uri+"\nextendedKeyUsage=clientAuth\n")
}

func (p *pki) issue(name, subject, extensions string) {
	p.t.Helper()
	ext := p.path(name + ".ext")
	if err := os.WriteFile(ext, []byte(extensions), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-subj", subject, "-keyout", p.Key(name), "-out", p.path(name+".csr"))
	p.openssl("x509", "-req", "-days", "2", "-in", p.path(name+".csr"),
		"-CA", p.CA(), "-CAkey", p.path("ca.key"), "-CAcreateserial",
		"-CAserial", p.path("ca.srl"), "-extfile", ext, "-out", p.Cert(name))
}

func (p *pki) openssl(args ...string) {
	p.t.Helper()
	if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
		p.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// authLine is an auth file line for a bearer token: the token's hex SHA-256
// (what `ggufd hash-token` prints), its role and the principal's name.
func authLine(token, role, name string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:]) + " " + role + " " + name + "\n"
}

// writeFile writes text to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
