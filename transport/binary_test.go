package transport_test

import (
	"context"
	"io"
	"maps"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/tweetflow/tweetflow/transport"
)

// sdkBinary records what the SDK's binary encoding hands a transport's
// writer, formatted as the HTTP and Kafka writers format it.
type sdkBinary struct {
	order []string // spec attributes, in the order written
	attrs map[string]string
	exts  map[string]string
}

func (w *sdkBinary) Start(context.Context) error { return nil }
func (w *sdkBinary) End(context.Context) error   { return nil }
func (w *sdkBinary) SetData(io.Reader) error     { return nil }
func (w *sdkBinary) SetAttribute(a spec.Attribute, v any) error {
	if v == nil {
		return nil
	}
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.order = append(w.order, a.Name())
	w.attrs[a.Name()] = s
	return nil
}
func (w *sdkBinary) SetExtension(name string, v any) error {
	if v == nil {
		return nil
	}
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.exts[name] = s
	return nil
}

// FuzzEncodeBinaryV1: the shared fast encoder writes what the SDK's binary
// encoding writes — the same spec attributes in the same order, the same
// extensions, the same values — or fails where the SDK fails.
func FuzzEncodeBinaryV1(f *testing.F) {
	f.Add("id", "/src", "dev.tweetflow.tweet.v1", "application/json", "subj", "", int64(1700000000), int64(5), "partitionkey", "k", 0)
	f.Add("id", "http://x/y?z#w", "t", "", "", "http://s/", int64(0), int64(0), "count", "", 7)
	f.Add("", "", "", "", "", "", int64(-1), int64(999999999), "x", "ü", -1)
	f.Fuzz(func(t *testing.T, id, source, typ, ct, subject, schema string, sec, nsec int64, extName, extVal string, n int) {
		e := cloudevents.NewEvent()
		e.SetID(id)
		e.SetSource(source)
		e.SetType(typ)
		e.SetSubject(subject)
		if schema != "" {
			e.SetDataSchema(schema)
		}
		if sec != 0 {
			e.SetTime(time.Unix(sec, nsec))
		}
		if extVal != "" {
			e.SetExtension(extName, extVal)
		}
		if n != 0 {
			e.SetExtension("count", n)
		}
		if ct != "" {
			_ = e.SetData(ct, []byte("x"))
		}
		want := &sdkBinary{attrs: map[string]string{}, exts: map[string]string{}}
		sdkErr := binding.ToMessage(&e).ReadBinary(context.Background(), want)

		got := &sdkBinary{attrs: map[string]string{}, exts: map[string]string{}}
		err := transport.EncodeBinaryV1(&e, func(name string, ext bool, v string) {
			if ext {
				got.exts[name] = v
				return
			}
			got.order = append(got.order, name)
			got.attrs[name] = v
		})
		if (err != nil) != (sdkErr != nil) {
			t.Fatalf("encoder error %v, SDK error %v", err, sdkErr)
		}
		if err != nil {
			return
		}
		// The SDK writes an empty attribute as ""; the wire writers then
		// leave it out, as the fast encoder does.
		for k, v := range want.attrs {
			if v == "" {
				delete(want.attrs, k)
			}
		}
		var wantOrder []string
		for _, k := range want.order {
			if _, ok := want.attrs[k]; ok {
				wantOrder = append(wantOrder, k)
			}
		}
		if !maps.Equal(got.attrs, want.attrs) || !maps.Equal(got.exts, want.exts) || len(got.order) != len(wantOrder) {
			t.Fatalf("encoded\n got %v %v\nwant %v %v", got.attrs, got.exts, want.attrs, want.exts)
		}
		for i := range wantOrder {
			if got.order[i] != wantOrder[i] {
				t.Fatalf("attribute order %v, SDK's %v", got.order, wantOrder)
			}
		}
	})
}
