// Package connflags gives the example commands ggufctl's connection flags:
// -tls, -tls-ca, -tls-cert, -tls-key, -tls-server-name, -token and
// -token-file, turned into ggufd.Dial options.
package connflags

import (
	"errors"
	"flag"

	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc"
)

// Flags holds the parsed connection flags.
type Flags struct {
	tls                          bool
	caFile, certFile, keyFile    string
	serverName, token, tokenFile string
}

// Register defines the flags on fs (flag.CommandLine for a command).
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.BoolVar(&f.tls, "tls", false, "use TLS, verifying the server with the system's roots")
	fs.StringVar(&f.caFile, "tls-ca", "", "PEM CA bundle that verifies the server (implies -tls)")
	fs.StringVar(&f.certFile, "tls-cert", "", "PEM client certificate for mTLS (implies -tls; needs -tls-key)")
	fs.StringVar(&f.keyFile, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&f.serverName, "tls-server-name", "", "verify the server's certificate for this name instead of the host of -server")
	fs.StringVar(&f.token, "token", "", "bearer token sent on every call (shows in ps: prefer -token-file)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token (first line)")
	return f
}

// DialOptions are the ggufd.Dial options the flags ask for (none for the
// defaults: plaintext, no token). It reads the files the flags name.
func (f *Flags) DialOptions() ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if (f.certFile == "") != (f.keyFile == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	if f.tls || f.caFile != "" || f.certFile != "" || f.serverName != "" {
		tlsOption, err := ggufd.WithTLS(ggufd.TLSOptions{CAFile: f.caFile,
			CertFile: f.certFile, KeyFile: f.keyFile, ServerName: f.serverName})
		if err != nil {
			return nil, err
		}
		opts = append(opts, tlsOption)
	}
	switch {
	case f.token != "" && f.tokenFile != "":
		return nil, errors.New("give -token or -token-file, not both")
	case f.token != "":
		opts = append(opts, ggufd.WithToken(f.token))
	case f.tokenFile != "":
		token, err := ggufd.ReadTokenFile(f.tokenFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ggufd.WithToken(token))
	}
	return opts, nil
}
