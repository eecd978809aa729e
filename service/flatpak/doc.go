// Package flatpak records which Flatpak apps and runtimes are installed,
// with the remotes they came from and the settings made on them, and puts
// them back.
//
// It drives the real `flatpak` CLI and reads the installation's own files,
// never flatpak's translated prose: `flatpak list --columns=...` under
// LC_ALL=C for the installed refs and their versions; the installation
// directory for the rest (repo/config for remotes, pins and masks,
// repo/NAME.trustedkeys.gpg for a remote's GPG keys, overrides/ for
// `flatpak override` settings, <kind>/ID/ARCH/BRANCH/active for the
// deployed commit and its deploy file for the installed size and commit
// date).
//
// A user's installation belongs to that user: every flatpak command on it,
// and every read or write of its files, runs as that user (uid, gid and
// groups, HOME), so a symlink planted there can never make root read or
// write something the user could not. The system installation is handled
// as root.
//
// An Inventory has a plain-text form (Text, ParseText) kept in each
// snapshot: a person with no Keepsake can read it and follow the commented
// `flatpak` commands in it to reinstall by hand.
//
// App data (~/.var/app/ID) is ordinary user data, backed up and restored by
// the engine; DataDir says where it is.
package flatpak
