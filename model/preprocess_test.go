package model_test

import (
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

// The cases follow the cardiffnlp model cards' preprocess(): words split on " ", "@x" -> "@user",
// "http..." -> "http", a lone "@" kept.
func TestPreprocessCardiffNLP(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"@bob hi https://t.co/x ok", "@user hi http ok"},
		{"@ alone", "@ alone"},
		{"a  @b\tc", "a  @user"},
		{"mail me@x.org httpd", "mail me@x.org http"},
		{"", ""},
	} {
		if got := model.PreprocessText(model.PreprocessCardiffNLP, c.in); got != c.want {
			t.Errorf("PreprocessText(cardiffnlp, %q) = %q, want %q", c.in, got, c.want)
		}
		if got := model.PreprocessText(model.PreprocessNone, c.in); got != c.in {
			t.Errorf("PreprocessText(none, %q) = %q", c.in, got)
		}
	}
}
