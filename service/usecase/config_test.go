package usecase_test

import (
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestApplySettings(t *testing.T) {
	set := func(kv ...string) api.Settings {
		var s api.Settings
		for i := 0; i < len(kv); i += 2 {
			if err := s.Set(kv[i], kv[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	cases := map[string]struct {
		s    api.Settings
		want func(p config.Profile) bool
		err  kerr.Name
	}{
		"interval and quiet": {s: set("interval", "1h", "quiet", "90"),
			want: func(p config.Profile) bool { return p.Interval == time.Hour && p.Quiet == 90*time.Second }},
		"interval off":    {s: set("interval", "off"), want: func(p config.Profile) bool { return p.Interval == 0 }},
		"sources":         {s: set("sources", "/a:/b"), want: func(p config.Profile) bool { return len(p.Sources) == 2 && p.Sources[1] == "/b" }},
		"relative source": {s: set("sources", "a"), err: kerr.InvalidArgs},
		"unclean source":  {s: set("sources", "/a/../b"), err: kerr.InvalidArgs},
		"retention normalised": {s: set("retention", "daily=7  weekly=4"),
			want: func(p config.Profile) bool { return p.Retention == "daily=7 weekly=4" }},
		"bad retention":   {s: set("retention", "sometimes"), err: kerr.InvalidArgs},
		"a year too long": {s: set("quiet", "400d"), err: kerr.InvalidArgs},
		"switches": {s: set("on-change", "no", "flatpak-offline", "yes"),
			want: func(p config.Profile) bool { return !p.OnChange && p.FlatpakOffline && p.Flatpak }},
		"another computer": {s: set("sources", "ssh://u@pc:2222/home/u,/etc", "host", "pc-study", "overdue-days", "3", "viewers", "0,1000"),
			want: func(p config.Profile) bool {
				r, ok, err := p.Remote()
				return ok && err == nil && r.Port == 2222 && len(r.Paths) == 2 && p.Host == "pc-study" && p.OverdueDays == 3 &&
					len(p.Viewers) == 2 && p.Viewers[1] == 1000 && p.HostName() == "pc-study"
			}},
		"bad address": {s: set("sources", "ssh://pc/../x"), err: kerr.InvalidArgs},
		"nothing given changes nothing": {s: api.Settings{},
			want: func(p config.Profile) bool { return p.Interval == config.DefaultProfile("p").Interval }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			pc := config.DefaultProfile("p")
			err := usecase.ApplySettings(&pc, c.s)
			if c.err != "" {
				if kerr.NameOf(err) != c.err {
					t.Fatalf("err %v, want %s", err, c.err)
				}
				return
			}
			if err != nil || !c.want(pc) {
				t.Fatalf("%+v, %v", pc, err)
			}
		})
	}
}

func TestEditSource(t *testing.T) {
	pc := config.DefaultProfile("p")
	for _, step := range []struct {
		path string
		add  bool
		err  kerr.Name
		n    int
	}{
		{"/a", true, "", 1}, {"/b", true, "", 2}, {"/a", true, kerr.InvalidArgs, 2},
		{"/c", false, kerr.PathNotFound, 2}, {"/a", false, "", 1}, {"rel", true, kerr.InvalidArgs, 1},
	} {
		err := usecase.EditSource(&pc, step.path, step.add)
		if kerr.NameOf(err) != step.err && !(step.err == "" && err == nil) || len(pc.Sources) != step.n {
			t.Fatalf("%+v: %v, sources %v", step, err, pc.Sources)
		}
	}
}
