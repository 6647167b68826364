package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/transport/kafka"
)

// selfSigned returns a server certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

// TLS with the broker's CA from a file (as Strimzi's cluster CA is mounted):
// the producer connects; without the CA, or with a missing CA file, it does not.
func TestTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	cfg.TLS, cfg.TLSCAFile = true, caFile
	produce(t, cfg, "tweets", 1, tweets(t, 3, "tls"))

	untrusted := cfg
	untrusted.TLSCAFile = ""
	if p, err := kafka.NewProducer(untrusted, "tweets"); err == nil {
		p.Close(t.Context())
		t.Fatal("connected without trusting the broker's CA")
	}
	missing := cfg
	missing.TLSCAFile = filepath.Join(t.TempDir(), "nope.crt")
	if _, err := missing.Sarama(); err == nil {
		t.Fatal("a missing CA file was accepted")
	}
	half := cfg
	half.TLSCertFile = caFile
	if _, err := half.Sarama(); err == nil {
		t.Fatal("a client certificate without a key was accepted")
	}
}

// A password file (a mounted Secret) wins over the password, without its
// trailing newline; a missing file fails naming it.
func TestSASLPasswordFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := kafka.Config{Brokers: []string{"x:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "env", SASLPasswordFile: file}
	sc, err := c.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	if sc.Net.SASL.Password != "s3cret" {
		t.Fatalf("password %q, want the file's", sc.Net.SASL.Password)
	}
	c.SASLPasswordFile = file + ".missing"
	if _, err := c.Sarama(); err == nil || !strings.Contains(err.Error(), "password.missing") {
		t.Fatalf("missing password file: %v", err)
	}
}
