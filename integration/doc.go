// Package integration holds the end-to-end tests of tweetflow's cluster data
// path, run over the real Kafka protocol (franz-go's kfake, in process) and
// real HTTP, with the real models, ONNX Runtime and SQLite. Its test
// dispatcher plays Knative's KafkaSource, Kafka Broker and Triggers.
package integration
