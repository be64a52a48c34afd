// Command main writes ../go_events.json and ../go_artifacts.json: what Go's
// encoding/json does with event bodies, and what the seed's FormatArtifacts writes.
//
// go_events.json: each case is a request body. Go decodes it into the seed's Event struct (copied
// unchanged from webhook.go below) with json.Unmarshal and, when that succeeds,
// encodes the result with json.Marshal, as the seed's Dispatcher does before signing.
// The file records both, so the Rust tests compare Event::from_json and
// Event::to_go_json against Go itself. go_artifacts.json: the seed's FormatArtifacts
// (copied verbatim below) on text artifacts, alone and inside a marshalled Event.
// Run it with any Go >= 1.19:
//
//	cd tests/vectors/go && go run .
//
// The file is committed; the tests never run Go.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is the seed's struct, copied verbatim from /work/shared/seed/webhook.go.
type Event struct {
	JobID         string          `json:"job_id"`
	State         string          `json:"state"`
	PreviousState string          `json:"previous_state"`
	Timestamp     time.Time       `json:"timestamp"`
	Model         string          `json:"model"`
	Attempt       int             `json:"attempt"`
	Result        json.RawMessage `json:"result"`
	Artifacts     json.RawMessage `json:"artifacts"`
	Error         *string         `json:"error"`
}

// FormatArtifacts and ArtifactMeta are the seed's, copied verbatim from webhook.go.
func FormatArtifacts(jobID string, artifacts []ArtifactMeta) json.RawMessage {
	if len(artifacts) == 0 {
		return nil
	}

	type artifactOut struct {
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
		Data        string `json:"data,omitempty"`
		URL         string `json:"url,omitempty"`
	}

	out := make([]artifactOut, len(artifacts))
	for i, a := range artifacts {
		out[i] = artifactOut{
			Name:        a.Name,
			ContentType: a.ContentType,
			Size:        a.Size,
		}
		if a.Size <= 256*1024 && a.Data != nil {
			out[i].Data = string(a.Data)
		} else {
			out[i].URL = fmt.Sprintf("/jobs/%s/artifacts/%s", jobID, a.Name)
		}
	}

	b, _ := json.Marshal(out)
	return json.RawMessage(b)
}

// ArtifactMeta holds artifact info for webhook formatting.
type ArtifactMeta struct {
	Name        string
	ContentType string
	Size        int64
	Data        []byte
}

type acase struct {
	name      string
	jobID     string
	artifacts []ArtifactMeta
}

// Text artifacts only, with URL-safe names and non-empty data: where the port
// deliberately differs from the seed (base64 for binary data, percent-encoded URLs,
// "data":"" kept, a shared inline budget) is covered by tests/vectors/artifacts.json.
func acases() []acase {
	big := int64(256*1024 + 1)
	return []acase{
		{name: "one text artifact", jobID: "job-1", artifacts: []ArtifactMeta{{Name: "out.txt", ContentType: "text/plain", Size: 5, Data: []byte("hello")}}},
		{name: "html characters escaped", jobID: "job-1", artifacts: []ArtifactMeta{{Name: "page.html", ContentType: "text/html", Size: 26, Data: []byte("<p class=\"x\">a & b</p>")}}},
		{name: "line separators and controls", jobID: "j", artifacts: []ArtifactMeta{{Name: "log.txt", ContentType: "text/plain; charset=utf-8", Size: 12, Data: []byte("a\u2028b\u2029c\n\t\x01\"\\")}}},
		{name: "unicode text", jobID: "j", artifacts: []ArtifactMeta{{Name: "été.txt", ContentType: "text/plain", Size: 13, Data: []byte("état ✓ 🚀")}}},
		{name: "large artifact as url", jobID: "job-9", artifacts: []ArtifactMeta{{Name: "model.bin", ContentType: "application/octet-stream", Size: big}}},
		{name: "no data as url", jobID: "job-9", artifacts: []ArtifactMeta{{Name: "later.json", ContentType: "application/json", Size: 10}}},
		{name: "mixed list keeps order", jobID: "job-2", artifacts: []ArtifactMeta{
			{Name: "a.json", ContentType: "application/json", Size: 9, Data: []byte(`{"k":"<"}`)},
			{Name: "b.bin", ContentType: "application/octet-stream", Size: big},
			{Name: "c.txt", ContentType: "text/plain", Size: 1, Data: []byte("&")},
		}},
	}
}

type artOut struct {
	Name        string  `json:"name"`
	ContentType string  `json:"content_type"`
	Size        int64   `json:"size"`
	Data        *string `json:"data"`
}

