// Package retention decides which snapshots a policy keeps. It is pure:
// given snapshot times it answers keep or remove, with the reasons, and
// leaves deleting to the engine.
package retention
