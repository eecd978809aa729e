package usecase

import (
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/service/retention"
)

// The engine's and catalog's value types that front ends print or pass on
// are named here, so that front ends need not import the engine or the
// catalog.
type (
	Progress       = engine.Progress
	Warning        = engine.Warning
	Credentials    = engine.Credentials
	Extra          = engine.Extra
	PlanEntry      = engine.PlanEntry
	BackupDetails  = engine.Result
	Damage         = engine.Damage
	RepairResult   = engine.RepairResult
	PrunedSnapshot = engine.PrunedSnapshot
	Actor          = catalog.Actor
	AuditEntry     = catalog.AuditEntry
	Place          = catalog.Place
	Change         = catalog.Change
	Usage          = catalog.Usage
	DuplicateGroup = catalog.DuplicateGroup
	Policy         = retention.Policy
	// FlatpakOptions say how flatpak runs on this machine (the front
	// end's environment, e.g. FLATPAK_SYSTEM_DIR).
	FlatpakOptions = flatpak.Options
)

// CurrentActor names the process's user in the audit log.
func CurrentActor() Actor { return catalog.CurrentActor() }
