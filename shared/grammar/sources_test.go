package grammar

import (
	"reflect"
	"testing"
)

func TestRemoteSources(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		remote  bool
		paths   []string
		wantErr bool
	}{
		{"local folders", []string{"/home/a", "/srv"}, false, nil, false},
		{"nothing", nil, false, nil, false},
		{"one computer, paths joined", []string{"ssh://u@pc/home/u,/etc", "ssh://u@pc/srv", "ssh://u@pc/etc"}, true, []string{"/home/u", "/etc", "/srv"}, false},
		{"local then remote", []string{"/home", "ssh://pc/x"}, false, nil, true},
		{"remote then local", []string{"ssh://pc/x", "/home"}, false, nil, true},
		{"two users", []string{"ssh://a@pc/x", "ssh://b@pc/y"}, false, nil, true},
		{"two ports", []string{"ssh://pc/x", "ssh://pc:2222/y"}, false, nil, true},
		{"bad address", []string{"ssh://pc/../x"}, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, remote, err := RemoteSources(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if remote != tt.remote || !reflect.DeepEqual(r.Paths, tt.paths) {
				t.Errorf("got %v %q, want %v %q", remote, r.Paths, tt.remote, tt.paths)
			}
		})
	}
}
