package usecase

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	"github.com/keepsake/keepsake/shared/kerr"
)

// WhereResult says where a content lies.
type WhereResult struct {
	SHA256 string  `json:"sha256"`
	Places []Place `json:"places"`
}

// Where finds the places (paths and snapshots) holding a content, given
// its SHA-256 in hex or a file whose content to look for.
func (x *Repo) Where(shaOrFile string) (WhereResult, error) {
	sum, err := hex.DecodeString(shaOrFile)
	if err != nil || len(sum) != sha256.Size {
		f, ferr := os.Open(shaOrFile)
		if ferr != nil {
			return WhereResult{}, kerr.New(kerr.InvalidArgs, "%q is neither a SHA-256 nor a file that can be read: %v", shaOrFile, ferr)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return WhereResult{}, err
		}
		sum = h.Sum(nil)
	}
	places, err := x.Cat.Where(sum)
	if places == nil {
		places = []Place{}
	}
	return WhereResult{SHA256: hex.EncodeToString(sum), Places: places}, err
}

// Duplicates are groups of identical files below dir in the latest
// snapshot.
func (x *Repo) Duplicates(dir string) ([]DuplicateGroup, error) {
	if err := CheckPath(dir); err != nil {
		return nil, err
	}
	out, err := x.Cat.Duplicates(x.Host, dir)
	if out == nil {
		out = []DuplicateGroup{}
	}
	return out, err
}

// Diff is what changed between two snapshots.
func (x *Repo) Diff(a, b string) ([]Change, error) {
	sa, err := x.Snapshot(a)
	if err != nil {
		return nil, err
	}
	sb, err := x.Snapshot(b)
	if err != nil {
		return nil, err
	}
	out, err := x.Cat.Diff(sa, sb)
	if out == nil {
		out = []Change{}
	}
	return out, err
}

// Du is what a snapshot holds alone and what it shares.
func (x *Repo) Du(name string) (Usage, error) {
	s, err := x.Snapshot(name)
	if err != nil {
		return Usage{}, err
	}
	return x.Cat.Du(s)
}
