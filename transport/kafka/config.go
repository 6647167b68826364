// Package kafka carries tweetflow's CloudEvents over Kafka with sarama and
// the CloudEvents Kafka binding (binary mode: attributes in ce_ headers, the
// data as the record value, the partitionkey extension — the tweet id — as
// the record key). The Producer is idempotent with acks=all; the Consumer is
// a consumer group that commits only the contiguous prefix of acknowledged
// offsets, so an out-of-order ack never commits past an unfinished event.
package kafka

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// Config is how to reach the cluster. It is plain data: cmd/tweetflow maps
// its flags and the Env* variables onto it, so a Kubernetes Job sets it from
// a Secret.
type Config struct {
	Brokers  []string
	ClientID string
	// Version is the Kafka protocol version sarama speaks ("" = 2.8.0, which
	// every broker since 2.8 and Strimzi's accept).
	Version string

	// SASLMechanism is "" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	SASLUser      string
	SASLPassword  string
	// SASLPasswordFile names a file holding the password (a mounted
	// Secret); it wins over SASLPassword. Trailing newlines are dropped.
	SASLPasswordFile string

	// TLS enables TLS; CAFile adds a CA (Strimzi's cluster CA); CertFile and
	// KeyFile give a client certificate (mTLS).
	TLS                bool
	TLSCAFile          string
	TLSCertFile        string
	TLSKeyFile         string
	InsecureSkipVerify bool
}

// Environment variables a command reads for Config (cmd/tweetflow binds
// them; the driver itself reads no environment and parses no flags).
const (
	EnvBrokers          = "KAFKA_BROKERS"
	EnvSASLMechanism    = "KAFKA_SASL_MECHANISM"
	EnvSASLUser         = "KAFKA_SASL_USER"
	EnvSASLPassword     = "KAFKA_SASL_PASSWORD"
	EnvSASLPasswordFile = "KAFKA_SASL_PASSWORD_FILE"
	EnvTLS              = "KAFKA_TLS"
	EnvTLSCA            = "KAFKA_TLS_CA"
	EnvTLSCert          = "KAFKA_TLS_CERT"
	EnvTLSKey           = "KAFKA_TLS_KEY"
	EnvTLSInsecure      = "KAFKA_TLS_INSECURE"
)

// Sarama returns the base sarama configuration: connection, SASL and TLS.
// The producer and consumer add their own settings to it.
func (c Config) Sarama() (*sarama.Config, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured (--kafka-brokers or $" + EnvBrokers + ")")
	}
	sc := sarama.NewConfig()
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = "tweetflow"
	}
	sc.Version = sarama.V2_8_0_0
	if c.Version != "" {
		v, err := sarama.ParseKafkaVersion(c.Version)
		if err != nil {
			return nil, fmt.Errorf("kafka: version %q: %w", c.Version, err)
		}
		sc.Version = v
	}
	sc.Net.DialTimeout = 10 * time.Second
	switch strings.ToUpper(c.SASLMechanism) {
	case "":
	case sarama.SASLTypePlaintext:
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case sarama.SASLTypeSCRAMSHA256:
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha256.New)} }
	case sarama.SASLTypeSCRAMSHA512:
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)} }
	default:
		return nil, fmt.Errorf("kafka: sasl mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism)
	}
	if sc.Net.SASL.Enable {
		if c.SASLUser == "" {
			return nil, fmt.Errorf("kafka: sasl mechanism %s needs a user ($%s)", c.SASLMechanism, EnvSASLUser)
		}
		sc.Net.SASL.User = c.SASLUser
		sc.Net.SASL.Password = c.SASLPassword
		if c.SASLPasswordFile != "" {
			b, err := os.ReadFile(c.SASLPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("kafka: sasl password file: %w", err)
			}
			sc.Net.SASL.Password = strings.TrimRight(string(b), "\r\n")
		}
		sc.Net.SASL.Handshake = true
	}
	if c.TLS || c.TLSCAFile != "" || c.TLSCertFile != "" {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	return sc, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, for tests
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca %s: no PEM certificate found", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, errors.New("kafka: tls client certificate needs both --kafka-tls-cert and --kafka-tls-key")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scramClient adapts xdg-go/scram to sarama.SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	c, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramClient) Done() bool                            { return s.conv.Done() }
