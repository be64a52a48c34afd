// The Go seed's side of perf/seed-vs-ours.sh: fires one burst of N signed 1 KiB events
// through the seed's own Dispatcher (one goroutine per event) at the shared receiver,
// asks the receiver when the last one was answered 2xx, and prints one RESULT line with
// this process's peak RSS (VmHWM). Built by the script in a temporary module next to an
// unmodified copy of the seed (only its log/slog import points at ./slog).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"seedbench/slog"
	"seedbench/webhook"
)

func main() {
	n := flag.Int("n", 20000, "events in the burst")
	url := flag.String("url", "", "delivery URL")
	ctl := flag.String("ctl", "", "receiver control base URL")
	fail := flag.Int("fail", 0, "1: the receiver fails half of the first attempts")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := webhook.NewDispatcher("whsec-seed-vs-ours", logger)

	// The same 1 KiB body as the Rust side (job ids of the same width).
	tmpl := webhook.Event{
		JobID: "job-000000", State: "running", PreviousState: "queued",
		Timestamp: time.Unix(0, 0).UTC(), Model: "llama-3-8b",
		Result: json.RawMessage(`{"log":""}`),
	}
	b, _ := json.Marshal(tmpl)
	tmpl.Result = json.RawMessage(`{"log":"` + strings.Repeat("x", 1024-len(b)) + `"}`)
	if b, _ = json.Marshal(tmpl); len(b) != 1024 {
		fmt.Fprintf(os.Stderr, "body is %d bytes, not 1024\n", len(b))
		os.Exit(1)
	}

	ctlc := &http.Client{Transport: &http.Transport{}}
	get := func(path string) string {
		resp, err := ctlc.Get(*ctl + path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "receiver control:", err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(body))
	}
	get(fmt.Sprintf("/reset?fail=%d", *fail))

	t0 := time.Now()
	for i := 0; i < *n; i++ {
		ev := tmpl
		ev.JobID = fmt.Sprintf("job-%06d", i)
		d.Fire(*url, ev)
	}
	fired := time.Since(t0)
	got := get(fmt.Sprintf("/wait?n=%d", *n))
	fmt.Printf("RESULT impl=seed fail=%d n=%d t0_ns=%d fire_ns=%d %s vmhwm_kb=%d\n",
		*fail, *n, t0.UnixNano(), fired.Nanoseconds(), got, vmhwmKB())
}

func vmhwmKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), "VmHWM: %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}
