// Package slog stands in for the few parts of Go 1.21's log/slog that the Go seed
// (../shared/seed/webhook.go) and its benchmark driver call, so the seed builds with
// Debian's Go 1.19. perf/seed-vs-ours.sh points the seed's `import "log/slog"` at this
// package and changes nothing else in the seed.
//
// Like slog.New(slog.NewTextHandler(w, nil)): records below Info are dropped after one
// comparison; others are written as one `time=… level=… msg=… key=value…` line.
package slog

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Level is a record's importance, with slog's values.
type Level int

// slog's levels.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

func (l Level) String() string {
	switch {
	case l >= LevelError:
		return "ERROR"
	case l >= LevelWarn:
		return "WARN"
	case l >= LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// HandlerOptions as in slog (only Level).
type HandlerOptions struct{ Level Level }

// TextHandler writes key=value lines to a writer.
type TextHandler struct {
	mu  sync.Mutex
	w   io.Writer
	min Level
}

// NewTextHandler as in slog; nil options mean level Info.
func NewTextHandler(w io.Writer, opts *HandlerOptions) *TextHandler {
	h := &TextHandler{w: w}
	if opts != nil {
		h.min = opts.Level
	}
	return h
}

// Logger as in slog.
type Logger struct{ h *TextHandler }

// New as in slog.
func New(h *TextHandler) *Logger { return &Logger{h: h} }

// Debug logs at LevelDebug.
func (l *Logger) Debug(msg string, args ...any) { l.log(LevelDebug, msg, args) }

// Info logs at LevelInfo.
func (l *Logger) Info(msg string, args ...any) { l.log(LevelInfo, msg, args) }

// Warn logs at LevelWarn.
func (l *Logger) Warn(msg string, args ...any) { l.log(LevelWarn, msg, args) }

// Error logs at LevelError.
func (l *Logger) Error(msg string, args ...any) { l.log(LevelError, msg, args) }

func (l *Logger) log(level Level, msg string, args []any) {
	if level < l.h.min {
		return
	}
	buf := make([]byte, 0, 256)
	buf = append(buf, "time="...)
	buf = time.Now().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, " level="...)
	buf = append(buf, level.String()...)
	buf = append(buf, " msg="...)
	buf = strconv.AppendQuote(buf, msg)
	for i := 0; i+1 < len(args); i += 2 {
		buf = append(buf, ' ')
		buf = append(buf, fmt.Sprint(args[i])...)
		buf = append(buf, '=')
		v := fmt.Sprint(args[i+1])
		if strconv.CanBackquote(v) && !containsSpace(v) {
			buf = append(buf, v...)
		} else {
			buf = strconv.AppendQuote(buf, v)
		}
	}
	buf = append(buf, '\n')
	l.h.mu.Lock()
	l.h.w.Write(buf)
	l.h.mu.Unlock()
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' {
			return true
		}
	}
	return s == ""
}
