package ggufd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// TLSOptions says how to verify a ggufd server started with --tls-cert and,
// for one started with --tls-client-ca (mTLS), which certificate to present.
// The zero value is TLS verified against the system's roots (ggufctl --tls).
// Files are read once, by NewTLSConfig or WithTLS: dial again to pick up a
// rotated certificate.
type TLSOptions struct {
	// CAFile is a PEM bundle of the CAs that may sign the server's
	// certificate (ggufctl --tls-ca). CA holds the same as PEM bytes; when
	// both are given, the certificates of both are trusted. Without either
	// the system's roots are.
	CAFile string
	CA     []byte
	// CertFile and KeyFile (ggufctl --tls-cert, --tls-key) are the client's
	// PEM certificate chain and private key; Cert and Key are the same as
	// PEM bytes. Give both halves of one pair, or none.
	CertFile, KeyFile string
	Cert, Key         []byte
	// ServerName is the name the server's certificate must carry and the
	// SNI sent (ggufctl --tls-server-name), for a server reached by an
	// address its certificate does not name. Empty means the target's host.
	ServerName string
}

// NewTLSConfig builds the client's TLS configuration from o, reading its
// files now. Use it to make credentials yourself (credentials.NewTLS);
// WithTLS does that for Dial.
func NewTLSConfig(o TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" || len(o.CA) > 0 {
		pool := x509.NewCertPool()
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ggufd: reading the CA bundle: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ggufd: no PEM certificate in the CA bundle %s", o.CAFile)
			}
		}
		if len(o.CA) > 0 && !pool.AppendCertsFromPEM(o.CA) {
			return nil, errors.New("ggufd: no PEM certificate in TLSOptions.CA")
		}
		cfg.RootCAs = pool
	}
	cert, err := clientCertificate(o)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg, nil
}

// clientCertificate loads the mTLS pair of o, nil when o names none.
func clientCertificate(o TLSOptions) (*tls.Certificate, error) {
	if o.CertFile != "" && len(o.Cert) > 0 || o.KeyFile != "" && len(o.Key) > 0 {
		return nil, errors.New("ggufd: give the client certificate and key as files or as bytes, not both")
	}
	certPEM, keyPEM := o.Cert, o.Key
	if o.CertFile != "" {
		var err error
		if certPEM, err = os.ReadFile(o.CertFile); err != nil {
			return nil, fmt.Errorf("ggufd: reading the client certificate: %w", err)
		}
	}
	if o.KeyFile != "" {
		var err error
		if keyPEM, err = os.ReadFile(o.KeyFile); err != nil {
			return nil, fmt.Errorf("ggufd: reading the client key: %w", err)
		}
	}
	switch {
	case len(certPEM) == 0 && len(keyPEM) == 0:
		return nil, nil
	case len(certPEM) == 0:
		return nil, errors.New("ggufd: a client key needs its certificate (CertFile or Cert)")
	case len(keyPEM) == 0:
		return nil, errors.New("ggufd: a client certificate needs its key (KeyFile or Key)")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ggufd: the client certificate and key: %w", err)
	}
	return &cert, nil
}

// WithTLS is the Dial option for a TLS (or mTLS) server: it replaces Dial's
// plaintext default. It fails when a file is unreadable or not PEM.
func WithTLS(o TLSOptions) (grpc.DialOption, error) {
	cfg, err := NewTLSConfig(o)
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// BearerToken is a fixed token as gRPC call credentials: every call carries
// "authorization: Bearer <token>" metadata, which a server started with
// --auth-file checks. Give it to Dial with WithToken, or to one call of a
// client dialed without a token with
// grpc.PerRPCCredentials(ggufd.BearerToken(token)). gRPC sends both when a
// client has both, and ggufd refuses a call with two authorization headers.
//
// It does not require TLS (RequireTransportSecurity is false), so a token
// also works over ggufd's default loopback plaintext; over any other network
// use TLS, or the token can be read on the way.
type BearerToken string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t BearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return bearerMetadata(string(t))
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: false,
// see BearerToken.
func (BearerToken) RequireTransportSecurity() bool { return false }

// TokenSource yields the token for each call, for tokens that change while
// the client runs (a file a secret manager rewrites, a vault). It is called
// once per call with the call's context; an error fails that call with
// codes.Unauthenticated (errors.Is(err, ErrUnauthenticated)) before anything
// is sent. Like BearerToken it works over plaintext too.
//
//	src := ggufd.TokenSource(func(context.Context) (string, error) {
//		return ggufd.ReadTokenFile("/var/run/secrets/ggufd/token")
//	})
//	c, err := ggufd.Dial(addr, tlsOption, ggufd.WithTokenSource(src))
type TokenSource func(ctx context.Context) (string, error)

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (s TokenSource) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	token, err := s(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "ggufd: getting the bearer token: %v", err)
	}
	return bearerMetadata(token)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: false,
// see BearerToken.
func (TokenSource) RequireTransportSecurity() bool { return false }

// WithToken is the Dial option that sends token on every call (see
// BearerToken).
func WithToken(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(BearerToken(token))
}

// WithTokenSource is the Dial option that asks src for the token of every
// call (see TokenSource).
func WithTokenSource(src TokenSource) grpc.DialOption {
	return grpc.WithPerRPCCredentials(src)
}

// ReadTokenFile reads a token from the first line of a file (ggufctl
// --token-file), without its line ending and surrounding blanks.
func ReadTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ggufd: reading the token file: %w", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	token := strings.TrimSpace(string(line))
	if token == "" {
		return "", fmt.Errorf("ggufd: the token file %s is empty", path)
	}
	return token, nil
}

// bearerMetadata is the authorization header for token. An empty token or
// one that cannot be a header value is refused here, with a clear error,
// rather than sent and answered with "unknown token". The error is an
// UNAUTHENTICATED status: gRPC passes that code through for call
// credentials given to Dial and to one call alike (another error would
// become UNAUTHENTICATED for the first and INTERNAL for the second).
func bearerMetadata(token string) (map[string]string, error) {
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, "ggufd: empty bearer token")
	}
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return nil, status.Error(codes.Unauthenticated,
				"ggufd: the bearer token has a blank, control or non-ASCII character")
		}
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}
