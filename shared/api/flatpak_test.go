package api

import (
	"reflect"
	"testing"

	"github.com/godbus/dbus/v5"
)

// The Result of a Flatpak restore has one key "KIND REF" per thing done
// and a string that says what became of it: the format the app reads.
func TestFlatpakRestoreResultWire(t *testing.T) {
	home := "/home/caf\xe9" // not UTF-8: crosses escaped, comes back exact
	res := FlatpakRestoreResult{Outcomes: []FlatpakOutcome{
		{Kind: "app", Ref: "app/org.test.Bye/x86_64/stable", Outcome: OutcomeInstalled},
		{Kind: "remote", Ref: "local", Outcome: OutcomeInstalled, Message: "kept its current URL file:///b (was file:///a)"},
		{Kind: "app", Ref: "app/org.test.Hello/x86_64/stable", Outcome: OutcomeFailed, Message: "flatpak install: no network"},
		{Kind: "runtime", Ref: "runtime/org.test.Platform/x86_64/1", Outcome: OutcomePresent},
		{Kind: "mask", Ref: "org.bad.*", Outcome: OutcomeFailed},
		{Kind: KindData, Ref: Path(home + "/.var/app/org.test.Bye"), Outcome: OutcomeRestored, To: Path(home + "/.var/app/org.test.Bye (restored 2026-12-01 10.00)")},
		{Kind: KindData, Outcome: OutcomeFailed, Message: "cannot write " + home},
	}}
	want := map[string]string{
		"app app/org.test.Bye/x86_64/stable":                  "installed",
		"remote local":                                        "installed", // remarks stay on this side
		"app app/org.test.Hello/x86_64/stable":                "failed: flatpak install: no network",
		"runtime runtime/org.test.Platform/x86_64/1":          "present",
		"mask org.bad.*":                                      "failed",
		"data " + EncodePath(home) + "/.var/app/org.test.Bye": "restored to " + EncodePath(home) + "/.var/app/org.test.Bye (restored 2026-12-01 10.00)",
		"data": "failed: cannot write " + EncodePath(home),
	}
	m := ToDict(res) // through the interface, as a job sets it
	got := map[string]string{}
	for k, v := range m {
		s, ok := v.Value().(string)
		if !ok {
			t.Fatalf("%s is %s, want s", k, v.Signature())
		}
		got[k] = s
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ToDict:\n got %q\nwant %q", got, want)
	}

	var back FlatpakRestoreResult
	if err := FromDict(m, &back); err != nil {
		t.Fatal(err)
	}
	// In working order, without the remark that did not cross.
	res.Outcomes[1].Message = ""
	wantBack := []FlatpakOutcome{res.Outcomes[1], res.Outcomes[3], res.Outcomes[0], res.Outcomes[2], res.Outcomes[4], res.Outcomes[6], res.Outcomes[5]}
	if !reflect.DeepEqual(back.Outcomes, wantBack) {
		t.Fatalf("FromDict:\n got %+v\nwant %+v", back.Outcomes, wantBack)
	}
	if installed, failed := back.Counts(); installed != 2 || failed != 3 {
		t.Errorf("Counts: %d installed, %d failed", installed, failed)
	}
	if s := back.Summary(); s != "2 apps and runtimes installed or present, 3 failed" {
		t.Errorf("Summary: %q", s)
	}
	if err := FromDict(Dict{"app x": dbus.MakeVariant(uint32(1))}, &back); err == nil {
		t.Error("a value that is not a string was accepted")
	}
	// An empty result is an empty dictionary, not nil.
	if m := ToDict(FlatpakRestoreResult{}); m == nil || len(m) != 0 {
		t.Errorf("empty result: %v", m)
	}
}