type aout struct {
	Name      string   `json:"name"`
	JobID     string   `json:"job_id"`
	Artifacts []artOut `json:"artifacts"`
	// FormatArtifacts' bytes, and json.Marshal of Event{JobID, State: "succeeded",
	// Artifacts: those bytes} (the zero time, everything else zero).
	GoArtifacts string `json:"go_artifacts"`
	GoEvent     string `json:"go_event"`
}

type tcase struct {
	name string
	wire string
	// differs names the documented difference this case shows, if any (see src/event.rs).
	differs string
}

const ts = `"timestamp":"2026-11-28T14:00:00Z"`

func cases() []tcase {
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	return []tcase{
		// --- baseline
		{name: "go output, nanoseconds, utc", wire: `{"job_id":"job-1","state":"running","previous_state":"queued","timestamp":"2026-11-28T14:00:00.123456789Z","model":"llama-3-8b","attempt":1,"result":null,"artifacts":null,"error":null}`},
		{name: "empty object", wire: `{}`},
		{name: "offset kept", wire: `{"job_id":"j","timestamp":"2026-11-28T16:00:00.5+02:00"}`},
		// --- timestamp null
		{name: "timestamp null is the zero time", wire: `{"job_id":"j","state":"queued","timestamp":null}`},
		{name: "timestamp null after a value keeps the value", wire: `{"job_id":"j","timestamp":"2026-11-28T14:00:00Z","timestamp":null}`},
		{name: "timestamp with an escape is an error", wire: `{"timestamp":"2026-11-28T14:00:00\u005a"}`},
		{name: "timestamp lower-case t", wire: `{"timestamp":"2026-11-28t14:00:00Z"}`},
		{name: "timestamp lower-case z", wire: `{"timestamp":"2026-11-28T14:00:00z"}`},
		{name: "timestamp +00:00 offset", wire: `{"timestamp":"2026-11-28T14:00:00+00:00"}`},
		{name: "timestamp -00:00 offset", wire: `{"timestamp":"2026-11-28T14:00:00-00:00"}`},
		{name: "timestamp leap second", wire: `{"timestamp":"2016-12-31T23:59:60Z"}`},
		{name: "timestamp hour 24", wire: `{"timestamp":"2026-11-28T24:00:00Z"}`},
		{name: "timestamp comma fraction", wire: `{"timestamp":"2026-11-28T14:00:00,5Z"}`},
		{name: "timestamp dot without digits", wire: `{"timestamp":"2026-11-28T14:00:00.Z"}`},
		{name: "timestamp without offset", wire: `{"timestamp":"2026-11-28T14:00:00"}`},
		{name: "timestamp offset without colon", wire: `{"timestamp":"2026-11-28T14:00:00+0200"}`},
		{name: "timestamp year 0000", wire: `{"timestamp":"0000-01-01T00:00:00Z"}`},
		{name: "timestamp february 30", wire: `{"timestamp":"2026-02-30T00:00:00Z"}`},
		{name: "timestamp one-digit hour", wire: `{"timestamp":"2026-11-28T4:05:06Z"}`},
		{name: "timestamp three-digit hour", wire: `{"timestamp":"2026-11-28T004:05:06Z"}`},
		{name: "timestamp offset +23:59", wire: `{"timestamp":"2026-11-28T14:00:00+23:59"}`},
		{name: "timestamp offset +26:00", wire: `{"timestamp":"2026-11-28T14:00:00+26:00"}`, differs: "offset_range"},
		{name: "timestamp offset minutes 60", wire: `{"timestamp":"2026-11-28T14:00:00+01:60"}`},
		{name: "timestamp number is an error", wire: `{"job_id":"j","timestamp":1764338400}`},
		// --- top-level shapes
		{name: "top-level null is the zero event", wire: `null`},
		{name: "top-level null with spaces", wire: " \n null \t"},
		{name: "top-level positional array is an error", wire: `["j","running","queued","2026-11-28T14:00:00Z","m",1,null,null,null]`},
		{name: "top-level empty array is an error", wire: `[]`},
		{name: "top-level string is an error", wire: `"job"`},
		{name: "top-level number is an error", wire: `1`},
		{name: "top-level true is an error", wire: `true`},
		{name: "empty body is an error", wire: ``},
		{name: "trailing data is an error", wire: `{"job_id":"j"} {}`},
		// --- case-insensitive keys
		{name: "upper-case key matches", wire: `{"JOB_ID":"j","STATE":"running",` + ts + `}`},
		{name: "mixed-case keys match", wire: `{"Job_Id":"j","Previous_State":"queued","TimeStamp":"2026-11-28T14:00:00Z","ATTEMPT":2,"Result":{"a":1},"ERROR":"e"}`},
		{name: "long s folds to s", wire: "{\"job_id\":\"j\",\"\u017ftate\":\"running\"}"},
		{name: "long s then upper case folds too; sharp s key ignored", wire: "{\"job_id\":\"j\",\"\u1e9e\":\"x\",\"\u017fTATE\":\"running\"}"},
		{name: "dotless i does not fold to i", wire: "{\"job_\u0131d\":\"j\"}"},
		{name: "exact then folded key: last wins", wire: `{"job_id":"a","JOB_ID":"b"}`},
		{name: "folded then exact key: last wins", wire: `{"JOB_ID":"b","job_id":"a"}`},
		{name: "key with trailing space does not match", wire: `{"job_id ":"j"}`},
		// --- duplicate keys
		{name: "duplicate string key: last wins", wire: `{"job_id":"a","job_id":"b"}`},
		{name: "duplicate null after string leaves the string", wire: `{"job_id":"a","job_id":null}`},
		{name: "duplicate error: null after string clears it", wire: `{"error":"boom","error":null}`},
		{name: "duplicate result: last wins", wire: `{"result":{"a":1},"result":[2]}`},
		{name: "duplicate result: null after a value is null", wire: `{"result":[1],"result":null}`},
		{name: "duplicate attempt: bad first value is still an error", wire: `{"attempt":"x","attempt":1}`},
		// --- invalid UTF-8
		{name: "invalid byte in a string becomes U+FFFD", wire: "{\"job_id\":\"a\xffb\"}"},
		{name: "truncated sequence: one U+FFFD per byte", wire: "{\"job_id\":\"\xe2\x80x\",\"state\":\"\xf0\x9f\x98\"}"},
		{name: "encoded surrogate: one U+FFFD per byte", wire: "{\"error\":\"\xed\xa0\x80\"}"},
		{name: "overlong encoding: one U+FFFD per byte", wire: "{\"model\":\"\xc0\xaf\"}"},
		{name: "invalid byte in a key", wire: "{\"job_id\xff\":\"j\",\"state\":\"s\"}"},
		{name: "invalid byte in an unknown key's value", wire: "{\"job_id\":\"j\",\"x\":\"\xff\"}"},
		{name: "invalid byte outside a string is an error", wire: "{\"job_id\":\"j\"\xff}"},
		{name: "invalid byte in a raw result", wire: "{\"job_id\":\"j\",\"result\":\"\xff\"}", differs: "raw_invalid_utf8"},
		// --- escapes Go decodes leniently
		{name: "lone high surrogate escape becomes U+FFFD", wire: `{"job_id":"a\ud800b"}`},
		{name: "lone low surrogate escape becomes U+FFFD", wire: `{"job_id":"\udc00"}`},
		{name: "high surrogate then a non-surrogate escape", wire: `{"job_id":"\ud83d\u0041"}`},
		{name: "two high surrogates then a low one", wire: `{"job_id":"\ud800\ud800\udc00"}`},
		{name: "surrogate pair escape", wire: `{"job_id":"\ud83d\ude00"}`},
		{name: "lone surrogate inside a raw result is kept", wire: `{"result":"\ud800"}`},
		// --- what Go writes
		{name: "html characters are escaped", wire: `{"job_id":"<a>&b","error":"x<y"}`},
		{name: "line and paragraph separators are escaped", wire: "{\"job_id\":\"a\u2028b\u2029c\"}"},
		{name: "escaped html in input is re-escaped", wire: `{"job_id":"\u003c\u0026"}`},
		{name: "raw result is compacted", wire: "{\"result\": [1, 2, {\"k\" : \"v\"}] ,\"artifacts\":\n[ ]\n}"},
		{name: "raw result: html and separators escaped, other escapes kept", wire: "{\"result\":{\"h\":\"<b>&amp;\",\"s\":\"\u2028\",\"u\":\"\\u00e9\\/\"}}"},
		{name: "raw result: numbers kept verbatim", wire: `{"result":[1.0,1e400,-0,12345678901234567890123]}`},
		{name: "control characters", wire: `{"job_id":"\u0001\u001f\n\r\t\"\\","model":"\u007f"}`},
		{name: "backspace and form feed", wire: `{"job_id":"\b\f"}`, differs: "go_version_escapes"},
		{name: "non-ascii written as utf-8", wire: `{"job_id":"\u00e9t\u00e9 \ud83d\ude80"}`},
		{name: "solidus escape is decoded", wire: `{"job_id":"a\/b"}`},
		// --- numbers and types
		{name: "attempt float is an error", wire: `{"attempt":1.0}`},
		{name: "attempt exponent is an error", wire: `{"attempt":1e2}`},
		{name: "attempt negative zero", wire: `{"attempt":-0}`},
		{name: "attempt largest int64", wire: `{"attempt":9223372036854775807}`},
		{name: "attempt overflow is an error", wire: `{"attempt":9223372036854775808}`},
		{name: "attempt string is an error", wire: `{"attempt":"1"}`},
		{name: "job_id number is an error", wire: `{"job_id":1}`},
		{name: "error number is an error", wire: `{"error":1}`},
		{name: "result may be any value", wire: `{"result":"text","artifacts":7}`},
		// --- nesting
		{name: "deep nesting in result", wire: `{"result":` + deep + `}`},
	}
}

