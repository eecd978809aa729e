// Package computer adds another computer for the service to back up over
// ssh: its address and folders, how often, the key line to put on it,
// then a check of its host key against what the computer itself shows,
// and the first backup. Its key check also serves on its own, for a
// computer whose host key changed (Review).
package computer
