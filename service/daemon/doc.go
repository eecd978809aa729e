// Package daemon is keepsaked: it owns the configuration, exports the
// Manager, Profile, Drive and Job objects of
// data/io.github.keepsake.Keepsake1.xml on the system bus, checks every
// caller with polkit and its uid, watches source folders, notices backup
// drives, and runs backups, restores, prunes and verifications as Jobs.
//
// The engine underneath is the one keepsakectl --repo uses; the daemon
// adds who may do what, when, and on which drive.
package daemon
