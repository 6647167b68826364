package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/transport/kafka"
)

func TestBindKafkaFromEnvAndFlags(t *testing.T) {
	env := map[string]string{kafka.EnvBrokers: "a:9092, b:9092", kafka.EnvSASLMechanism: "SCRAM-SHA-512",
		kafka.EnvSASLUser: "u", kafka.EnvSASLPassword: "p", kafka.EnvTLS: "true", kafka.EnvTLSCA: "/ca.crt"}
	c := kafka.Config{Brokers: []string{"localhost:9092"}, ClientID: "tweetflow"}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	bindKafka(fs, &c, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--kafka-sasl-user=flaguser", "--kafka-sasl-password-file=/run/secret"}); err != nil {
		t.Fatal(err)
	}
	if len(c.Brokers) != 2 || c.Brokers[1] != "b:9092" || c.SASLMechanism != "SCRAM-SHA-512" || c.SASLUser != "flaguser" ||
		c.SASLPassword != "p" || c.SASLPasswordFile != "/run/secret" || !c.TLS || c.TLSCAFile != "/ca.crt" || c.ClientID != "tweetflow" {
		t.Fatalf("%+v", c)
	}
}

// #13 defect: --kafka-sasl-password put the secret where ps shows it. It is
// refused with an error naming what to use instead.
func TestBindKafkaRefusesPasswordFlag(t *testing.T) {
	var c kafka.Config
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	bindKafka(fs, &c, func(string) string { return "" })
	err := fs.Parse([]string{"--kafka-sasl-password=hunter2"})
	if err == nil || !strings.Contains(err.Error(), kafka.EnvSASLPassword) || !strings.Contains(err.Error(), "--kafka-sasl-password-file") {
		t.Fatalf("--kafka-sasl-password: %v, want a refusal naming $%s and the file flag", err, kafka.EnvSASLPassword)
	}
	if c.SASLPassword != "" {
		t.Fatalf("password %q taken from the command line", c.SASLPassword)
	}
	if len(c.Brokers) != 0 {
		t.Fatalf("brokers %v invented without a default", c.Brokers)
	}
}