type fields struct {
	JobID         string  `json:"job_id"`
	State         string  `json:"state"`
	PreviousState string  `json:"previous_state"`
	Model         string  `json:"model"`
	Attempt       int     `json:"attempt"`
	Error         *string `json:"error"`
	UnixNanos     string  `json:"unix_nanos"`
	OffsetSeconds int     `json:"offset_seconds"`
	// The raw text Go holds (nil RawMessage: null), as UTF-8 text when it is UTF-8.
	Result       *string `json:"result"`
	ResultHex    string  `json:"result_hex"`
	Artifacts    *string `json:"artifacts"`
	ArtifactsHex string  `json:"artifacts_hex"`
}

type out struct {
	Name    string  `json:"name"`
	Differs string  `json:"differs,omitempty"`
	WireHex string  `json:"wire_hex"`
	Wire    *string `json:"wire"`
	Ok      bool    `json:"ok"`
	GoError string  `json:"go_error,omitempty"`
	Fields  *fields `json:"fields,omitempty"`
	// json.Marshal of the decoded Event: Go's exact bytes.
	GoJSON    *string `json:"go_json,omitempty"`
	GoJSONHex string  `json:"go_json_hex,omitempty"`
}

func text(b []byte) *string {
	if !utf8.Valid(b) {
		return nil
	}
	s := string(b)
	return &s
}

