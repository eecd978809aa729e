package usecase

import (
	"context"
	"fmt"

	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// PruneRequest asks to apply the retention policy, or to thin snapshots
// until Free is free.
type PruneRequest struct {
	DryRun bool
	// Free is a size or a percentage of the drive ("" applies the policy).
	Free     string
	AllHosts bool
	Actor    Actor
	Progress func(Progress)
}

// ParseFree reads a free-space target; a bad one is InvalidArgs.
func ParseFree(s string) (grammar.Size, error) {
	z, err := grammar.ParseSize(s)
	if err != nil {
		return z, kerr.New(kerr.InvalidArgs, "free: %v", err)
	}
	return z, nil
}

// Prune removes snapshots the policy does not keep (never the newest, never
// a pinned one), or the oldest until there is room.
func (x *Repo) Prune(ctx context.Context, q PruneRequest) (api.PruneResult, *engine.PruneResult, error) {
	o := engine.PruneOptions{Host: x.Host, DryRun: q.DryRun, Actor: q.Actor, Progress: q.Progress}
	if q.AllHosts {
		o.Host = ""
	}
	if q.Free != "" {
		z, err := ParseFree(q.Free)
		if err != nil {
			return api.PruneResult{}, nil, err
		}
		_, size, err := repo.Space(x.R.Root)
		if err != nil {
			return api.PruneResult{}, nil, err
		}
		o.Free = z.Of(size)
	}
	res, err := engine.Prune(ctx, x.R, o)
	if err != nil {
		return api.PruneResult{}, res, err
	}
	out := api.PruneResult{DryRun: res.DryRun, Policy: res.Policy, Removed: []string{}, Kept: uint32(max(res.Kept, 0)),
		Freed: uint64(max(res.Freed, 0)), FreeAfter: uint64(max(res.FreeAfter, 0))}
	out.RemovedFreed, out.RemovedWhy = []uint64{}, []string{}
	for _, s := range res.Removed {
		out.Removed = append(out.Removed, s.Name)
		out.RemovedFreed = append(out.RemovedFreed, uint64(max(s.Freed, 0)))
		out.RemovedWhy = append(out.RemovedWhy, s.Reason)
	}
	return out, res, nil
}

// VerifyRequest asks to re-read stored files against the catalog.
type VerifyRequest struct {
	// Snapshot is one snapshot ("" for all of the host's).
	Snapshot string
	// Sample is a percentage (1-100) of the content, a different slice on
	// each run; 0 or 100 checks everything.
	Sample   int
	Progress func(Progress)
}

// CheckSample refuses a sample that is not a percentage.
func CheckSample(n int) error {
	if n < 0 || n > 100 {
		return kerr.New(kerr.InvalidArgs, "sample is a percentage: 1 to 100, not %d", n)
	}
	return nil
}

func (x *Repo) verifyOptions(q VerifyRequest) (engine.VerifyOptions, error) {
	o := engine.VerifyOptions{Host: x.Host, SamplePercent: q.Sample, Progress: q.Progress}
	if err := CheckSample(q.Sample); err != nil {
		return o, err
	}
	if q.Snapshot != "" {
		s, err := x.Snapshot(q.Snapshot)
		if err != nil {
			return o, err
		}
		o.Snapshot = s.Name
	}
	return o, nil
}

// Verify re-hashes stored files and checks the catalog; a Damaged error
// comes with the result.
func (x *Repo) Verify(ctx context.Context, q VerifyRequest) (api.VerifyResult, *engine.VerifyResult, error) {
	o, err := x.verifyOptions(q)
	if err != nil {
		return api.VerifyResult{}, nil, err
	}
	res, err := engine.Verify(ctx, x.R, o)
	if res == nil {
		return api.VerifyResult{}, nil, err
	}
	out := api.VerifyResult{Snapshots: append([]string{}, res.Snapshots...), Files: uint64(res.Files), Bytes: uint64(res.Bytes),
		Slice: uint32(max(res.Slice, 0)), Of: uint32(max(res.Of, 0)), Damaged: []string{}, CatalogProblems: []string{}}
	for _, d := range res.Damaged {
		out.Damaged = append(out.Damaged, fmt.Sprintf("%s %s: %s", d.Snapshot, api.EncodePath(d.Path), d.Problem))
	}
	out.CatalogProblems = append(out.CatalogProblems, res.CatalogProblems...)
	return out, res, err
}

// Repair mends damaged files from intact copies or the source.
func (x *Repo) Repair(ctx context.Context, q VerifyRequest) (*RepairResult, error) {
	o, err := x.verifyOptions(q)
	if err != nil {
		return nil, err
	}
	return engine.Repair(ctx, x.R, o)
}

// Policy is the retention policy stored on the drive.
func (x *Repo) Policy() (Policy, error) { return x.Cat.Policy() }

// SetPolicy stores a retention policy on the drive.
func (x *Repo) SetPolicy(p Policy, a Actor) error { return x.Cat.SetPolicy(p, a) }

// Pin keeps a snapshot whatever the policy says (pinned false lets the
// policy decide again); it returns the snapshot's name.
func (x *Repo) Pin(name string, pinned bool, a Actor) (string, error) {
	s, err := x.Snapshot(name)
	if err != nil {
		return "", err
	}
	return s.Name, x.Cat.SetPinned(s, pinned, a)
}

// Log is the audit log, newest first.
func (x *Repo) Log(limit int) ([]AuditEntry, error) {
	out, err := x.Cat.Log(limit)
	if out == nil {
		out = []AuditEntry{}
	}
	return out, err
}
