// Package daemon is keepsaked: it owns the configuration, exports the
// Manager, Profile, Drive and Job objects of
// data/io.github.keepsake.Keepsake1.xml on the system bus, checks every
// caller with polkit and its uid, watches source folders, notices backup
// drives, and runs backups, restores, prunes and verifications as Jobs.
//
// Layering: daemon is a front end. A handler identifies the caller,
// reads its options into a shared/api option struct, asks polkit, calls
// a use case of service/usecase (the same ones keepsakectl --repo calls)
// and converts the typed result with api.ToDict. It never imports the
// engine, the catalog or the repository package; what it adds is who may
// do what, when (schedules, the watcher, drives coming and going), and
// the Job objects that long use cases report to.
package daemon