func raw(m json.RawMessage) *string {
	if m == nil {
		s := "null"
		return &s
	}
	return text(m)
}

func main() {
	var outs []out
	for _, c := range cases() {
		o := out{Name: c.name, Differs: c.differs, WireHex: hex.EncodeToString([]byte(c.wire)), Wire: text([]byte(c.wire))}
		var e Event
		if err := json.Unmarshal([]byte(c.wire), &e); err != nil {
			o.GoError = err.Error()
		} else {
			o.Ok = true
			n := new(big.Int).Mul(big.NewInt(e.Timestamp.Unix()), big.NewInt(1_000_000_000))
			n.Add(n, big.NewInt(int64(e.Timestamp.Nanosecond())))
			_, off := e.Timestamp.Zone()
			o.Fields = &fields{
				JobID: e.JobID, State: e.State, PreviousState: e.PreviousState, Model: e.Model,
				Attempt: e.Attempt, Error: e.Error, UnixNanos: n.String(), OffsetSeconds: off,
				Result: raw(e.Result), ResultHex: hex.EncodeToString(e.Result),
				Artifacts: raw(e.Artifacts), ArtifactsHex: hex.EncodeToString(e.Artifacts),
			}
			b, err := json.Marshal(e)
			if err != nil {
				panic(err)
			}
			o.GoJSON = text(b)
			o.GoJSONHex = hex.EncodeToString(b)
		}
		outs = append(outs, o)
	}
	write("go_events.json", len(outs), outs)

	var aouts []aout
	for _, c := range acases() {
		o := aout{Name: c.name, JobID: c.jobID}
		for _, a := range c.artifacts {
			ao := artOut{Name: a.Name, ContentType: a.ContentType, Size: a.Size}
			if a.Data != nil {
				ao.Data = text(a.Data)
			}
			o.Artifacts = append(o.Artifacts, ao)
			if a.Data != nil && !utf8.Valid(a.Data) {
				panic("text artifacts only")
			}
		}
		arts := FormatArtifacts(c.jobID, c.artifacts)
		o.GoArtifacts = string(arts)
		b, err := json.Marshal(Event{JobID: c.jobID, State: "succeeded", Artifacts: arts})
		if err != nil {
			panic(err)
		}
		o.GoEvent = string(b)
		aouts = append(aouts, o)
	}
	write("go_artifacts.json", len(aouts), aouts)
}

func write(name string, count int, cases interface{}) {
	doc := map[string]interface{}{
		"generator": "tests/vectors/go (" + runtime.Version() + ")",
		"count":     count,
		"cases":     cases,
	}
	f, err := os.Create(filepath.Join("..", name))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
}
