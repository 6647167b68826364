// Package cehttp carries tweetflow's CloudEvents over HTTP the way Knative
// Eventing does: binary mode, the reply to an event is the 200 response's
// event, and the status code tells the data plane whether to retry
// (404/408/409/429/5xx) or not (other 4xx).
package cehttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
)

// DefaultMaxBodyBytes bounds a request body. A tweet event is well under
// 4 KiB; 64 KiB leaves room for extra CSV fields and still refuses abuse.
const DefaultMaxBodyBytes = 64 << 10

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// MaxBodyBytes bounds the request body; larger bodies get 413.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Observer is told every outcome (metrics); nil discards.
	Observer transport.Observer
	// Logger logs rejected and failed events; nil uses slog.Default().
	Logger *slog.Logger
	// RetryAfter is the Retry-After header sent with 429; zero means 1s.
	RetryAfter time.Duration
}

// NewHandler serves h over HTTP. Each POST is one CloudEvent (binary or
// structured mode). The answers:
//
//	200 + event  h returned a reply (written in binary mode)
//	202          h succeeded without a reply
//	400          malformed CloudEvent, or h rejected it (*event.FieldError,
//	             transport.Permanent), or h panicked (*transport.PanicError)
//	413          body over MaxBodyBytes
//	415          not a CloudEvent encoding (or a batch), or a datacontenttype h refuses
//	429          h is overloaded (transport.Overloaded); Retry-After is set
//	503          h is not ready (transport.NotReady), or the request was
//	             cancelled before h finished (shutdown, client gone)
//	500          any other failure of h: transient, retried by the sender
//
// 4xx answers other than 404, 408, 409 and 429 are never retried by
// Knative, so they are reserved for events that can never succeed; the data
// plane sends them to the dead-letter sink. A panic in h is one of those (a
// poison event): h runs under transport.Safe, so the panic is answered 400
// and counted as panicked. Left to net/http, a panic would abort the
// connection, which Knative retries like any network error: a crash loop
// over HTTP.
func NewHandler(h transport.Handler, opts HandlerOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Observer == nil {
		opts.Observer = transport.NopObserver{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	return &handler{h: transport.Safe(h), opts: opts}
}

type handler struct {
	h    transport.Handler
	opts HandlerOptions
}

func (s *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a CloudEvent", http.StatusMethodNotAllowed)
		return
	}
	e, status, err := s.read(w, r)
	if err != nil {
		outcome := transport.OutcomeMalformed
		switch status {
		case http.StatusRequestEntityTooLarge:
			outcome = transport.OutcomeTooLarge
		case http.StatusUnsupportedMediaType:
			outcome = transport.OutcomeUnsupported
		}
		s.fail(w, r, start, outcome, status, err)
		return
	}

	reply, err := s.h(r.Context(), *e)
	if err != nil {
		switch transport.Classify(err) {
		case transport.Reject:
			status = http.StatusBadRequest
			var fe *event.FieldError
			if errors.As(err, &fe) && fe.Field == "datacontenttype" {
				status = http.StatusUnsupportedMediaType
			}
			outcome := transport.OutcomeRejected
			var pe *transport.PanicError
			if errors.As(err, &pe) {
				outcome = transport.OutcomePanicked
				s.opts.Logger.Error("handler panicked; event rejected as poison", "event", e.ID(), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
			}
			s.fail(w, r, start, outcome, status, err)
		case transport.Overload:
			w.Header().Set("Retry-After", fmt.Sprint(int((s.opts.RetryAfter+time.Second-1)/time.Second)))
			s.fail(w, r, start, transport.OutcomeOverloaded, http.StatusTooManyRequests, err)
		case transport.Unavailable:
			w.Header().Set("Retry-After", fmt.Sprint(int((s.opts.RetryAfter+time.Second-1)/time.Second)))
			s.fail(w, r, start, transport.OutcomeFailed, http.StatusServiceUnavailable, err)
		default:
			status = http.StatusInternalServerError
			if r.Context().Err() != nil {
				status = http.StatusServiceUnavailable
			}
			s.fail(w, r, start, transport.OutcomeFailed, status, err)
		}
		return
	}
	if reply == nil {
		w.WriteHeader(http.StatusAccepted)
		s.opts.Observer.Observe(transport.OutcomeOK, time.Since(start))
		return
	}
	if err := writeReply(r.Context(), w, reply); err != nil {
		// The status line may be gone already; all we can do is count it.
		s.opts.Logger.Error("writing reply", "event", e.ID(), "reply", reply.ID(), "err", err)
		s.opts.Observer.Observe(transport.OutcomeFailed, time.Since(start))
		return
	}
	s.opts.Observer.Observe(transport.OutcomeOK, time.Since(start))
}

// writeReply writes e as a binary-mode 200 response. For CloudEvents 1.0
// the headers come from the encoder Kafka shares (transport.EncodeBinaryV1:
// the SDK's values, no escaping), set directly in canonical form; other spec
// versions go through the SDK.
func writeReply(ctx context.Context, w http.ResponseWriter, e *cloudevents.Event) error {
	if e.SpecVersion() != cloudevents.CloudEventsVersionV1 {
		return cehttp.WriteResponseWriter(ctx, binding.ToMessage(e), http.StatusOK, w)
	}
	h := w.Header()
	err := transport.EncodeBinaryV1(e, func(name string, ext bool, v string) {
		switch {
		case ext:
			h[extHeader(name)] = []string{v}
		case name == "datacontenttype":
			h["Content-Type"] = []string{v}
		default:
			h[attrHeader(name)] = []string{v}
		}
	})
	if err != nil {
		return err
	}
	data := e.Data()
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(data)
	return err
}

// attrHeader is the canonical header of a spec attribute (but
// datacontenttype, which is Content-Type).
func attrHeader(name string) string {
	switch name {
	case "id":
		return "Ce-Id"
	case "source":
		return "Ce-Source"
	case "specversion":
		return "Ce-Specversion"
	case "type":
		return "Ce-Type"
	case "dataschema":
		return "Ce-Dataschema"
	case "subject":
		return "Ce-Subject"
	case "time":
		return "Ce-Time"
	}
	return "Ce-" + name
}

// extHeader is the header of extension name, as the SDK names it
// ("Ce-" + name with its first letter upper-cased).
func extHeader(name string) string {
	if name == "" {
		return "Ce-"
	}
	return "Ce-" + strings.ToUpper(name[:1]) + name[1:]
}

// read decodes the request into an event, or returns the status to answer.
func (s *handler) read(w http.ResponseWriter, r *http.Request) (*cloudevents.Event, int, error) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge,
			fmt.Errorf("body of %d bytes is over the limit of %d", r.ContentLength, s.opts.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body is over the limit of %d bytes", s.opts.MaxBodyBytes)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}
	if e, ok := transport.DecodeBinaryV1(BinaryHeaders(r.Header), body); ok {
		if err := e.Validate(); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("event %s: invalid CloudEvent: %w", e.ID(), err)
		}
		return e, 0, nil
	}
	msg := cehttp.NewMessage(r.Header, io.NopCloser(bytes.NewReader(body)))
	switch msg.ReadEncoding() {
	case binding.EncodingBinary, binding.EncodingStructured:
	case binding.EncodingBatch:
		return nil, http.StatusUnsupportedMediaType, errors.New("batched CloudEvents are not accepted: send one event per request")
	default:
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		}
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("not a CloudEvent: no ce-specversion header and content type %q is not a structured CloudEvents format", ct)
	}
	if _, ok := r.Header["Ce-"]; ok && msg.ReadEncoding() == binding.EncodingBinary {
		// The SDK's binary reader indexes past the end of this key.
		return nil, http.StatusBadRequest, errors.New(`malformed CloudEvent: header "Ce-" names no attribute`)
	}
	e, err := binding.ToEvent(r.Context(), msg)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("malformed CloudEvent: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("event %s: invalid CloudEvent: %w", e.ID(), err)
	}
	return e, 0, nil
}

