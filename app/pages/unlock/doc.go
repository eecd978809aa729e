// Package unlock is the "Unlock Backup Drive" dialog: the passphrase (or
// the recovery key) of an encrypted backup drive, whether to remember it
// on this computer, and the service's answer shown in the dialog until
// the drive is unlocked. The app opens it when the service says a backup
// waits for a locked drive (UnlockNeeded) and from the overview's
// "Unlock…".
package unlock
