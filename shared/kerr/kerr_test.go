package kerr

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestNameOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Name
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), Failed},
		{"named", New(Busy, "repository busy"), Busy},
		{"wrapped twice", fmt.Errorf("backup: %w", Wrap(NoSpace, syscall.ENOSPC, "copy a")), NoSpace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NameOf(tt.err); got != tt.want {
				t.Fatalf("NameOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDBusNameRoundTrip(t *testing.T) {
	s := Busy.DBusName()
	if s != "io.github.keepsake.Keepsake1.Error.Busy" {
		t.Fatalf("DBusName = %q", s)
	}
	n, ok := FromDBusName(s)
	if !ok || n != Busy {
		t.Fatalf("FromDBusName(%q) = %q, %v", s, n, ok)
	}
	if _, ok := FromDBusName("org.freedesktop.DBus.Error.Failed"); ok {
		t.Fatal("foreign name accepted")
	}
}

func TestWrapKeepsCause(t *testing.T) {
	err := Wrap(NoSpace, syscall.ENOSPC, "copy %s", "a")
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatal("cause lost")
	}
	if err.Error() != "copy a: no space left on device" {
		t.Fatalf("message %q", err.Error())
	}
}
