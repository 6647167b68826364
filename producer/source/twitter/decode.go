package twitter

import (
	"errors"
	"fmt"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tweetflow/tweetflow/internal/jsonpointer"
)

// Lines are decoded with github.com/go-json-experiment/json (the design
// that became encoding/json/v2) rather than encoding/json: one pass instead
// of a validation pass and a decoding pass, and a much faster skip of the
// members tweetflow does not read (most of a twarc2 page's includes): about
// 4x on twarc2 pages. Its defaults are stricter, on purpose: member names
// match exactly ("ID" is not "id") and a duplicate member name is an
// error. Raw invalid UTF-8 is rejected before, with the byte named; an
// escaped lone surrogate ("\ud83d", left where a v1.1 text was cut inside an
// emoji) becomes U+FFFD, as encoding/json does, instead of losing the line.
func unmarshal(b []byte, v any) error { return jsonv2.Unmarshal(b, v, jsontext.AllowInvalidUTF8(true)) }

// number is a JSON number kept as its digits (v1.1 ids pass 2^53, beyond a
// float64), or a JSON string as it is; null is empty.
type number string

func (n *number) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	v, err := d.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case '0':
		*n = number(v)
	case '"':
		var s string
		if err := jsonv2.Unmarshal(v, &s); err != nil {
			return err
		}
		*n = number(s)
	case 'n':
		*n = ""
	default:
		return fmt.Errorf("expected a number, got JSON %s", v.Kind())
	}
	return nil
}

func (n number) String() string { return string(n) }

// jsonErr says where in the line a JSON error is: the byte, or the path of
// the member (data[3].id) below prefix, the path of the decoded value.
func jsonErr(prefix string, err error) string {
	var se *jsontext.SyntacticError
	var te *jsonv2.SemanticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return at(prefix, "cut off: "+err.Error())
	case errors.As(err, &se):
		return at(join(prefix, jsonpointer.Dotted(string(se.JSONPointer))), fmt.Sprintf("byte %d: %v", se.ByteOffset+1, se.Err))
	case errors.As(err, &te):
		msg := "cannot decode"
		if te.GoType != nil {
			msg = fmt.Sprintf("expected %v", te.GoType)
		}
		if te.JSONKind != 0 {
			msg += ", got JSON " + te.JSONKind.String()
		}
		if te.Err != nil {
			msg += ": " + te.Err.Error()
		}
		return at(join(prefix, jsonpointer.Dotted(string(te.JSONPointer))), msg)
	}
	return at(prefix, err.Error())
}

func at(p, msg string) string {
	if p == "" {
		return msg
	}
	return p + ": " + msg
}

func join(prefix, p string) string {
	if prefix == "" || p == "" || p[0] == '[' {
		return prefix + p
	}
	return prefix + "." + p
}
