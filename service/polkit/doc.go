// Package polkit asks polkit (org.freedesktop.PolicyKit1.Authority on the
// system bus) whether a D-Bus caller may perform an action.
//
// The subject is always the caller's unique bus name ("system-bus-name"),
// never a process id or uid the service looked up itself: polkit resolves
// the name to the process, user and session, which avoids the pid-reuse
// races of the "unix-process" subject.
package polkit
