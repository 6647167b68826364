package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// bindKafka registers the Kafka connection flags on fs, with defaults from
// the environment through getenv (os.Getenv; a map in tests). The SASL
// password comes from $KAFKA_SASL_PASSWORD or a file, never from a flag
// value, which ps shows to every user of the machine.
func bindKafka(fs *pflag.FlagSet, c *kafka.Config, getenv func(string) string) {
	def := func(env, fallback string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return fallback
	}
	boolDef := func(env string) bool {
		b, _ := strconv.ParseBool(getenv(env))
		return b
	}
	brokers := commalist.Split(def(kafka.EnvBrokers, strings.Join(c.Brokers, ",")))
	c.SASLPassword = getenv(kafka.EnvSASLPassword)
	fs.StringSliceVar(&c.Brokers, "kafka-brokers", brokers, "Kafka bootstrap servers, comma-separated [$"+kafka.EnvBrokers+"]")
	fs.StringVar(&c.ClientID, "kafka-client-id", c.ClientID, "Kafka client id")
	fs.StringVar(&c.Version, "kafka-version", c.Version, "Kafka protocol version (default 2.8.0)")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", def(kafka.EnvSASLMechanism, c.SASLMechanism), "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 [$"+kafka.EnvSASLMechanism+"]")
	fs.StringVar(&c.SASLUser, "kafka-sasl-user", def(kafka.EnvSASLUser, c.SASLUser), "SASL user [$"+kafka.EnvSASLUser+"]")
	fs.StringVar(&c.SASLPasswordFile, "kafka-sasl-password-file", def(kafka.EnvSASLPasswordFile, ""), "file holding the SASL password; wins over $"+kafka.EnvSASLPassword+" [$"+kafka.EnvSASLPasswordFile+"]")
	fs.Var(refusedSecret{}, "kafka-sasl-password", "not accepted: set $"+kafka.EnvSASLPassword+" or --kafka-sasl-password-file")
	_ = fs.MarkHidden("kafka-sasl-password")
	fs.BoolVar(&c.TLS, "kafka-tls", boolDef(kafka.EnvTLS), "connect with TLS [$"+kafka.EnvTLS+"]")
	fs.StringVar(&c.TLSCAFile, "kafka-tls-ca", def(kafka.EnvTLSCA, ""), "PEM file of the CA that signed the brokers' certificates [$"+kafka.EnvTLSCA+"]")
	fs.StringVar(&c.TLSCertFile, "kafka-tls-cert", def(kafka.EnvTLSCert, ""), "PEM client certificate for mTLS [$"+kafka.EnvTLSCert+"]")
	fs.StringVar(&c.TLSKeyFile, "kafka-tls-key", def(kafka.EnvTLSKey, ""), "PEM client key for mTLS [$"+kafka.EnvTLSKey+"]")
	fs.BoolVar(&c.InsecureSkipVerify, "kafka-tls-insecure", boolDef(kafka.EnvTLSInsecure), "skip verifying the brokers' certificates (testing only) [$"+kafka.EnvTLSInsecure+"]")
}

// refusedSecret is a flag that fails when given: the old
// --kafka-sasl-password gets an error saying what to use instead, not
// "unknown flag".
type refusedSecret struct{}

func (refusedSecret) String() string { return "" }
func (refusedSecret) Type() string   { return "string" }
func (refusedSecret) Set(string) error {
	return errors.New("a password on the command line is visible in ps: set $" + kafka.EnvSASLPassword + " or --kafka-sasl-password-file")
}
