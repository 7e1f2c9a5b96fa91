package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	gosync "sync"
	"time"
)

// certReloader holds the server's TLS certificate (--tls-cert, --tls-key) and reads the files
// again when either changes, checking at most every certRecheck, so a renewed certificate
// (certbot, cert-manager) is served without a restart.
type certReloader struct {
	certFile, keyFile string

	mu      gosync.Mutex
	cert    *tls.Certificate
	mtimes  [2]time.Time
	checked time.Time
}

const certRecheck = 30 * time.Second

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("server: TLS needs both a certificate file (--tls-cert) and its key (--tls-key)")
	}
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) stat() ([2]time.Time, error) {
	var m [2]time.Time
	for i, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m[i] = fi.ModTime()
	}
	return m, nil
}

func (c *certReloader) load() error {
	m, err := c.stat()
	if err != nil {
		return fmt.Errorf("server: TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.mtimes, c.checked = &cert, m, time.Now()
	return nil
}

// current returns the certificate to present, rereading the files if they changed. A file
// that is half-written or unreadable keeps the previous certificate in use.
func (c *certReloader) current() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < certRecheck {
		return c.cert
	}
	c.checked = time.Now()
	if m, err := c.stat(); err == nil && m != c.mtimes {
		prev := c.cert
		if err := c.load(); err != nil {
			c.cert = prev
		}
	}
	return c.cert
}

// serverConfig is the TLS configuration of both listeners (gRPC adds its own ALPN protocol).
func (c *certReloader) serverConfig(protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: protos,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current(), nil
		},
	}
}

// gatewayConfig is how the gateway dials this same process's gRPC port over loopback, where
// the certificate's names (the public host name) do not match: it accepts exactly the
// certificate this process serves, and nothing else.
func (c *certReloader) gatewayConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin below: the peer must present our own certificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			cur := c.current()
			if len(raw) == 0 || len(cur.Certificate) == 0 || !bytes.Equal(raw[0], cur.Certificate[0]) {
				return errors.New("gateway: the gRPC port presented another certificate than this server's")
			}
			return nil
		},
	}
}