// BinaryHeaders is the HTTP wire's walk of a binary-mode request's headers
// for transport.DecodeBinaryV1, header for header what cehttp.NewMessage
// reads: the exact canonical Ce- attribute headers and Content-Type, every
// other Ce- header an extension named by lower-casing its first letter, the
// first value of each. A Ce- header with no name or a non-ASCII first letter
// (which the SDK lower-cases byte-wise) is left to the SDK.
func BinaryHeaders(h http.Header) transport.BinaryHeaders {
	return func(set func(name string, ext bool, value string) bool) bool {
		for k, vs := range h {
			if len(vs) == 0 {
				continue
			}
			name, ext := "", false
			switch k {
			case "Content-Type":
				name = "datacontenttype"
			case "Ce-Id":
				name = "id"
			case "Ce-Source":
				name = "source"
			case "Ce-Specversion":
				name = "specversion"
			case "Ce-Type":
				name = "type"
			case "Ce-Dataschema":
				name = "dataschema"
			case "Ce-Subject":
				name = "subject"
			case "Ce-Time":
				name = "time"
			default:
				if !strings.HasPrefix(k, "Ce-") {
					continue
				}
				if len(k) == len("Ce-") || k[len("Ce-")] >= utf8.RuneSelf {
					return false
				}
				name, ext = strings.ToLower(k[len("Ce-"):len("Ce-")+1])+k[len("Ce-")+1:], true
			}
			if !set(name, ext, vs[0]) {
				return false
			}
		}
		return true
	}
}

func (s *handler) fail(w http.ResponseWriter, r *http.Request, start time.Time, outcome string, status int, err error) {
	s.opts.Observer.Observe(outcome, time.Since(start))
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	s.opts.Logger.LogAttrs(r.Context(), level, "event not handled",
		slog.Int("status", status), slog.String("outcome", outcome), slog.String("err", err.Error()))
	http.Error(w, err.Error(), status)
}

// Retryable reports whether Knative's data plane retries a delivery answered
// with status: 404, 408, 409, 429 and every 5xx. Network errors are retried
// too; callers check those separately.
func Retryable(status int) bool {
	switch {
	case status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	}
	return false
}

// ErrStatus is a non-2xx answer to a delivery.
type ErrStatus struct {
	EventID string
	URL     string
	Status  int
	Body    string
}

func (e *ErrStatus) Error() string {
	return fmt.Sprintf("event %s: POST %s: HTTP %d: %s", e.EventID, e.URL, e.Status, e.Body)
}
